"""DescribeDisks, CreateSnapshot, DescribeSnapshots, DeleteSnapshot."""
from typing import List

from ..errors import error
from ..params import Params
from ..resources import Disk, Snapshot, iso, tag_shape
from . import api, id_filter, paginate, tag_filter


def disk_shape(disk: Disk, region: str) -> dict:
    attached = disk.instance_id is not None and disk.status == "In_use"
    attachment = [{"InstanceId": disk.instance_id, "Device": disk.device,
                   "AttachedTime": iso(disk.created)}] if attached else []
    return {
        "DiskId": disk.id, "DiskName": disk.name, "Type": disk.type, "Category": disk.category,
        "Size": disk.size, "Status": disk.status, "RegionId": region, "ZoneId": disk.zone,
        "InstanceId": disk.instance_id or "", "Device": disk.device if attached else "",
        "SerialNumber": disk.serial, "SourceSnapshotId": disk.source_snapshot_id or "",
        "ImageId": disk.image_id or "", "DeleteWithInstance": disk.delete_with_instance,
        "DeleteAutoSnapshot": True, "EnableAutoSnapshot": False, "Encrypted": False,
        "Portable": disk.type == "data", "DiskChargeType": "PostPaid", "PerformanceLevel": "PL0",
        "MultiAttach": "Disabled", "CreationTime": iso(disk.created),
        "AttachedTime": iso(disk.created) if attached else "", "DetachedTime": "",
        "ExpiredTime": "2999-09-08T16:00Z", "IOPS": 3000, "MountInstanceNum": 0,
        "Attachments": {"Attachment": attachment}, "OperationLocks": {"OperationLock": []},
        "Tags": tag_shape(disk.tags),
    }


def snapshot_shape(snap: Snapshot, usage: str, now: float, region: str) -> dict:
    done = snap.status == "accomplished"
    return {
        "SnapshotId": snap.id, "SnapshotName": snap.name, "Status": snap.status,
        "Progress": "100%" if done else "%d%%" % int(99 * snap.progress.fraction(now)),
        "RemainTime": 0 if done else int(max(0.0, snap.progress.since + (snap.progress.steps[0][0] if snap.progress.steps else 0) - now)),
        "SourceDiskId": snap.disk_id or "", "SourceDiskSize": str(snap.size),
        "SourceDiskType": snap.disk_type, "SourceStorageType": "disk", "Usage": usage,
        "RetentionDays": snap.retention_days or 0, "Available": done, "Encrypted": False,
        "CreationTime": iso(snap.created), "LastModifiedTime": iso(snap.progress.since),
        "Description": snap.description, "Category": "standard", "SnapshotType": "user",
        "InstantAccess": False, "ProductCode": "", "RegionId": region, "SourceRegionId": region,
        "FullSnapshotSizeInBytes": snap.size * 1024 ** 3 if done else 0, "Tags": tag_shape(snap.tags),
    }


class StorageActions:

    def disk(self, disk_id: str) -> Disk:
        disk = self.disks.get(disk_id)
        if disk is None:
            raise error("InvalidDiskId.NotFound")
        return disk

    def snapshot(self, snapshot_id: str) -> Snapshot:
        snap = self.snapshots.get(snapshot_id)
        if snap is None:
            raise error("InvalidSnapshotId.NotFound")
        return snap

    def snapshot_usage(self, snapshot_id: str) -> str:
        by_image = any(snapshot_id == m.snapshot_id for i in self.images.values() for m in i.mappings)
        by_disk = any(d.source_snapshot_id == snapshot_id for d in self.disks.values())
        return {(True, True): "image_disk", (True, False): "image",
                (False, True): "disk", (False, False): "none"}[(by_image, by_disk)]

    @api
    def DescribeDisks(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        ids = p.json_list("DiskIds")
        instance_id, snapshot_id = p.str("InstanceId"), p.str("SnapshotId")
        disk_type = p.str("DiskType", default="all", choices=["all", "system", "data"])
        status = p.str("Status", choices=["In_use", "Available", "Attaching", "Detaching",
                                          "Creating", "ReIniting", "All"])
        category = p.str("Category", choices=["all", "cloud", "cloud_efficiency", "cloud_ssd",
                                              "cloud_essd", "cloud_auto", "cloud_essd_entry"])
        wanted_tags = p.tags()
        found: List[Disk] = [
            d for d in self.disks.values()
            if id_filter(d.id, ids) and (not instance_id or d.instance_id == instance_id)
            and (disk_type == "all" or d.type == disk_type)
            and (not status or status == "All" or d.status == status)
            and (not category or category == "all" or d.category == category)
            and (not snapshot_id or d.source_snapshot_id == snapshot_id)
            and tag_filter(d.tags, wanted_tags)]
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        page, envelope = paginate(found, p, default_size=10, max_size=100, next_token=True)
        return dict(envelope, Disks={"Disk": [disk_shape(d, self.region) for d in page]})

    @api
    def CreateSnapshot(self, p: Params) -> dict:
        disk = self.disk(p.str("DiskId", required=True))
        retention = p.str("RetentionDays")
        if retention is not None and not (retention.isdigit() and 1 <= int(retention) <= 65536):
            raise error("InvalidRetentionDays")
        tags = dict(p.tags())
        if disk.status != "In_use":
            raise error("IncorrectDiskStatus")
        inst = self.instances.get(disk.instance_id)
        if inst is None or inst.status not in ("Running", "Stopped"):
            raise error("IncorrectInstanceStatus")
        if any(s.disk_id == disk.id and s.status == "progressing" for s in self.snapshots.values()):
            raise error("IncorrectDiskStatus.CreatingSnapshot")
        snap_id = self.new_id("s-")
        self.snapshots[snap_id] = Snapshot(
            id=snap_id, name=p.str("SnapshotName", default=""), disk_id=disk.id,
            disk_type="System" if disk.type == "system" else "Data", size=disk.size,
            progress=self.new_progress("snapshot.create", [self.latency.snapshot_seconds(disk.size)]),
            created=self.clock.now(), retention_days=int(retention) if retention else None,
            description=p.str("Description", default=""), tags=tags)
        if self.local is not None:
            self.local.snapshot_created(self.snapshots[snap_id], disk)
        return {"SnapshotId": snap_id}

    @api
    def DescribeSnapshots(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        ids = p.json_list("SnapshotIds")
        disk_id, instance_id, name = p.str("DiskId"), p.str("InstanceId"), p.str("SnapshotName")
        status = p.str("Status", default="all", choices=["progressing", "accomplished", "failed", "all"])
        usage = p.str("Usage", choices=["image", "disk", "image_disk", "none"])
        wanted_tags = p.tags()
        found = []
        for snap in self.snapshots.values():
            if wanted_tags and not tag_filter(snap.tags, wanted_tags):
                continue        # before the usage, which looks at every image (large accounts)
            disk = self.disks.get(snap.disk_id or "")
            snap_usage = self.snapshot_usage(snap.id)
            if (id_filter(snap.id, ids) and (not disk_id or snap.disk_id == disk_id)
                    and (not instance_id or (disk is not None and disk.instance_id == instance_id))
                    and (not name or snap.name == name) and (status == "all" or snap.status == status)
                    and (not usage or snap_usage == usage) and tag_filter(snap.tags, wanted_tags)):
                found.append((snap, snap_usage))
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        page, envelope = paginate(found, p, default_size=10, max_size=100, next_token=True)
        now = self.clock.now()
        return dict(envelope, Snapshots={"Snapshot": [snapshot_shape(s, u, now, self.region) for s, u in page]})

    @api
    def DeleteSnapshot(self, p: Params) -> dict:
        snapshot_id = p.str("SnapshotId", required=True)
        snap = self.snapshots.get(snapshot_id)
        if snap is None:
            return {}  # documented: a snapshot that does not exist is ignored
        usage = self.snapshot_usage(snap.id)
        if usage in ("image", "image_disk"):
            raise error("SnapshotCreatedImage")
        if usage == "disk" and not p.bool("Force"):
            raise error("SnapshotCreatedDisk")
        del self.snapshots[snap.id]
        if self.local is not None:
            self.local.snapshot_deleted(snap)
        return {}

    @api
    def DeleteDisk(self, p: Params) -> dict:
        """Only a detached (Available) disk; an attached one answers IncorrectDiskStatus."""
        disk = self.disk(p.str("DiskId", required=True))
        if disk.status != "Available" or disk.instance_id:
            raise error("IncorrectDiskStatus", "The disk is attached: detach it or delete its instance.")
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        del self.disks[disk.id]
        if self.local is not None:
            self.local.disk_deleted(disk)
        return {}
