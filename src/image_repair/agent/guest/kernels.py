"""Installed kernels and the guest's CPU architecture, read from files.

A kernel counts as installed when it has both a module tree ``/lib/modules/<version>`` and an
image in /boot (``vmlinuz-``, ``vmlinux-`` or arm64's ``Image-<version>``). That skips what is not
a bootable kernel of its own: dracut's rescue image (``vmlinuz-0-rescue-<machine-id>``, no module
tree), Debian's ``vmlinuz.old`` links, and module trees left behind by a removed kernel.
"""
import re

from .model import DEBIAN, INITRAMFS_TOOLS, MKINITRD, SUSE, Kernel

MODULE_ROOTS = ("/lib/modules", "/usr/lib/modules")
IMAGE_PATTERNS = ("/boot/vmlinuz-%s", "/boot/vmlinux-%s", "/boot/Image-%s")
# Every initramfs name a tool may have used; the first is RHEL's dracut convention.
INITRAMFS_PATTERNS = ("/boot/initramfs-%s.img", "/boot/initrd.img-%s", "/boot/initrd-%s", "/boot/initrd-%s.img")

# ELF e_machine -> architecture name as ECS spells it (x86_64, arm64).
ELF_MACHINES = {0x3E: "x86_64", 0xB7: "arm64", 0x03: "i386", 0x28: "arm", 0xF3: "riscv64"}
ELF_PROBES = ("/bin/sh", "/usr/bin/sh", "/bin/bash", "/usr/bin/bash", "/sbin/init", "/usr/lib/systemd/systemd")
_NAME_ARCHES = ((re.compile(r"(x86_64|amd64)"), "x86_64"), (re.compile(r"(aarch64|arm64)"), "arm64"),
                (re.compile(r"\.(i[3-6]86)$|-686"), "i386"))


def version_key(version):
    """Sort key comparing kernel versions like rpm does: numbers numerically, numbers after words."""
    key = []
    for token in re.findall(r"\d+|[A-Za-z]+", version):
        key.append((1, int(token), "") if token.isdigit() else (0, 0, token))
    return key


def initramfs_path(fs, family, tool, version):
    """Where the guest's initramfs tool writes ``version``'s image: the distribution's
    convention, unless only another of the known names exists."""
    if tool == INITRAMFS_TOOLS or family == DEBIAN:
        conventional = "/boot/initrd.img-%s"
    elif family == SUSE:
        conventional = "/boot/initrd-%s"
    elif tool == MKINITRD:
        conventional = "/boot/initrd-%s.img"
    else:
        conventional = "/boot/initramfs-%s.img"
    if fs.isfile(conventional % version):
        return conventional % version
    for pattern in INITRAMFS_PATTERNS:
        if fs.isfile(pattern % version):
            return pattern % version
    return conventional % version


def installed_kernels(fs, family, tool):
    """[Kernel] of every installed kernel, oldest first."""
    versions = set()
    for root in MODULE_ROOTS:
        for name in fs.listdir(root):
            if fs.isdir(root + "/" + name):
                versions.add(name)
    kernels = []
    for version in sorted(versions, key=version_key):
        image = next((p % version for p in IMAGE_PATTERNS if fs.isfile(p % version)), None)
        if image is None:
            continue
        kernels.append(Kernel(version, image, initramfs_path(fs, family, tool, version)))
    return kernels


def _elf_architecture(fs, path):
    try:
        with open(fs.host_path(path), "rb") as handle:
            header = handle.read(20)
    except (IOError, OSError):
        return None
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    order = "little" if header[5] == 1 else "big"
    return ELF_MACHINES.get(int.from_bytes(header[18:20], order))


def architecture(fs, kernels):
    """The guest's architecture: from the ELF header of its shell (what a chroot will run),
    else from its kernel versions (x86_64/amd64, aarch64/arm64)."""
    for path in ELF_PROBES:
        found = _elf_architecture(fs, path)
        if found:
            return found
    for kernel in kernels:
        for pattern, name in _NAME_ARCHES:
            if pattern.search(kernel.version):
                return name
    return None
