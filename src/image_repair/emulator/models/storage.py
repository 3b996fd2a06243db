"""Disks and snapshots: describe, snapshot a disk, delete."""
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

    @operation
    def create_snapshot(self, disk_id: str, name: str = "", description: str = "",
                        retention_days: Optional[int] = None, tags: Optional[Dict[str, str]] = None) -> Snapshot:
        """A snapshot of an In_use disk whose instance is Running or Stopped, one at a time per
        disk: progressing, then accomplished on the clock (setup + size at the model's rate)."""
        disk = self.disk(disk_id)
        if retention_days is not None and not 1 <= retention_days <= 65536:
            raise error("InvalidRetentionDays")
        tags = tag_dict(tags)
        if disk.status != "In_use":
            raise error("IncorrectDiskStatus")
        inst = self.instances.get(disk.instance_id)
        if inst is None or inst.status not in ("Running", "Stopped"):
            raise error("IncorrectInstanceStatus")
        if any(s.disk_id == disk.id and s.status == "progressing" for s in self.snapshots.values()):
            raise error("IncorrectDiskStatus.CreatingSnapshot")
        snap_id = self.new_id("s-")
        snap = Snapshot(
            id=snap_id, name=name, disk_id=disk.id,
            disk_type="System" if disk.type == "system" else "Data", size=disk.size,
            progress=self.new_progress("snapshot.create", [self.latency.snapshot_seconds(disk.size)], snap_id),
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
        """Only a detached (Available) disk; an attached one answers IncorrectDiskStatus."""
        disk = self.disk(disk_id)
        if disk.status != "Available" or disk.instance_id:
            raise error("IncorrectDiskStatus", "The disk is attached: detach it or delete its instance.")
        if dry_run:
            raise error("DryRunOperation")
        del self.disks[disk.id]
        if self.local is not None:
            self.local.disk_deleted(disk)
