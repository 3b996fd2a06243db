"""Lay a recipe's root onto a sparse raw disk image and make it bootable.

Partition with sfdisk, mkfs each filesystem through an offset loop device, extract the root
tarball into them, write the baseline configuration, install GRUB from inside the guest (its own
grub-install and grub-mkconfig). LVM without device-mapper: the PV is made on a loop device of its
partition with ``--activate n --zero n``, and the LV is then attached as an offset loop computed from
``pvs -o pe_start`` and ``lvs -o seg_pe_ranges``.
"""
import json
import os
from pathlib import Path

from image_repair.agent import log
from image_repair.agent.runner import run

from . import guestconfig
from .mounts import Mounts, in_chroot, mount_options
from .recipe import LVM_LV, LVM_VG, Recipe

MIB = 1024 * 1024
SECTOR = 512
ESP_MIB = 127
BOOT_MIB = 512
ESP_TYPE = "U"  # sfdisk shortcuts, valid for dos and gpt labels
LINUX_TYPE = "L"
LVM_TYPE = "V"


def partition_plan(recipe: Recipe) -> list:
    """[(role, size_mib or None for the rest, sfdisk type)] in partition-number order."""
    plan = []
    if recipe.firmware == "uefi":
        plan.append(("esp", ESP_MIB, ESP_TYPE))
    if recipe.layout in ("separate_boot", "lvm"):
        plan.append(("boot", BOOT_MIB, LINUX_TYPE))
    plan.append(("pv" if recipe.layout == "lvm" else "root", None, LVM_TYPE if recipe.layout == "lvm" else LINUX_TYPE))
    return plan


def partition(image: Path, recipe: Recipe) -> list:
    """Write the partition table; returns [{"role", "partition", "offset", "size"}] in bytes."""
    plan = partition_plan(recipe)
    lines = ["label: %s" % ("gpt" if recipe.firmware == "uefi" else "dos")]
    start = MIB // SECTOR
    for role, size_mib, ptype in plan:
        line = "start=%d, type=%s" % (start, ptype)
        if size_mib:
            line += ", size=%d" % (size_mib * MIB // SECTOR)
            start += size_mib * MIB // SECTOR
        if recipe.firmware == "bios" and role in ("boot", "root") and "bootable" not in "".join(lines):
            line += ", bootable"
        lines.append(line)
    run(["sfdisk", "--quiet", "--wipe", "always", str(image)], input_text="\n".join(lines) + "\n")
    _, out = run(["sfdisk", "--json", str(image)])
    table = json.loads(out)["partitiontable"]
    parts = []
    for (role, _, _), entry in zip(plan, table["partitions"]):
        number = int(entry["node"][len(str(image)):].lstrip("p"))
        parts.append({"role": role, "partition": number, "offset": entry["start"] * SECTOR,
                      "size": entry["size"] * SECTOR})
    return parts


def mkfs(device: str, fstype: str, recipe: Recipe) -> str:
    """Make a filesystem; returns its UUID."""
    if fstype == "ext4":
        run(["mkfs.ext4", "-q", "-F", device])
    elif fstype == "xfs":
        argv = ["mkfs.xfs", "-q", "-f"]
        if recipe.suite == "bullseye":
            argv += ["-m", "bigtime=0,inobtcount=0"]  # GRUB 2.04 cannot read these
        run(argv + [device])
    elif fstype == "vfat":
        run(["mkfs.vfat", "-F", "32", device])
    _, uuid = run(["blkid", "-p", "-s", "UUID", "-o", "value", device])
    return uuid.strip()


LVM_ENV = dict(os.environ, LVM_SUPPRESS_FD_WARNINGS="1", DM_DISABLE_UDEV="1")


def make_lvm(mounts: Mounts, image: Path, pv: dict) -> dict:
    """PV/VG/LV on the PV partition without activating anything; returns the LV's byte region."""
    device = mounts.loop(image, pv["offset"], pv["size"])
    # Only this PV (a host VG of the same name must not matter), and no device-mapper at all.
    only = ["--devices", device, "--config", "global/activation=0"]
    run(["pvcreate", "-ff", "-y"] + only + [device], env=LVM_ENV)
    run(["vgcreate"] + only + [LVM_VG, device], env=LVM_ENV)
    run(["lvcreate", "--activate", "n", "--zero", "n", "-Wn", "-y", "-l", "100%FREE", "-n", LVM_LV] + only + [LVM_VG],
        env=LVM_ENV)
    pe_start = int(_lvm_value(["pvs", "-o", "pe_start", "--units", "b", "--nosuffix"] + only + [device]))
    extent = int(_lvm_value(["vgs", "-o", "vg_extent_size", "--units", "b", "--nosuffix"] + only + [LVM_VG]))
    ranges = _lvm_value(["lvs", "-o", "seg_pe_ranges"] + only + ["%s/%s" % (LVM_VG, LVM_LV)])
    if " " in ranges:
        raise RuntimeError("LV %s/%s has several segments: %s" % (LVM_VG, LVM_LV, ranges))
    first, last = (int(n) for n in ranges.rsplit(":", 1)[1].split("-"))
    return {"offset": pv["offset"] + pe_start + first * extent, "size": (last - first + 1) * extent}


def _lvm_value(argv) -> str:
    _, out = run(argv + ["--noheadings"], env=LVM_ENV)
    # The value is the last line; warnings ("Activation disabled...") come before it.
    return out.strip().splitlines()[-1].strip()


def build_disk(recipe: Recipe, tarball: Path, image: Path) -> dict:
    """Build the disk image ``image`` (any existing file is replaced); returns its manifest."""
    with open(image, "wb") as handle:
        handle.truncate(recipe.size_gib * 1024 * MIB)
    parts = partition(image, recipe)
    manifest = {"recipe": recipe.to_dict(), "key": recipe.key(), "name": recipe.name,
                "table": "gpt" if recipe.firmware == "uefi" else "mbr", "filesystems": []}
    with Mounts() as mounts:
        for part in parts:
            fs = {"partition": part["partition"], "offset": part["offset"], "size": part["size"], "lvm": None}
            if part["role"] == "pv":
                fs.update(make_lvm(mounts, image, part), lvm="%s/%s" % (LVM_VG, LVM_LV), partition=part["partition"])
            role = "root" if part["role"] == "pv" else part["role"]
            fs["fstype"] = {"esp": "vfat", "boot": "ext4", "root": recipe.rootfs}[role]
            fs["mountpoint"] = {"esp": "/boot/efi", "boot": "/boot", "root": "/"}[role]
            fs["uuid"] = mkfs(mounts.loop(image, fs["offset"], fs["size"]), fs["fstype"], recipe)
            manifest["filesystems"].append(fs)
    with Mounts() as mounts:
        root = _mount_for_build(mounts, image, manifest, tarball)
        guestconfig.configure(root, recipe, manifest)
        manifest["kernels"] = sorted(p.name for p in (root / "lib/modules").iterdir())
        mounts.chroot_binds(root)
        install_bootloader(mounts, root, image, recipe, manifest)
    return manifest


def _mount_for_build(mounts: Mounts, image: Path, manifest: dict, tarball: Path) -> Path:
    """Mount / and /boot and extract the root into them. The ESP is never mounted: this
    machine's kernel has no vfat (see install_bootloader)."""
    root = mounts.tempdir("image-repair-build-")
    for fs in sorted(manifest["filesystems"], key=lambda f: len(f["mountpoint"])):
        device = mounts.device_alias(mounts.loop(image, fs["offset"], fs["size"]))
        mounts.uuid_link(fs["uuid"], device)
        if fs["fstype"] != "vfat":
            mounts.mount(device, root / fs["mountpoint"].lstrip("/"), fstype=fs["fstype"],
                         options=mount_options(fs["fstype"], False))
    run(["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-I", "zstd -T0", "-C", str(root), "-xpf",
         str(tarball)], label="testimages: extracting the root")
    return root


def install_bootloader(mounts: Mounts, root: Path, image: Path, recipe: Recipe, manifest: dict):
    """GRUB from the guest's own packages, then grub-mkconfig, in its chroot."""
    if recipe.firmware == "bios":
        disk = mounts.loop(image)
        in_chroot(root, ["grub-install", "--target=i386-pc", "--boot-directory=/boot",
                         "--modules=" + " ".join(GRUB_MODULES), disk], label="testimages: grub-install (BIOS)")
    else:
        install_grub_efi(root, image, manifest)
    regenerate_grub_cfg(root, manifest)


# Built into the EFI image: enough to find and read /boot/grub; the rest loads from there.
GRUB_MODULES = ("part_gpt", "part_msdos", "ext2", "xfs", "lvm")
EFI_MODULES = GRUB_MODULES + ("fat", "search_fs_uuid", "normal")
MTOOLS_ENV = dict(os.environ, MTOOLS_SKIP_CHECK="1")


def install_grub_efi(root: Path, image: Path, manifest: dict):
    """What ``grub-install --target=x86_64-efi --removable --no-nvram`` does, without mounting the
    ESP (the host kernel has no vfat, and grub-install insists on a mounted FAT directory): the
    guest's modules go to /boot/grub/x86_64-efi, the guest's grub-mkimage builds the EFI image with
    an embedded config that finds /boot by UUID, and mtools writes it into the ESP as
    EFI/BOOT/BOOTX64.EFI (the removable path OVMF boots) and EFI/debian/grubx64.efi."""
    boot = next((fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/boot"), None)
    grub_fs = boot or next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    prefix = "/grub" if boot else "/boot/grub"
    (root / "tmp/image-repair-load.cfg").write_text("search.fs_uuid %s root\nset prefix=($root)'%s'\n"
                                                    % (grub_fs["uuid"], prefix))
    in_chroot(root, ["sh", "-c", "mkdir -p /boot/grub/x86_64-efi && cp /usr/lib/grub/x86_64-efi/*.mod "
                                 "/usr/lib/grub/x86_64-efi/*.lst /boot/grub/x86_64-efi/"])
    in_chroot(root, ["grub-mkimage", "-O", "x86_64-efi", "-o", "/tmp/image-repair-grubx64.efi",
                     "-c", "/tmp/image-repair-load.cfg", "-p", prefix] + list(EFI_MODULES),
              label="testimages: grub-mkimage (UEFI)")
    efi = root / "tmp/image-repair-grubx64.efi"
    esp = next(fs for fs in manifest["filesystems"] if fs["fstype"] == "vfat")
    target = "%s@@%d" % (image, esp["offset"])
    run(["mmd", "-i", target, "::/EFI", "::/EFI/BOOT", "::/EFI/debian"], env=MTOOLS_ENV)
    run(["mcopy", "-i", target, str(efi), "::/EFI/BOOT/BOOTX64.EFI"], env=MTOOLS_ENV)
    run(["mcopy", "-i", target, str(efi), "::/EFI/debian/grubx64.efi"], env=MTOOLS_ENV)
    efi.unlink()
    (root / "tmp/image-repair-load.cfg").unlink()


def regenerate_grub_cfg(root: Path, manifest: dict):
    in_chroot(root, ["grub-mkconfig", "-o", "/boot/grub/grub.cfg"], label="testimages: grub-mkconfig")
    cfg = root / "boot/grub/grub.cfg"
    rootfs = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    if rootfs["lvm"]:
        # grub-probe sees the LV as a plain loop device (no device-mapper here); a real install
        # names the LV, which is what the guest's initramfs activates.
        text = cfg.read_text().replace("root=UUID=%s" % rootfs["uuid"], "root=" + guestconfig.lvm_root_device())
        cfg.write_text(text)
    if "root=UUID=%s" % rootfs["uuid"] not in cfg.read_text() and not rootfs["lvm"]:
        raise RuntimeError("grub-mkconfig did not write root=UUID=%s into %s" % (rootfs["uuid"], cfg))
    log.info("testimages: grub.cfg generated")
