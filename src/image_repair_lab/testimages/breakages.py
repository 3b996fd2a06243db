"""Named breakages, applied to a copy of a built image, the way images imported from other
platforms are broken (docs/test-images.md lists what each one plants).

Each breakage edits the mounted guest; the ones that restrict the initramfs only say which driver
sets to leave out, and :func:`apply` rebuilds the initramfs once at the end with the guest's own
tool (update-initramfs with MODULES=list, or dracut with a ``drivers=`` list: the "only these
modules" setting of each tool). Kernel arguments are edited both in /etc/default/grub and in the
generated grub.cfg (regenerating it on loop devices would not give the device names we plant).
"""
import re
from pathlib import Path

from image_repair.agent import log

from .mounts import Mounts, in_chroot, mount_image

VIRTIO_MODULES = ("virtio_blk", "virtio_pci", "virtio_scsi", "virtio_net", "virtio_console", "virtio_ring", "virtio")
NVME_MODULES = ("nvme", "nvme_core")
# What an initramfs built for another hypervisor keeps: the root filesystem drivers and disks.
KEPT_MODULES = ("ext4", "xfs", "crc32c_generic", "sd_mod", "ata_piix", "ahci", "mptspi", "vmw_pvscsi")
UNATTACHED_DISK_LINE = "/dev/sdb1 /data ext4 defaults 0 2"
STATIC_ADDRESS = "198.51.100.50/24"  # TEST-NET-2 (RFC 5737): documentation only, never routed
STATIC_GATEWAY = "198.51.100.1"
VMWARE_MAC = "00:50:56:8a:12:34"
NVME_ARG_NAMES = ("nvme_core.io_timeout", "nvme_core.admin_timeout")


class Guest:
    """The mounted guest a breakage edits, and what the final initramfs rebuild must leave out."""

    def __init__(self, root: Path, manifest: dict):
        self.root = root
        self.manifest = manifest
        self.initramfs_tool = manifest["recipe"]["initramfs"]
        self.exclude = set()

    def path(self, guest_path: str) -> Path:
        return self.root / guest_path.lstrip("/")

    def kernels(self) -> list:
        return sorted(p.name for p in self.path("/lib/modules").iterdir() if p.is_dir())

    def module_exists(self, kver: str, module: str) -> bool:
        """Shipped as a .ko (built-in ones need no listing)."""
        pattern = re.compile(r"(^|/)%s\.ko" % re.escape(module).replace("_", "[_-]"), re.M)
        return bool(pattern.search(self.path("/lib/modules/%s/modules.dep" % kver).read_text()))

    def builtin(self, kver: str, module: str) -> bool:
        text = self.path("/lib/modules/%s/modules.builtin" % kver).read_text()
        return bool(re.search(r"/%s\.ko$" % re.escape(module).replace("_", "[_-]"), text, re.M))


def edit_kernel_args(guest: Guest, remove=(), add=(), replace=None):
    """Remove args (by name, or exact ``name=value``), add args, or map one arg to another, in
    GRUB_CMDLINE_LINUX and in every ``linux`` line of /boot/grub/grub.cfg."""
    replace = replace or {}

    def edit(args):
        kept = []
        for arg in args:
            if arg in replace:
                arg = replace[arg]
            if arg in remove or arg.split("=", 1)[0] in remove:
                continue
            kept.append(arg)
        return kept + [a for a in add if a not in kept]

    default = guest.path("/etc/default/grub")
    default.write_text(re.sub(r'^GRUB_CMDLINE_LINUX="([^"]*)"', lambda m: 'GRUB_CMDLINE_LINUX="%s"' % " ".join(
        edit(m.group(1).split())), default.read_text(), flags=re.M))
    cfg = guest.path("/boot/grub/grub.cfg")
    lines = []
    for line in cfg.read_text().splitlines():
        match = re.match(r"^(\s*linux\s+)(\S+)(.*)$", line)
        if match:
            line = match.group(1) + " ".join([match.group(2)] + edit(match.group(3).split()))
        lines.append(line)
    cfg.write_text("\n".join(lines) + "\n")


def set_default_grub(guest: Guest, name: str, value):
    """Set (or with value None remove) a variable of /etc/default/grub."""
    path = guest.path("/etc/default/grub")
    lines = [l for l in path.read_text().splitlines() if not l.startswith(name + "=")]
    if value is not None:
        lines.append("%s=%s" % (name, value))
    path.write_text("\n".join(lines) + "\n")


def no_virtio_initramfs(guest: Guest):
    """initramfs without the virtio drivers (booted on virtio-blk it cannot find its root)."""
    guest.exclude.update(VIRTIO_MODULES)


def no_nvme_initramfs(guest: Guest, strict=True):
    """initramfs without nvme/nvme_core, and no nvme_core timeouts on the kernel command line.
    Needs a kernel with NVMe as a module (linux-image-amd64): the cloud kernel has it built in."""
    builtin = [k for k in guest.kernels() if guest.builtin(k, "nvme")]
    if builtin and strict:
        raise ValueError("no_nvme_initramfs: nvme is built into kernel %s; use kernel linux-image-amd64"
                         % ", ".join(builtin))
    if not builtin:
        guest.exclude.update(NVME_MODULES)
    edit_kernel_args(guest, remove=NVME_ARG_NAMES)


def device_names(guest: Guest):
    """fstab and the kernel command line name /dev/sdaN; plus an fstab entry for a disk that is
    not attached (/dev/sdb1 on /data, without nofail: systemd waits for it and fails)."""
    fstab = guest.path("/etc/fstab")
    text = fstab.read_text()
    for fs in guest.manifest["filesystems"]:
        if fs["lvm"] is None:
            text = text.replace("UUID=%s " % fs["uuid"], "/dev/sda%d " % fs["partition"])
    fstab.write_text(text.rstrip("\n") + "\n" + UNATTACHED_DISK_LINE + "\n")
    root = next(fs for fs in guest.manifest["filesystems"] if fs["mountpoint"] == "/")
    if root["lvm"] is None:
        edit_kernel_args(guest, replace={"root=UUID=" + root["uuid"]: "root=/dev/sda%d" % root["partition"]})
        set_default_grub(guest, "GRUB_DISABLE_LINUX_UUID", "true")


def no_serial_console(guest: Guest):
    """No console=ttyS0 on the kernel command line, no serial GRUB terminal."""
    edit_kernel_args(guest, remove=("console=ttyS0,115200n8", "console=ttyS0"))
    set_default_grub(guest, "GRUB_TERMINAL", None)
    set_default_grub(guest, "GRUB_SERIAL_COMMAND", None)
    cfg = guest.path("/boot/grub/grub.cfg")
    lines = [re.sub(r"^(\s*terminal_(input|output))\s.*$", r"\1 console", line)
             for line in cfg.read_text().splitlines() if not re.match(r"\s*serial\s", line)]
    cfg.write_text("\n".join(lines) + "\n")


def _write_interfaces(guest: Guest, stanza: str):
    guest.path("/etc/network/interfaces").write_text(
        "# The loopback network interface\nauto lo\niface lo inet loopback\n\n" + stanza)


def _persistent_net_rule(guest: Guest, name: str):
    """The udev rule older systems wrote for the NIC of the platform the image came from."""
    rules = guest.path("/etc/udev/rules.d/70-persistent-net.rules")
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text('# PCI device 0x15ad:0x07b0 (vmxnet3)\nSUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", '
                     'ATTR{address}=="%s", ATTR{type}=="1", KERNEL=="eth*", NAME="%s"\n' % (VMWARE_MAC, name))


def static_eth0(guest: Guest):
    """eth0 with a static address of the old network (DHCP never runs), and a persistent-net
    udev rule binding eth0 to the old NIC's MAC address."""
    _write_interfaces(guest, "auto eth0\niface eth0 inet static\n    address %s\n    gateway %s\n"
                      % (STATIC_ADDRESS, STATIC_GATEWAY))
    _persistent_net_rule(guest, "eth0")


def predictable_name_only(guest: Guest, name="ens3"):
    """Network configured only for a predictable name (ens3 by DHCP), no net.ifnames=0: there
    is no eth0, so DHCP on eth0 never happens."""
    _write_interfaces(guest, "allow-hotplug %s\niface %s inet dhcp\n" % (name, name))
    edit_kernel_args(guest, remove=("net.ifnames", "biosdevname"))


def cloud_init_disabled(guest: Guest):
    """cloud-init switched off: /etc/cloud/cloud-init.disabled and cloud-init=disabled."""
    marker = guest.path("/etc/cloud/cloud-init.disabled")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")
    edit_kernel_args(guest, add=("cloud-init=disabled",))


def vmware(guest: Guest):
    """An image imported from VMware: all of the above at once. Network: ens33 (VMware's name)
    with a static address, plus the persistent-net rule; nvme left out where it is a module."""
    no_virtio_initramfs(guest)
    no_nvme_initramfs(guest, strict=False)
    device_names(guest)
    no_serial_console(guest)
    predictable_name_only(guest, name="ens33")
    _write_interfaces(guest, "auto ens33\niface ens33 inet static\n    address %s\n    gateway %s\n"
                      % (STATIC_ADDRESS, STATIC_GATEWAY))
    _persistent_net_rule(guest, "eth0")
    cloud_init_disabled(guest)


BREAKAGES = {f.__name__: f for f in (no_virtio_initramfs, no_nvme_initramfs, device_names, no_serial_console,
                                      static_eth0, predictable_name_only, cloud_init_disabled, vmware)}


# The items ``image-repair check-disk`` must find at risk for each breakage. A plain Debian root
# also lacks cloud-init, growpart and the two Alibaba agents: BASE_AT_RISK is always expected.
BASE_AT_RISK = {"cloudinit", "growpart", "assist", "aegis"}
AT_RISK = {
    "no_virtio_initramfs": {"virtio"},
    "no_nvme_initramfs": {"nvme"},
    "device_names": {"fstab", "grub"},
    "no_serial_console": {"grub"},
    "static_eth0": {"dhcp"},
    "predictable_name_only": {"dhcp", "grub"},
    "cloud_init_disabled": {"cloudinit"},
    "vmware": {"virtio", "nvme", "fstab", "grub", "dhcp", "cloudinit"},
}


def expected_at_risk(names) -> set:
    return set(BASE_AT_RISK).union(*(AT_RISK[name] for name in names))


def get(name: str):
    try:
        return BREAKAGES[name]
    except KeyError:
        raise ValueError("unknown breakage %r (known: %s)" % (name, ", ".join(BREAKAGES))) from None


def restrict_initramfs(guest: Guest):
    """Rebuild every kernel's initramfs with only the kept modules (minus the excluded ones)."""
    for kver in guest.kernels():
        wanted = list(KEPT_MODULES) + [m for m in VIRTIO_MODULES + NVME_MODULES if m not in guest.exclude]
        if any(fs["lvm"] for fs in guest.manifest["filesystems"]):
            wanted.append("dm_mod")
        modules = [m for m in wanted if guest.module_exists(kver, m)]
        note = "# image_repair_lab.testimages: initramfs restricted to these modules (imported image)\n"
        if guest.initramfs_tool == "dracut":
            guest.path("/etc/dracut.conf.d/50-imported.conf").write_text(
                note + 'drivers="%s"\n' % " ".join(modules))
            in_chroot(guest.root, ["dracut", "-f", "/boot/initrd.img-" + kver, kver],
                      label="testimages: dracut (restricted) %s" % kver)
        else:
            conf = guest.path("/etc/initramfs-tools/initramfs.conf")
            conf.write_text(re.sub(r"^MODULES=.*$", "MODULES=list", conf.read_text(), flags=re.M))
            guest.path("/etc/initramfs-tools/modules").write_text(note + "\n".join(modules) + "\n")
            in_chroot(guest.root, ["update-initramfs", "-u", "-k", kver],
                      label="testimages: update-initramfs (restricted) %s" % kver)


def apply(image: Path, manifest: dict, names):
    """Mount ``image`` and apply the named breakages in order, then the initramfs rebuild."""
    functions = [get(name) for name in names]
    with Mounts() as mounts:
        guest = Guest(mount_image(mounts, image, manifest, chroot=True), manifest)
        for name, function in zip(names, functions):
            log.info("testimages: breakage %s", name)
            function(guest)
        if guest.exclude:
            restrict_initramfs(guest)
