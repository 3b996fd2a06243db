"""The files a built guest gets: a healthy ECS-ready baseline that the breakages then spoil.

Baseline (what ``image-repair check-disk`` should find healthy, apart from the four agent/package
items cloudinit, growpart, assist and aegis, which a plain Debian root does not have):
fstab by UUID, GRUB on the serial console with net.ifnames=0 and the NVMe timeouts, eth0 by DHCP
with ifupdown, a generic initramfs (MODULES=most / dracut hostonly=no), and the boot-marker unit.
"""
from pathlib import Path

from .recipe import LVM_LV, LVM_VG, Recipe

BASE_KERNEL_ARGS = ("console=tty0", "console=ttyS0,115200n8", "net.ifnames=0", "biosdevname=0",
                    "nvme_core.io_timeout=4294967295", "nvme_core.admin_timeout=4294967295")

MARKER_UNIT = "image-repair-boot-marker.service"
MARKER_SCRIPT = "/usr/local/sbin/image-repair-boot-marker"
# Every line the marker writes to ttyS0 starts with MARKER_PREFIX (see docs/test-images.md).
MARKER_PREFIX = "IMAGE-REPAIR-BOOT"

MARKER_SCRIPT_TEXT = """#!/bin/sh
# Planted by image_repair_lab.testimages (docs/test-images.md): proves that the guest reached
# multi-user.target, shows how / is mounted and what eth0 got from DHCP, then powers off.
# Every line starts with IMAGE-REPAIR-BOOT so a test can pick them out of a noisy serial log.
out=/dev/ttyS0
i=0
while [ "$i" -lt 10 ] && ! ip -4 -o addr show dev eth0 2>/dev/null | grep -q ' inet '; do
    sleep 1; i=$((i + 1))
done
{
    echo "IMAGE-REPAIR-BOOT marker kernel=$(uname -r)"
    findmnt -o TARGET,SOURCE,FSTYPE,UUID,OPTIONS / 2>&1 | sed 's/^/IMAGE-REPAIR-BOOT findmnt: /'
    ip -4 addr show eth0 2>&1 | sed 's/^/IMAGE-REPAIR-BOOT ip: /'
    echo "IMAGE-REPAIR-BOOT end"
} > "$out" 2>&1
systemctl poweroff --no-block
"""

MARKER_UNIT_TEXT = """[Unit]
Description=image-repair boot marker (test guest): report root and eth0 on ttyS0, power off
Wants=network-online.target
After=network-online.target
# agetty hangs up ttyS0 when serial-getty@ttyS0 starts: the marker's later lines would be lost.
Before=serial-getty@ttyS0.service

[Service]
Type=oneshot
ExecStart=%s

[Install]
WantedBy=multi-user.target
""" % MARKER_SCRIPT

INTERFACES_DHCP = """# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
auto eth0
iface eth0 inet dhcp
"""

DEFAULT_GRUB = """# image_repair_lab.testimages baseline (a cloud-ready Debian)
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="%s"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200 --unit=0 --word=8 --parity=no --stop=1"
GRUB_DISABLE_OS_PROBER=true
""" % " ".join(BASE_KERNEL_ARGS)


def fstab_text(manifest: dict) -> str:
    lines = ["# /etc/fstab: written by image_repair_lab.testimages", "# <file system> <mount point> <type> <options> <dump> <pass>"]
    for fs in sorted(manifest["filesystems"], key=lambda f: len(f["mountpoint"])):
        if fs["lvm"]:
            # What the Debian installer writes for a root on LVM.
            source = "/dev/mapper/%s-%s" % tuple(fs["lvm"].split("/"))
        else:
            source = "UUID=" + fs["uuid"]
        if fs["mountpoint"] == "/":
            options, passno = ("errors=remount-ro", 1) if fs["fstype"] == "ext4" else ("defaults", 0)
        elif fs["fstype"] == "vfat":
            options, passno = "umask=0077", 1
        else:
            options, passno = "defaults", 2 if fs["fstype"] == "ext4" else 0
        lines.append("%s %s %s %s 0 %d" % (source, fs["mountpoint"], fs["fstype"], options, passno))
    return "\n".join(lines) + "\n"


def configure(root: Path, recipe: Recipe, manifest: dict):
    """Write the baseline configuration into the mounted guest at ``root``."""
    hostname = "debian%s-test" % recipe.version
    (root / "etc/hostname").write_text(hostname + "\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n" % hostname)
    (root / "etc/fstab").write_text(fstab_text(manifest))
    for fs in manifest["filesystems"]:  # mount points on the filesystems that hold them (/boot/efi on /boot)
        (root / fs["mountpoint"].lstrip("/")).mkdir(parents=True, exist_ok=True)
    (root / "etc/network/interfaces").write_text(INTERFACES_DHCP)
    (root / "etc/default/grub").write_text(DEFAULT_GRUB)
    # An empty machine-id: systemd makes a new one at first boot, as on a cloud image.
    (root / "etc/machine-id").write_text("")
    script = root / MARKER_SCRIPT.lstrip("/")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(MARKER_SCRIPT_TEXT)
    script.chmod(0o755)
    (root / "etc/systemd/system" / MARKER_UNIT).write_text(MARKER_UNIT_TEXT)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    link = wants / MARKER_UNIT
    if not link.is_symlink():
        link.symlink_to("/etc/systemd/system/" + MARKER_UNIT)


def lvm_root_device() -> str:
    return "/dev/mapper/%s-%s" % (LVM_VG, LVM_LV)
