"""Disks apart from instances: CreateDisk and AttachDisk (issue 13's pool of repair hosts).

A disk made by CreateDisk belongs to no instance: Creating, then Available (``disk.provision``
on the clock). AttachDisk puts an Available disk on a Running or Stopped instance of its zone:
Attaching, then In_use (``disk.attach``), with the next free device name; the guest finds it by
its serial (``Disk.serial``). DetachDisk and DeleteDisk (models/storage.py) take it off and away.
Rules and error codes are the API metadata's (docs/cloud-contracts.md, "Disks for the pool")."""
import re
from typing import Dict, List, Optional, Tuple

from ..errors import ApiError, error
from ..resources import Disk, Instance
from . import operation, tag_dict

# DiskCategory values CreateDisk takes for a cloud disk (elastic ephemeral disks are not
# emulated), and the documented size range of each in GiB; an ESSD's depends on its
# PerformanceLevel (PL1 when not given).
SIZE_RANGES: Dict[str, Tuple[int, int]] = {
    "cloud": (5, 2000), "cloud_efficiency": (20, 32768), "cloud_ssd": (20, 32768),
    "cloud_auto": (1, 32768), "cloud_essd_entry": (10, 32768),
}
ESSD_SIZE_RANGES: Dict[str, Tuple[int, int]] = {
    "PL0": (1, 32768), "PL1": (20, 32768), "PL2": (461, 32768), "PL3": (1261, 32768),
}
DISK_CATEGORIES = sorted(set(SIZE_RANGES) | {"cloud_essd"})
# DiskName: 2-128 characters, starting with a letter (Unicode), then letters, digits, ":", "_",
# ".", "-"; not starting with http:// or https://.
_DISK_NAME = re.compile(r"^[^\W\d_][\w:.\-]{1,127}$")
# The device names a data disk gets, in order (/dev/xvda is the system disk's).
DEVICE_LETTERS = "bcdefghijklmnopqrstuvwxyz"


def size_range(category: str, performance_level: Optional[str]) -> Tuple[int, int]:
    if category == "cloud_essd":
        return ESSD_SIZE_RANGES[performance_level or "PL1"]
    return SIZE_RANGES[category]


class DiskBackend:

    @operation
    def create_disk(self, zone_id: Optional[str] = None, snapshot_id: Optional[str] = None,
                    size: Optional[int] = None, category: str = "cloud", name: str = "",
                    description: str = "", performance_level: Optional[str] = None,
                    instance_id: Optional[str] = None, tags: Optional[Dict[str, str]] = None) -> Disk:
        """CreateDisk: a pay-as-you-go data disk in ``zone_id``, empty (``size`` GiB) or from an
        accomplished snapshot (at least the snapshot's size). Creating, then Available.
        Subscription disks made for an instance (``instance_id``) are not emulated."""
        if instance_id and zone_id:
            raise error("InvalidParam.ZoneIdAndInstanceId.Conflict")
        if instance_id:
            raise ApiError("InvalidParameter", "The emulator does not create subscription disks for an "
                                               "instance (InstanceId): give ZoneId.", 400)
        if not zone_id:
            raise error("MissingParameter", "ZoneId")
        if zone_id not in self.network.zones:
            raise error("InvalidZoneId.NotFound")
        if category not in DISK_CATEGORIES:
            raise error("InvalidDiskCategory.ValueNotSupported")
        if performance_level is not None and (category != "cloud_essd" or performance_level not in ESSD_SIZE_RANGES):
            raise error("InvalidPerformanceLevel.Malformed")
        if name and (not _DISK_NAME.match(name) or name.startswith(("http://", "https://"))):
            raise error("InvalidDiskName.Malformed")
        if description and (not 2 <= len(description) <= 256 or description.startswith(("http://", "https://"))):
            raise error("InvalidDescription.Malformed")
        snapshot = None
        if snapshot_id:
            snapshot = self.snapshot(snapshot_id)
            if snapshot.status != "accomplished":
                raise error("InvalidSnapshotId.NotReady")
            size = max(size or 0, snapshot.size)   # documented: the larger of the two
        elif size is None:
            raise ApiError("MissingParameter", "The input parameter either \"SnapshotId\" or \"Size\" should be "
                                               "specified.", 400)
        low, high = size_range(category, performance_level)
        if not low <= size <= high:
            raise error("InvalidDiskSize.NotSupported", "%s takes %d to %d GiB." % (category, low, high))
        tags = tag_dict(tags)
        disk_id = self.new_id("d-")
        disk = Disk(id=disk_id, name=name, type="data", category=category, size=size, zone=zone_id,
                    progress=self.new_progress("disk.provision", [self.latency.disk_create], disk_id),
                    created=self.clock.now(), source_snapshot_id=snapshot.id if snapshot else None,
                    data_gib=snapshot.data_gib if snapshot else 0.0, delete_with_instance=False,
                    tags=tags, description=description, attached_once=False)
        self.disks[disk_id] = disk
        if self.local is not None:
            self.local.disk_created(disk)
        return disk

    @operation
    def attach_disk(self, instance_id: str, disk_id: str, delete_with_instance: bool = False) -> Disk:
        """AttachDisk as a data disk: the disk Available (on no instance), the instance Running or
        Stopped, in the disk's zone, with room under its type's DiskQuantity (system disk and
        disks attaching or detaching count). Attaching, then In_use, as the next free
        ``/dev/xvd?``."""
        disk = self.disk(disk_id)
        inst = self.instance(instance_id)
        if disk.instance_id is not None:
            # on an instance (this one or another), attaching, in use or still detaching
            raise error("InvalidDisk.InUse")
        if disk.status != "Available":
            raise error("IncorrectDiskStatus", "The disk is %s." % disk.status)
        if disk.zone != inst.zone:
            raise error("ResourcesNotInSameZone")
        if inst.status not in ("Running", "Stopped"):
            # AttachDisk's metadata lists IncorrectInstanceStatus under 400 (DetachDisk's under 403)
            raise _with_status(error("IncorrectInstanceStatus"), 400)
        held = self.disks_on(inst)
        if len(held) >= self.network.disks_per_instance(inst.instance_type):
            raise error("InstanceDiskLimitExceeded")
        taken = {d.device for d in held}
        device = next(("/dev/xvd" + letter for letter in DEVICE_LETTERS if "/dev/xvd" + letter not in taken), None)
        if device is None:      # more disks than letters: only a seed's DiskQuantity over 26 gets here
            raise error("InstanceDiskLimitExceeded")
        disk.instance_id, disk.device, disk.detached, disk.attached = inst.id, device, None, self.clock.now()
        disk.delete_with_instance, disk.attached_once = delete_with_instance, True
        self.schedule(disk.progress, disk.id, "disk.attach", [self.latency.disk_attach])
        if self.local is not None:
            self.local.disk_attached(disk)
        return disk

    def disks_on(self, inst: Instance) -> List[Disk]:
        """The disks that take one of the instance's places: attached, attaching or detaching."""
        return [d for d in self.disks.values() if d.instance_id == inst.id]


def _with_status(err: ApiError, status: int) -> ApiError:
    err.status = status
    return err
