"""What a test guest is made of: a :class:`Recipe`, and the package set of its root filesystem.

A recipe names everything that changes the bytes of the built disk image; its :meth:`Recipe.key`
(a hash of the recipe and of :data:`BUILDER_VERSION`) names the cached image. Layouts share one
debootstrap root per :meth:`Recipe.root_key` (suite, firmware, initramfs tool, kernel, extras):
xfsprogs and lvm2 are in every root so that ext4/xfs and plain/LVM variants reuse it.
"""
import hashlib
import json
from dataclasses import asdict, dataclass, field

# Bump when the builder's output changes for the same recipe: every cached image is rebuilt.
BUILDER_VERSION = "3"
# Bump when the debootstrap roots change (package set, root post-processing): roots are rebuilt.
ROOT_VERSION = "1"

SUITES = {"bullseye": "11", "bookworm": "12", "trixie": "13"}
FIRMWARES = ("bios", "uefi")
INITRAMFS_TOOLS = ("initramfs-tools", "dracut")
ROOT_FSTYPES = ("ext4", "xfs")
LAYOUTS = ("plain", "separate_boot", "lvm")
KERNELS = ("linux-image-cloud-amd64", "linux-image-amd64")

# The LVM layout's names (a common name on purpose: the agent must cope with host VG clashes).
LVM_VG = "vg0"
LVM_LV = "root"


@dataclass(frozen=True)
class Recipe:
    """One Debian test guest.

    suite:          bullseye (11), bookworm (12) or trixie (13)
    firmware:       bios (MBR + grub-pc) or uefi (GPT + EFI system partition + grub-efi-amd64)
    initramfs:      initramfs-tools or dracut
    rootfs:         ext4 or xfs
    layout:         plain (root only, plus the ESP for uefi), separate_boot (/boot partition),
                    lvm (/boot partition + root on LV vg0/root)
    kernel:         linux-image-cloud-amd64 (small; virtio modular, NVMe built in) or
                    linux-image-amd64 (NVMe modular: the one for an "initramfs without nvme" guest)
    extra_packages: more Debian packages in the root (for example cloud-init)
    size_gib:       virtual size of the sparse raw image
    """

    suite: str = "bookworm"
    firmware: str = "bios"
    initramfs: str = "initramfs-tools"
    rootfs: str = "ext4"
    layout: str = "plain"
    kernel: str = "linux-image-cloud-amd64"
    extra_packages: tuple = field(default_factory=tuple)
    size_gib: int = 3

    def __post_init__(self):
        checks = (("suite", self.suite, tuple(SUITES)), ("firmware", self.firmware, FIRMWARES),
                  ("initramfs", self.initramfs, INITRAMFS_TOOLS), ("rootfs", self.rootfs, ROOT_FSTYPES),
                  ("layout", self.layout, LAYOUTS), ("kernel", self.kernel, KERNELS))
        for name, value, allowed in checks:
            if value not in allowed:
                raise ValueError("recipe %s=%r: expected one of %s" % (name, value, ", ".join(allowed)))
        if not 2 <= int(self.size_gib) <= 64:
            raise ValueError("recipe size_gib=%r: expected 2..64" % (self.size_gib,))
        object.__setattr__(self, "extra_packages", tuple(sorted(set(self.extra_packages))))

    @property
    def version(self) -> str:
        return SUITES[self.suite]

    @property
    def name(self) -> str:
        """A readable name, e.g. ``debian12-bios-initramfs-tools-ext4-plain``."""
        parts = ["debian" + self.version, self.firmware, self.initramfs, self.rootfs, self.layout]
        if self.kernel != "linux-image-cloud-amd64":
            parts.append("generic")
        return "-".join(parts)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["extra_packages"] = list(self.extra_packages)
        return data

    def key(self) -> str:
        return _digest({"builder": BUILDER_VERSION, "recipe": self.to_dict()})

    def root_key(self) -> str:
        return _digest({"builder": ROOT_VERSION, "packages": root_packages(self), "suite": self.suite,
                        "initramfs": self.initramfs})


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def root_packages(recipe: Recipe) -> list:
    """Packages debootstrap --include installs (dracut is added later by apt, see rootfs.py)."""
    packages = [recipe.kernel, "systemd-sysv", "udev", "kmod", "iproute2", "ifupdown", "e2fsprogs",
                "xfsprogs", "lvm2", "zstd", "initramfs-tools",
                "grub-pc" if recipe.firmware == "bios" else "grub-efi-amd64",
                # ISC dhclient is gone from trixie; ifupdown uses dhcpcd there.
                "dhcpcd-base" if recipe.suite == "trixie" else "isc-dhcp-client"]
    return packages + list(recipe.extra_packages)
