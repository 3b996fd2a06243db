"""Shared pieces of the real-guest integration tests (tests/integration/test_real_guests*.py).

The guests are real Debian systems built by image_repair_lab.testimages (debootstrap, cached under
${IMAGE_REPAIR_CACHE:-/var/cache/image-repair}); each test works on a sparse copy.
"""
import json
import re
import subprocess
from pathlib import Path


from image_repair.agent.cli import main as agent_main
from image_repair_lab.testimages import Recipe
from image_repair_lab.testimages.guestconfig import lvm_root_device

# name -> (recipe, breakages). Together: MBR and GPT/UEFI, separate /boot + ESP, LVM, xfs,
# initramfs-tools and dracut, the cloud and the generic kernel, and every breakage.
GUESTS = {
    "mbr-ext4-initramfs-tools": (Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]),
    "gpt-uefi-separate-boot": (Recipe(firmware="uefi", layout="separate_boot"),
                               ["no_virtio_initramfs", "device_names", "no_serial_console", "static_eth0"]),
    "lvm-root-dracut": (Recipe(initramfs="dracut", layout="lvm"),
                        ["no_virtio_initramfs", "device_names", "predictable_name_only", "cloud_init_disabled"]),
    "xfs-root": (Recipe(rootfs="xfs"), ["no_virtio_initramfs", "device_names", "no_serial_console", "static_eth0"]),
    # The cloud kernel has NVMe built in: the generic kernel's initramfs can really lack it.
    "generic-kernel-no-nvme": (Recipe(kernel="linux-image-amd64"), ["no_nvme_initramfs", "predictable_name_only",
                                                                     "device_names"]),
}

GOOD = ("ok", "repaired", "not_applicable")
REQUIRED_MODULES = ("virtio_blk", "virtio_pci", "virtio_net", "virtio_scsi", "nvme")


def agent(report: Path, *args) -> tuple:
    """Run the real agent in-process, writing ``report``; returns (exit status, report dict)."""
    status = agent_main([str(a) for a in args] + ["--report", str(report)])
    return status, json.loads(Path(report).read_text())


def statuses(report: dict) -> dict:
    return {item["name"]: item["status"] for item in report["items"]}


def chroot(root: Path, *argv) -> str:
    result = subprocess.run(["chroot", str(root)] + list(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
    assert result.returncode == 0, "%s failed: %s" % (" ".join(argv), result.stdout[-2000:])
    return result.stdout


def initramfs_modules(root: Path, tool: str, kver: str) -> set:
    """Module names in the guest's initramfs, listed by the guest's own lsinitramfs/lsinitrd."""
    image = "/boot/initrd.img-" + kver
    listing = chroot(root, "lsinitrd", image) if tool == "dracut" else chroot(root, "lsinitramfs", image)
    names = set()
    for line in listing.splitlines():
        match = re.search(r"/([^/\s]+)\.ko(\.(xz|zst|gz))?$", line.strip())
        if match:
            names.add(match.group(1).replace("-", "_"))
    return names


def builtin_modules(root: Path, kver: str) -> set:
    text = (root / ("lib/modules/%s/modules.builtin" % kver)).read_text()
    return {Path(line).name.split(".ko")[0].replace("-", "_") for line in text.split()}


def assert_initramfs_has_drivers(root: Path, tool: str, kernels):
    for kver in kernels:
        present = initramfs_modules(root, tool, kver) | builtin_modules(root, kver)
        missing = [m for m in REQUIRED_MODULES if m not in present]
        assert not missing, "initramfs of %s lacks %s" % (kver, missing)


def linux_lines(root: Path) -> list:
    return [l.split() for l in (root / "boot/grub/grub.cfg").read_text().splitlines() if re.match(r"\s*linux\s", l)]


def assert_grub_cfg(root: Path, manifest: dict):
    rootfs = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    want_root = "root=" + (lvm_root_device() if rootfs["lvm"] else "UUID=" + rootfs["uuid"])
    lines = linux_lines(root)
    assert lines, "grub.cfg has no linux line"
    for args in lines:
        assert want_root in args, args
        for arg in ("console=ttyS0,115200n8", "net.ifnames=0", "biosdevname=0"):
            assert arg in args, (arg, args)
        assert "cloud-init=disabled" not in args


def fstab_entries(root: Path) -> list:
    rows = []
    for line in (root / "etc/fstab").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append(line.split())
    return rows


def assert_fstab(root: Path, manifest: dict):
    rows = fstab_entries(root)
    by_mountpoint = {row[1]: row for row in rows}
    for fs in manifest["filesystems"]:
        source = by_mountpoint[fs["mountpoint"]][0]
        assert source in ("UUID=" + fs["uuid"], lvm_root_device() if fs["lvm"] else None), (fs["mountpoint"], source)
    assert not any(row[0].startswith("/dev/sda") for row in rows)
    data = by_mountpoint["/data"]  # the entry of the disk that is not attached
    assert "nofail" in data[3].split(","), data


def assert_network(root: Path):
    interfaces = (root / "etc/network/interfaces").read_text()
    assert re.search(r"^iface eth0 inet dhcp", interfaces, re.M), interfaces
    assert not re.search(r"^iface \S+ inet static", interfaces, re.M), interfaces
    assert not (root / "etc/udev/rules.d/70-persistent-net.rules").exists()


def assert_packages(root: Path, sources_before: str):
    for package in ("cloud-init", "cloud-guest-utils", "aliyun-assist", "aliyun-aegis"):
        status = chroot(root, "dpkg-query", "-W", "-f=${Status}", package)
        assert status == "install ok installed", (package, status)
    assert (root / "usr/bin/growpart").exists()
    assert (root / "usr/sbin/aliyun-service").exists()
    assert (root / "usr/local/aegis").is_dir()
    assert not (root / "etc/cloud/cloud-init.disabled").exists()
    cfg = "\n".join(p.read_text() for p in sorted((root / "etc/cloud/cloud.cfg.d").glob("*.cfg")))
    assert "AliYun" in cfg
    # The repository configuration is the guest's own again after installing from the test mirror.
    assert (root / "etc/apt/sources.list").read_text() == sources_before
