"""Disks and snapshots: describe, detach, change a disk's attributes, snapshot a disk, delete.

A disk outlives its instance when it is detached (DetachDisk) or when its instance is released
while its DeleteWithInstance is false (ModifyDiskAttribute): it walks In_use -> Detaching ->
Available (``disk.detach`` on the clock) and then only belongs to the account: it can be
snapshotted (it was attached before) and deleted (DeleteDisk, once no snapshot of it is in
progress)."""
from typing import Dict, Iterable, List, Optional, Tuple

from ..errors import error
from ..resources import Disk, Snapshot
from . import check_tags, id_filter, lookup, operation, tag_dict, tag_filter


class StorageBackend:

    def disk(self, disk_id: str) -> Disk:
        return lookup(self.disks, disk_id, "InvalidDiskId.NotFound")

    def snapshot(self, snapshot_id: str) -> Snapshot:
        return lookup(self.snapshots, snapshot_id, "InvalidSnapshotId.NotFound")

    def snapshot_usage(self, snapshot_id: str) -> str:
        """DescribeSnapshots' Usage: image, disk, image_disk or none (what was made from it)."""
        by_image = any(snapshot_id == m.snapshot_id for i in self.images.values() for m in i.mappings)
        by_disk = any(d.source_snapshot_id == snapshot_id for d in self.disks.values())
        return {(True, True): "image_disk", (True, False): "image",
                (False, True): "disk", (False, False): "none"}[(by_image, by_disk)]

    @operation
    def describe_disks(self, disk_ids: Optional[Iterable[str]] = None, instance_id: Optional[str] = None,
                       snapshot_id: Optional[str] = None, disk_type: str = "all", status: Optional[str] = None,
                       category: Optional[str] = None, tags: Iterable[Tuple[str, str]] = (),
                       dry_run: bool = False) -> List[Disk]:
        """``disk_type``: all | system | data; ``status`` and ``category`` also take "All"/"all";
        ``snapshot_id``: the disks created from that snapshot."""
        wanted_tags = check_tags(tags)
        found = [d for d in self.disks.values()
                 if id_filter(d.id, disk_ids) and (not instance_id or d.instance_id == instance_id)
                 and (disk_type == "all" or d.type == disk_type)
                 and (not status or status == "All" or d.status == status)
                 and (not category or category == "all" or d.category == category)
                 and (not snapshot_id or d.source_snapshot_id == snapshot_id)
                 and tag_filter(d.tags, wanted_tags)]
        if dry_run:
            raise error("DryRunOperation")
        return found

    def detach_later(self, disk: Disk) -> None:
        """Start the disk's ``disk.detach`` lifecycle: Detaching now, Available on the clock
        (settle_disk then forgets its instance)."""
        self.schedule(disk.progress, disk.id, "disk.detach", [self.latency.disk_detach])

    def settle_disk(self, disk: Disk, now: float) -> None:
        """Take the disk's steps due; a disk entering Available after Detaching is off its
        instance (and, in the disk-backed mode, off its loop device)."""
        entered = disk.progress.settle(now)
        if "Available" in entered and disk.progress.lifecycle == "disk.detach":
            disk.instance_id, disk.device, disk.detached = None, "", now
            if self.local is not None:
                self.local.disk_detached(disk)

    @operation
    def detach_disk(self, instance_id: str, disk_id: str, delete_with_instance: Optional[bool] = None,
                    dry_run: bool = False) -> Disk:
        """DetachDisk: the disk must be In_use on ``instance_id``; a data disk's instance Running or
        Stopped, a system disk's Stopped. Asynchronous: Detaching, then Available.
        ``delete_with_instance`` defaults to false for a data disk, true for a system disk."""
        disk = self.disk(disk_id)
        inst = self.instance(instance_id)
        if disk.instance_id is None:
            raise error("InvalidDisk.AlreadyDetached")
        if disk.instance_id != inst.id:
            raise error("DependencyViolation")
        if disk.status != "In_use":
            raise error("IncorrectDiskStatus")
        allowed = ("Stopped",) if disk.type == "system" else ("Running", "Stopped")
        if inst.status not in allowed:
            raise error("IncorrectInstanceStatus")
        if dry_run:
            raise error("DryRunOperation")
        disk.delete_with_instance = (disk.type == "system") if delete_with_instance is None else delete_with_instance
        self.detach_later(disk)
        return disk

    @operation
    def modify_disk_attribute(self, disk_id: Optional[str] = None, disk_ids: Optional[List[str]] = None,
                              delete_with_instance: Optional[bool] = None, disk_name: Optional[str] = None,
                              description: Optional[str] = None) -> List[Disk]:
        """ModifyDiskAttribute of one disk (``disk_id``) or several (``disk_ids``, not both): its
        name, description, and whether it is released with its instance (None: unchanged). A
        basic disk (``cloud``) that is not portable cannot be kept (DiskNotPortable)."""
        if disk_id and disk_ids:
            raise error("ParameterConflict.DiskIdAndDiskIds")
        if not disk_id and not disk_ids:
            raise error("MissingParameter.DiskIdOrDiskIds")
        if delete_with_instance is None and disk_name is None and description is None:
            raise error("NoAttributeToModify")
        disks = [self.disk(one) for one in ([disk_id] if disk_id else list(disk_ids or []))]
        for disk in disks:
            if delete_with_instance is False and disk.category == "cloud" and disk.type == "system":
                raise error("DiskNotPortable")
        for disk in disks:
            if delete_with_instance is not None:
                disk.delete_with_instance = delete_with_instance
            if disk_name is not None:
                disk.name = disk_name
            if description is not None:
                disk.description = description
        return disks

    @operation
    def create_snapshot(self, disk_id: str, name: str = "", description: str = "",
                        retention_days: Optional[int] = None, tags: Optional[Dict[str, str]] = None) -> Snapshot:
        """A snapshot of an In_use disk whose instance is Running or Stopped, or of an Available
        (detached) disk, one at a time per disk: progressing, then accomplished on the clock
        (setup + the data written at the model's rate). A disk Creating, Attaching or Detaching
        answers IncorrectDiskStatus; one made by CreateDisk and never attached,
        IncorrectDiskStatus.NeverAttached."""
        disk = self.disk(disk_id)
        if retention_days is not None and not 1 <= retention_days <= 65536:
            raise error("InvalidRetentionDays")
        tags = tag_dict(tags)
        if disk.status not in ("In_use", "Available"):
            raise error("IncorrectDiskStatus")
        if not disk.attached_once:
            raise error("IncorrectDiskStatus.NeverAttached")
        if disk.status == "In_use":
            inst = self.instances.get(disk.instance_id)
            if inst is None or inst.status not in ("Running", "Stopped"):
                raise error("IncorrectInstanceStatus")
        if any(s.disk_id == disk.id and s.status == "progressing" for s in self.snapshots.values()):
            raise error("IncorrectDiskStatus.CreatingSnapshot")
        snap_id = self.new_id("s-")
        snap = Snapshot(
            id=snap_id, name=name, disk_id=disk.id,
            disk_type="System" if disk.type == "system" else "Data", size=disk.size, data_gib=disk.data_gib,
            progress=self.new_progress("snapshot.create", [self.latency.snapshot_seconds(disk.written_gib())],
                                       snap_id),
            created=self.clock.now(), retention_days=retention_days, description=description, tags=tags)
        self.snapshots[snap_id] = snap
        if self.local is not None:
            self.local.snapshot_created(snap, disk)
        return snap

    @operation
    def describe_snapshots(self, snapshot_ids: Optional[Iterable[str]] = None, disk_id: Optional[str] = None,
                           instance_id: Optional[str] = None, name: Optional[str] = None, status: str = "all",
                           usage: Optional[str] = None, tags: Iterable[Tuple[str, str]] = (),
                           dry_run: bool = False) -> List[Snapshot]:
        """``status``: progressing | accomplished | failed | all; ``usage`` as snapshot_usage."""
        wanted_tags = check_tags(tags)
        found = []
        for snap in self.snapshots.values():
            if wanted_tags and not tag_filter(snap.tags, wanted_tags):
                continue
            disk = self.disks.get(snap.disk_id or "")
            if (id_filter(snap.id, snapshot_ids) and (not disk_id or snap.disk_id == disk_id)
                    and (not instance_id or (disk is not None and disk.instance_id == instance_id))
                    and (not name or snap.name == name) and (status == "all" or snap.status == status)
                    # last: the usage looks at every image and disk (large accounts)
                    and (not usage or self.snapshot_usage(snap.id) == usage)):
                found.append(snap)
        if dry_run:
            raise error("DryRunOperation")
        return found

    @operation
    def delete_snapshot(self, snapshot_id: str, force: bool = False) -> None:
        """A missing snapshot is ignored (documented); one an image uses cannot go, one a disk was
        created from only with ``force``."""
        snap = self.snapshots.get(snapshot_id)
        if snap is None:
            return
        usage = self.snapshot_usage(snap.id)
        if usage in ("image", "image_disk"):
            raise error("SnapshotCreatedImage")
        if usage == "disk" and not force:
            raise error("SnapshotCreatedDisk")
        del self.snapshots[snap.id]
        if self.local is not None:
            self.local.snapshot_deleted(snap)

    @operation
    def delete_disk(self, disk_id: str, dry_run: bool = False) -> None:
        """Only a detached (Available) disk: an attached (Attaching, In_use or Detaching) one
        answers IncorrectDiskStatus, one still Creating IncorrectDiskStatus.Initializing, one with
        a snapshot in progress DiskCreatingSnapshot."""
        disk = self.disk(disk_id)
        if disk.status == "Creating" and not disk.instance_id:
            raise error("IncorrectDiskStatus.Initializing")
        if disk.status != "Available" or disk.instance_id:
            raise error("IncorrectDiskStatus", "The disk is attached: detach it or delete its instance.")
        if any(s.disk_id == disk.id and s.status == "progressing" for s in self.snapshots.values()):
            raise error("DiskCreatingSnapshot")
        if dry_run:
            raise error("DryRunOperation")
        del self.disks[disk.id]
        if self.local is not None:
            self.local.disk_deleted(disk)
