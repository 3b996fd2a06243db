"""The boot matrix: which guest, broken how, booted on which disk bus and firmware.

A cell's unrepaired guest is booted on ``bus``, the one its breakage targets; the repaired guest
on ``bus`` first (with the growpart resize before it) and then on the other bus, since a repaired
image must boot on both virtio and NVMe (the virtio and nvme items exist for that). Every guest is
booted repaired on both buses: three cells share the Debian 12 BIOS guest, and its ``vmware`` cell
(every breakage at once, the virtio one included) boots on both, so its two siblings boot on their
own bus only (``other_bus=False``), which keeps the suite within its 15 minutes.

Chosen to cover, within ~15 minutes of warm-cache CI on 2 cores: every named breakage of
image_repair_lab.testimages on at least one guest; virtio and NVMe; BIOS (SeaBIOS) and UEFI (OVMF);
Debian 11, 12 and 13; initramfs-tools and dracut; ext4 and xfs; a separate /boot and an LVM root.
Guests share debootstrap roots and base images (the testimages cache) wherever they can.
"""
from dataclasses import dataclass
from typing import Optional

from image_repair_lab.testimages import Recipe

from .qemu import BUSES


@dataclass(frozen=True)
class Cell:
    name: str
    recipe: Recipe
    breakage: str
    bus: str
    firmware: str
    # What the unrepaired boot must show (a substring of one of its problems, see serial.BootReport).
    expect_before: str
    growpart: bool = False        # qemu-img resize before the repaired boot; the root fs must grow
    metadata: bool = False        # boot with the AliYun metadata emulator; the hostname must come from it
    # The unrepaired guest has no serial console: watch its VGA text screen for failure signs
    # (bootproof.screen), so that its failed boot ends when it shows rather than at the timeout.
    screen: bool = False
    other_bus: bool = True        # also boot the repaired guest on the other bus (see the module's docstring)

    @property
    def guest(self) -> str:
        return self.recipe.name

    @property
    def after_buses(self) -> tuple:
        """The buses the repaired guest boots on, in order: the cell's own, then the other."""
        return (self.bus,) + (tuple(bus for bus in BUSES if bus != self.bus) if self.other_bus else ())


GROW_BYTES = 1024 ** 3

NO_MARKER = "no boot marker"
NO_DHCP = "eth0 has"
NO_CONSOLE = "no kernel console on ttyS0"
NOT_FROM_METADATA = "hostname"

CELLS = (
    Cell("virtio-missing", Recipe(suite="bookworm", firmware="bios"), "no_virtio_initramfs", "virtio", "bios",
         NO_MARKER, growpart=True, other_bus=False),
    Cell("vmware", Recipe(suite="bookworm", firmware="bios"), "vmware", "virtio", "bios", NO_MARKER, metadata=True,
         screen=True),
    Cell("device-names", Recipe(suite="bookworm", firmware="uefi", layout="separate_boot"), "device_names",
         "nvme", "uefi", NO_MARKER),
    Cell("nvme-missing", Recipe(suite="bookworm", firmware="uefi", kernel="linux-image-amd64"),
         "no_nvme_initramfs", "nvme", "uefi", NO_MARKER),
    Cell("static-eth0", Recipe(suite="bullseye", firmware="bios"), "static_eth0", "virtio", "bios", NO_DHCP),
    Cell("no-serial-console", Recipe(suite="trixie", firmware="uefi", initramfs="dracut", rootfs="xfs"),
         "no_serial_console", "virtio", "uefi", NO_CONSOLE),
    Cell("predictable-name", Recipe(suite="bookworm", firmware="bios", initramfs="dracut", layout="lvm"),
         "predictable_name_only", "nvme", "bios", NO_DHCP),
    Cell("cloud-init-disabled", Recipe(suite="bookworm", firmware="bios"), "cloud_init_disabled", "virtio", "bios",
         NOT_FROM_METADATA, metadata=True, other_bus=False),
)


def get(name: str) -> Cell:
    for cell in CELLS:
        if cell.name == name:
            return cell
    raise ValueError("unknown cell %r (known: %s)" % (name, ", ".join(c.name for c in CELLS)))


def hostname_for(cell: Cell) -> Optional[str]:
    """The hostname the metadata emulator gives this cell's guest (None: no emulator)."""
    return ("ecs-" + cell.name)[:63] if cell.metadata else None
