"""RunInstances, DescribeInstances, RebootInstance, DeleteInstance, ModifyInstanceAutoReleaseTime, and the
release of instances whose AutoReleaseTime has come."""
import calendar
import time
from typing import List, Optional

from ..errors import error, invalid
from ..params import Params
from ..resources import Disk, Instance, iso, tag_shape
from . import api, id_filter, paginate, tag_filter

CATEGORIES = ["cloud", "cloud_efficiency", "cloud_ssd", "cloud_essd", "cloud_auto", "cloud_essd_entry"]


def instance_shape(inst: Instance, image_os: str) -> dict:
    return {
        "InstanceId": inst.id, "InstanceName": inst.name, "Status": inst.status,
        "ImageId": inst.image_id, "InstanceType": inst.instance_type,
        "InstanceTypeFamily": ".".join(inst.instance_type.split(".")[:2]),
        "RegionId": inst.zone.rsplit("-", 1)[0], "ZoneId": inst.zone, "HostName": inst.id,
        "OSName": image_os, "OSNameEn": image_os, "OSType": "linux", "Cpu": 2, "Memory": 8192,
        "CreationTime": iso(inst.created)[:-4] + "Z", "StartTime": iso(inst.created)[:-4] + "Z",
        "InstanceChargeType": inst.charge_type, "InternetChargeType": "PayByTraffic",
        "InstanceNetworkType": "vpc", "IoOptimized": True, "SerialNumber": inst.id[2:],
        "AutoReleaseTime": inst.auto_release_time or "", "DeletionProtection": False,
        "ExpiredTime": "2099-12-31T15:59Z", "StoppedMode": "Not-applicable",
        "VpcAttributes": {"VpcId": inst.vpc_id, "VSwitchId": inst.vswitch_id, "NatIpAddress": "",
                          "PrivateIpAddress": {"IpAddress": [inst.private_ip]}},
        "SecurityGroupIds": {"SecurityGroupId": list(inst.security_group_ids)},
        "PublicIpAddress": {"IpAddress": []}, "InnerIpAddress": {"IpAddress": []},
        "EipAddress": {"AllocationId": "", "IpAddress": "", "Bandwidth": 0},
        "OperationLocks": {"LockReason": []}, "Tags": tag_shape(inst.tags),
    }


class InstanceActions:

    def instance(self, instance_id: str, code: str = "InvalidInstanceId.NotFound") -> Instance:
        inst = self.instances.get(instance_id)
        if inst is None:
            raise error(code)
        return inst

    @api
    def RunInstances(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        image = self.image(p.str("ImageId", required=True))
        if image.status != "Available":
            raise error("InvalidImageId.NotFound", "The image is not Available.")
        instance_type = p.str("InstanceType", required=True)
        if instance_type not in self.network.instance_types:
            raise error("InvalidInstanceType.ValueNotSupported")
        vswitch_id = p.str("VSwitchId", required=True)
        vswitch = self.network.vswitches.get(vswitch_id)
        if vswitch is None:
            raise error("InvalidVSwitchId.NotFound")
        zone = p.str("ZoneId", default=vswitch["zone"])
        if zone not in self.network.zones:
            raise error("InvalidZoneId.NotFound")
        if zone != vswitch["zone"]:
            raise error("InvalidParameter.Mismatch", "Specified virtual switch is not in the specified zone.")
        groups = p.list("SecurityGroupIds") or [g for g in [p.str("SecurityGroupId")] if g]
        if not groups:
            raise error("MissingParameter", "SecurityGroupId")
        for group in groups:
            if group not in self.network.security_groups:
                raise error("InvalidSecurityGroupId.NotFound")
            if self.network.security_groups[group]["vpc"] not in ("", vswitch["vpc"]):
                raise error("InvalidParameter.Mismatch",
                            "Specified security group and virtual switch are not in the same VPC.")
        amount = p.int("Amount", default=1, low=1, high=100)
        system_category = p.str("SystemDisk.Category", default="cloud_essd")
        if system_category not in CATEGORIES:
            raise error("InvalidSystemDiskCategory.ValueNotSupported")
        system_size = p.int("SystemDisk.Size", default=max(image.size, 20), low=1, high=2048)
        if system_size < image.size:
            raise error("InvalidSystemDiskSize.LessThanImageSize")
        data_disks = [self._data_disk_spec(index, entry) for index, entry
                      in enumerate(p.objects("DataDisk"), start=1)]
        if len(data_disks) > 16:
            raise error("InstanceDiskNumber.LimitExceed")
        release = p.str("AutoReleaseTime")
        if release is not None:
            self._check_release_time(release)
        p.str("InstanceChargeType", choices=["PrePaid", "PostPaid"])
        tags = dict(p.tags())
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        ids = []
        for _ in range(amount):
            inst = self._launch(p, image, instance_type, vswitch_id, vswitch, zone, groups,
                                release, tags, system_category, system_size, data_disks)
            ids.append(inst.id)
        return {"InstanceIdSets": {"InstanceIdSet": ids}, "OrderId": "", "TradePrice": 0.0}

    def _data_disk_spec(self, index: int, entry: dict) -> dict:
        snapshot_id = entry.get("SnapshotId")
        size = int(entry["Size"]) if entry.get("Size") else None
        if snapshot_id:
            snap = self.snapshots.get(snapshot_id)
            if snap is None:
                raise error("InvalidDataDiskSnapshotId.NotFound")
            if snap.status != "accomplished":
                raise error("InvalidSnapshotId.NotReady")
            size = max(size or 0, snap.size)
        if size is None:
            raise error("MissingParameter", "DataDisk.%d.Size" % index)
        category = entry.get("Category", "cloud_efficiency")
        if category not in CATEGORIES:
            raise error("InvalidDataDiskCategory.ValueNotSupported")
        return {"type": "data", "size": size, "snapshot_id": snapshot_id, "category": category,
                "name": entry.get("DiskName", ""),
                "delete_with_instance": entry.get("DeleteWithInstance", "true").lower() != "false"}

    @api
    def ModifyInstanceAutoReleaseTime(self, p: Params) -> dict:
        """Set (or, with no time, cancel) an instance's automatic release."""
        p.str("RegionId", required=True)
        inst = self.instance(p.str("InstanceId", required=True))
        release = p.str("AutoReleaseTime")
        if release:
            self._check_release_time(release)
        inst.auto_release_time = release or None
        return {}

    def _check_release_time(self, value: str) -> None:
        when = _release_epoch(value)
        if when is None:
            raise error("InvalidAutoReleaseTime.Malformed")
        if when < self.client_now() + 30 * 60:
            raise error("InvalidAutoReleaseTime.Malformed", "It is less than 30 minutes ahead.")

    def _launch(self, p, image, instance_type, vswitch_id, vswitch, zone, groups, release, tags,
                system_category, system_size, data_disks) -> Instance:
        lat = self.latency
        inst_id = self.new_id("i-")
        count = len(self.instances) + 10
        inst = Instance(id=inst_id, name=p.str("InstanceName", default=inst_id), image_id=image.id,
                        instance_type=instance_type, zone=zone, vswitch_id=vswitch_id,
                        vpc_id=vswitch["vpc"], security_group_ids=groups,
                        private_ip="172.16.%d.%d" % (count // 250, count % 250 + 2),
                        progress=self.new_progress("instance.create", [lat.instance_pending, lat.instance_starting]),
                        created=self.clock.now(), charge_type=p.str("InstanceChargeType", default="PostPaid"),
                        auto_release_time=release, cloud_assistant=image.cloud_assistant, tags=dict(tags))
        self.instances[inst_id] = inst
        specs = [{"type": "system", "size": system_size, "snapshot_id": None, "category": system_category,
                  "name": p.str("SystemDisk.DiskName", default=""), "delete_with_instance": True}] + data_disks
        for index, spec in enumerate(specs):
            disk_id = self.new_id("d-")
            self.disks[disk_id] = Disk(
                id=disk_id, name=spec["name"], type=spec["type"], category=spec["category"],
                size=spec["size"], zone=zone, created=self.clock.now(),
                progress=self.new_progress("disk.create", [lat.instance_pending]),
                instance_id=inst_id, device="/dev/xvd%s" % "abcdefghijklmnopq"[index],
                source_snapshot_id=spec["snapshot_id"],
                image_id=image.id if spec["type"] == "system" else None,
                delete_with_instance=spec["delete_with_instance"], tags=dict(tags))
            if self.local is not None:
                self.local.disk_created(self.disks[disk_id])
        return inst

    @api
    def DescribeInstances(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        ids = p.json_list("InstanceIds")
        status = p.str("Status", choices=["Pending", "Running", "Starting", "Stopping", "Stopped"])
        name, zone, vswitch, image_id = (p.str("InstanceName"), p.str("ZoneId"), p.str("VSwitchId"),
                                         p.str("ImageId"))
        wanted_tags = p.tags()
        found: List[Instance] = [
            inst for inst in self.instances.values()
            if id_filter(inst.id, ids) and (not status or inst.status == status)
            and (not name or inst.name == name) and (not zone or inst.zone == zone)
            and (not vswitch or inst.vswitch_id == vswitch) and (not image_id or inst.image_id == image_id)
            and tag_filter(inst.tags, wanted_tags)]
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        page, envelope = paginate(found, p, default_size=10, max_size=100, next_token=True)
        return dict(envelope, Instances={"Instance": [
            instance_shape(inst, self.images[inst.image_id].os_name if inst.image_id in self.images else "")
            for inst in page]})

    @api
    def RebootInstance(self, p: Params) -> dict:
        inst = self.instance(p.str("InstanceId", required=True))
        if inst.status != "Running":
            raise error("IncorrectInstanceStatus")
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        lat = self.latency
        inst.progress.schedule(self.clock.now(), "instance.reboot",
                               [lat.instance_stopping, lat.instance_reboot_starting])
        return {}

    @api
    def DeleteInstance(self, p: Params) -> dict:
        inst = self.instance(p.str("InstanceId", required=True))
        force = p.bool("Force")
        # The ~60 s protection window after creation applies whatever Force says.
        # An instance still Pending (e.g. stuck there) is initializing too.
        if (self.clock.now() < inst.created + self.latency.delete_protection
                or inst.status == "Pending"):
            raise error("IncorrectInstanceStatus.Initializing")
        if inst.status != "Stopped" and not force:
            raise error("IncorrectInstanceStatus", "Stop the instance or set Force=true.")
        if p.bool("DryRun"):
            raise error("DryRunOperation")
        self._remove_instance(inst)
        return {}

    def client_now(self) -> float:
        """"Now" in the frame clients compute AutoReleaseTime in: the emulator's own clock when only
        tests move it (they share it), the wall clock when it runs by itself (a client of a served
        emulator cannot see a fast clock, which runs ahead of the wall clock)."""
        return self.clock.now() if self.clock.speed == 0 else time.time()

    def release_expired_instances(self) -> None:
        """ECS releases an instance at its AutoReleaseTime (the repair host's last safety net)."""
        now = self.client_now()
        for inst in list(self.instances.values()):
            when = _release_epoch(inst.auto_release_time)
            if when is not None and when <= now:
                self._remove_instance(inst)

    def _remove_instance(self, inst) -> None:
        del self.instances[inst.id]
        for disk in [d for d in self.disks.values() if d.instance_id == inst.id]:
            if disk.delete_with_instance:
                del self.disks[disk.id]
                if self.local is not None:
                    self.local.disk_deleted(disk)
            else:
                disk.instance_id, disk.device = None, ""
                disk.progress.status, disk.progress.steps = "Available", []


def _release_epoch(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"):
        try:
            return float(calendar.timegm(time.strptime(value, layout)))
        except ValueError:
            continue
    return None
