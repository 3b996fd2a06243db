"""DescribeDisks, DetachDisk, ModifyDiskAttribute, CreateSnapshot, DescribeSnapshots,
DeleteSnapshot, DeleteDisk on the wire (typed methods: models/storage.py)."""
from ..errors import error
from ..params import Params
from ..resources import Disk, Snapshot, iso, tag_shape
from . import api, paginate


def disk_shape(disk: Disk, region: str) -> dict:
    attached = disk.instance_id is not None and disk.status == "In_use"
    attached_at = iso(disk.created if disk.attached is None else disk.attached)
    attachment = [{"InstanceId": disk.instance_id, "Device": disk.device,
                   "AttachedTime": attached_at}] if attached else []
    return {
        "DiskId": disk.id, "DiskName": disk.name, "Type": disk.type, "Category": disk.category,
        "Size": disk.size, "Status": disk.status, "RegionId": region, "ZoneId": disk.zone,
        "InstanceId": disk.instance_id or "", "Device": disk.device if attached else "",
        "SerialNumber": disk.serial, "SourceSnapshotId": disk.source_snapshot_id or "",
        "ImageId": disk.image_id or "", "DeleteWithInstance": disk.delete_with_instance,
        "DeleteAutoSnapshot": True, "EnableAutoSnapshot": False, "Encrypted": False,
        "Portable": disk.type == "data", "DiskChargeType": "PostPaid", "PerformanceLevel": "PL0",
        "MultiAttach": "Disabled", "CreationTime": iso(disk.created),
        "AttachedTime": attached_at if attached else "",
        "DetachedTime": iso(disk.detached) if disk.detached is not None else "", "Description": disk.description,
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


class StorageResponses:

    @api
    def DescribeDisks(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        found = self.backend.describe_disks(
            disk_ids=p.json_list("DiskIds"), instance_id=p.str("InstanceId"), snapshot_id=p.str("SnapshotId"),
            disk_type=p.str("DiskType", default="all", choices=["all", "system", "data"]),
            status=p.str("Status", choices=["In_use", "Available", "Attaching", "Detaching", "Creating",
                                            "ReIniting", "All"]),
            category=p.str("Category", choices=["all", "cloud", "cloud_efficiency", "cloud_ssd", "cloud_essd",
                                                "cloud_auto", "cloud_essd_entry"]),
            tags=p.tags(), dry_run=p.bool("DryRun"))
        page, envelope = paginate(found, p, default_size=10, max_size=100, next_token=True)
        return dict(envelope, Disks={"Disk": [disk_shape(d, self.backend.region) for d in page]})

    @api
    def DetachDisk(self, p: Params) -> dict:
        self.backend.detach_disk(p.str("InstanceId", required=True), p.str("DiskId", required=True),
                                 delete_with_instance=_tristate(p, "DeleteWithInstance"), dry_run=p.bool("DryRun"))
        return {}

    @api
    def ModifyDiskAttribute(self, p: Params) -> dict:
        self.backend.modify_disk_attribute(
            disk_id=p.str("DiskId"), disk_ids=p.list("DiskIds", limit=100) or None,
            delete_with_instance=_tristate(p, "DeleteWithInstance"), disk_name=p.str("DiskName"),
            description=p.str("Description"))
        return {}

    @api
    def CreateSnapshot(self, p: Params) -> dict:
        disk_id = p.str("DiskId", required=True)
        retention = p.str("RetentionDays")
        if retention is not None and not retention.isdigit():
            raise error("InvalidRetentionDays")
        snap = self.backend.create_snapshot(
            disk_id, name=p.str("SnapshotName", default=""), description=p.str("Description", default=""),
            retention_days=int(retention) if retention else None, tags=dict(p.tags()))
        return {"SnapshotId": snap.id}

    @api
    def DescribeSnapshots(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        found = self.backend.describe_snapshots(
            snapshot_ids=p.json_list("SnapshotIds"), disk_id=p.str("DiskId"), instance_id=p.str("InstanceId"),
            name=p.str("SnapshotName"),
            status=p.str("Status", default="all", choices=["progressing", "accomplished", "failed", "all"]),
            usage=p.str("Usage", choices=["image", "disk", "image_disk", "none"]), tags=p.tags(),
            dry_run=p.bool("DryRun"))
        page, envelope = paginate(found, p, default_size=10, max_size=100, next_token=True)
        now, region = self.backend.clock.now(), self.backend.region
        return dict(envelope, Snapshots={"Snapshot": [
            snapshot_shape(s, self.backend.snapshot_usage(s.id), now, region) for s in page]})

    @api
    def DeleteSnapshot(self, p: Params) -> dict:
        self.backend.delete_snapshot(p.str("SnapshotId", required=True), force=p.bool("Force"))
        return {}

    @api
    def DeleteDisk(self, p: Params) -> dict:
        """Only a detached (Available) disk; an attached one answers IncorrectDiskStatus, one with
        a snapshot in progress DiskCreatingSnapshot."""
        self.backend.delete_disk(p.str("DiskId", required=True), dry_run=p.bool("DryRun"))
        return {}


def _tristate(p: Params, name: str):
    """A boolean the API leaves unchanged when absent: True, False or None."""
    return None if p.str(name) is None else p.bool(name)
