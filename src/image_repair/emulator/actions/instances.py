"""RunInstances, DescribeInstances, RebootInstance, DeleteInstance, ModifyInstanceAutoReleaseTime
on the wire (typed methods and the release of expired instances: models/instances.py)."""
from ..models.instances import DataDiskRequest
from ..params import Params, object_int
from ..errors import missing
from ..resources import Instance, iso, tag_shape
from . import api, paginate


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


class InstanceResponses:

    @api
    def RunInstances(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        image_id = p.str("ImageId", required=True)
        instance_type = p.str("InstanceType", required=True)
        vswitch_id = p.str("VSwitchId", required=True)
        groups = p.list("SecurityGroupIds") or [g for g in [p.str("SecurityGroupId")] if g]
        if not groups:
            raise missing("SecurityGroupId")
        data_disks = [DataDiskRequest(snapshot_id=entry.get("SnapshotId") or None,
                                      size=object_int(entry, "Size", "DataDisk.%d.Size" % index),
                                      category=entry.get("Category", "cloud_efficiency"),
                                      name=entry.get("DiskName", ""),
                                      delete_with_instance=entry.get("DeleteWithInstance", "true").lower() != "false")
                      for index, entry in enumerate(p.objects("DataDisk"), start=1)]
        instances = self.backend.run_instances(
            image_id=image_id, instance_type=instance_type, vswitch_id=vswitch_id, security_group_ids=groups,
            zone_id=p.str("ZoneId"), amount=p.int("Amount", default=1, low=1, high=100),
            instance_name=p.str("InstanceName"),
            system_disk_category=p.str("SystemDisk.Category", default="cloud_essd"),
            system_disk_size=p.int("SystemDisk.Size", low=1, high=2048),
            system_disk_name=p.str("SystemDisk.DiskName", default=""), data_disks=data_disks,
            auto_release_time=p.str("AutoReleaseTime"),
            charge_type=p.str("InstanceChargeType", default="PostPaid", choices=["PrePaid", "PostPaid"]),
            tags=dict(p.tags()), dry_run=p.bool("DryRun"))
        return {"InstanceIdSets": {"InstanceIdSet": [inst.id for inst in instances]}, "OrderId": "",
                "TradePrice": 0.0}

    @api
    def ModifyInstanceAutoReleaseTime(self, p: Params) -> dict:
        """Set (or, with no time, cancel) an instance's automatic release."""
        p.str("RegionId", required=True)
        self.backend.modify_instance_auto_release_time(p.str("InstanceId", required=True), p.str("AutoReleaseTime"))
        return {}

    @api
    def DescribeInstances(self, p: Params) -> dict:
        p.str("RegionId", required=True)
        found = self.backend.describe_instances(
            instance_ids=p.json_list("InstanceIds"),
            status=p.str("Status", choices=["Pending", "Running", "Starting", "Stopping", "Stopped"]),
            name=p.str("InstanceName"), zone_id=p.str("ZoneId"), vswitch_id=p.str("VSwitchId"),
            image_id=p.str("ImageId"), tags=p.tags(), dry_run=p.bool("DryRun"))
        page, envelope = paginate(found, p, default_size=10, max_size=100, next_token=True)
        images = self.backend.images
        return dict(envelope, Instances={"Instance": [
            instance_shape(inst, images[inst.image_id].os_name if inst.image_id in images else "")
            for inst in page]})

    @api
    def RebootInstance(self, p: Params) -> dict:
        self.backend.reboot_instance(p.str("InstanceId", required=True), dry_run=p.bool("DryRun"))
        return {}

    @api
    def DeleteInstance(self, p: Params) -> dict:
        self.backend.delete_instance(p.str("InstanceId", required=True), force=p.bool("Force"),
                                     dry_run=p.bool("DryRun"))
        return {}
