"""The ECS port: the calls the workflow's steps make, over the real ``alibabacloud_ecs20140526`` SDK.

Answers are plain dicts in the API's own field names (``to_map()`` of the SDK bodies), so steps
read the documented shapes. SDK retries are off: retrying is the flow's job (Retry with backoff),
and every create carries a ClientToken so a retried create never makes a second resource.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

from ..cloud_config import sdk_config
from ..cloud_errors import CloudError, classify

TAG_RESOURCE_TYPES = ("instance", "disk", "snapshot", "image")
TAG_BATCH = 50             # TagResources: at most 50 ResourceId.N


def sdk_models():
    """``alibabacloud_ecs20140526.models``, imported on first use: the SDK's request models are most
    of a cold start, and a function that never calls ECS (start, events) never loads them."""
    from alibabacloud_ecs20140526 import models     # lazy: the SDK's request models, most of a cold start
    return models


class EcsPort:
    def __init__(self, client, region: str):
        self.client = client
        self.region = region

    # --- plumbing ------------------------------------------------------------------------------
    def _call(self, action: str, request) -> Dict[str, Any]:
        from darabonba.runtime import RuntimeOptions     # lazy: the SDK's own dependency, loaded with it on first call
        method: Callable = getattr(self.client, _snake(action) + "_with_options")
        try:
            response = method(request, RuntimeOptions(autoretry=False, read_timeout=15000, connect_timeout=5000))
        except Exception as error:  # every SDK failure becomes a CloudError with the flow's code
            raise classify(error, action) from error
        return response.body.to_map() if response.body is not None else {}

    @staticmethod
    def _tags(model, tags: Dict[str, str]) -> list:
        return [model(key=k, value=v) for k, v in sorted(tags.items())]

    # --- images --------------------------------------------------------------------------------
    def describe_image(self, image_id: str) -> Optional[dict]:
        m = sdk_models()
        try:
            body = self._call("DescribeImages", m.DescribeImagesRequest(
                region_id=self.region, image_id=image_id, show_expired=True, page_size=10))
        except CloudError as error:
            if error.code in ("InvalidImageId.NotFound", "InvalidImageId.Malformed"):
                return None
            raise
        images = [i for i in body.get("Images", {}).get("Image", []) if i.get("ImageId") == image_id]
        return images[0] if images else None

    def system_images(self, architecture: str) -> List[dict]:
        m = sdk_models()
        found, page = [], 1
        while True:
            body = self._call("DescribeImages", m.DescribeImagesRequest(
                region_id=self.region, image_owner_alias="system", architecture=architecture,
                status="Available", page_size=100, page_number=page))
            batch = body.get("Images", {}).get("Image", [])
            found.extend(batch)
            if len(batch) < 100 or len(found) >= int(body.get("TotalCount", 0) or 0):
                return found
            page += 1

    def create_image(self, name: str, mappings: List[dict], platform: str, architecture: str, boot_mode: str,
                     description: str, tags: Dict[str, str], token: str) -> str:
        m = sdk_models()
        request = m.CreateImageRequest(
            region_id=self.region, image_name=name, platform=platform, architecture=architecture,
            boot_mode=boot_mode, description=description, detection_strategy="Standard", client_token=token,
            disk_device_mapping=[m.CreateImageRequestDiskDeviceMapping(
                snapshot_id=d["SnapshotId"], disk_type=d["DiskType"], size=d.get("Size"), device=d.get("Device"))
                for d in mappings],
            tag=self._tags(m.CreateImageRequestTag, tags))
        return self._call("CreateImage", request)["ImageId"]

    def set_nvme_support(self, image_id: str) -> None:
        m = sdk_models()
        self._call("ModifyImageAttribute", m.ModifyImageAttributeRequest(
            region_id=self.region, image_id=image_id,
            features=m.ModifyImageAttributeRequestFeatures(nvme_support="supported")))

    def delete_image(self, image_id: str) -> bool:
        """-> False when it was already gone."""
        m = sdk_models()
        return self._gone_is_fine("DeleteImage", m.DeleteImageRequest(region_id=self.region, image_id=image_id,
                                                                      force=True), ("InvalidImageId.NotFound",))

    # --- instances and disks -------------------------------------------------------------------
    def run_instance(self, spec: dict, tags: Dict[str, str], token: str) -> str:
        m = sdk_models()
        request = m.RunInstancesRequest(
            region_id=self.region, zone_id=spec["zoneId"], image_id=spec["imageId"],
            instance_type=spec["instanceType"], security_group_id=spec["securityGroupId"],
            v_switch_id=spec["vSwitchId"], instance_name=spec["name"], amount=1,
            instance_charge_type="PostPaid", internet_max_bandwidth_out=0,   # no public IP
            auto_release_time=spec["autoReleaseTime"], client_token=token,
            system_disk=m.RunInstancesRequestSystemDisk(category=spec["systemDiskCategory"]),
            data_disk=[m.RunInstancesRequestDataDisk(snapshot_id=d["snapshotId"], size=d["size"],
                                                     category=spec["systemDiskCategory"], delete_with_instance=True)
                       for d in spec["dataDisks"]],
            tag=self._tags(m.RunInstancesRequestTag, tags))
        ids = self._call("RunInstances", request).get("InstanceIdSets", {}).get("InstanceIdSet", [])
        if len(ids) != 1:
            raise CloudError("UnexpectedResponse", "RunInstances returned %r" % ids, "RunInstances")
        return ids[0]

    def set_auto_release_time(self, instance_id: str, when: str) -> None:
        m = sdk_models()
        self._call("ModifyInstanceAutoReleaseTime", m.ModifyInstanceAutoReleaseTimeRequest(
            region_id=self.region, instance_id=instance_id, auto_release_time=when))

    def describe_instance(self, instance_id: str) -> Optional[dict]:
        m = sdk_models()
        body = self._call("DescribeInstances", m.DescribeInstancesRequest(
            region_id=self.region, instance_ids='["%s"]' % instance_id))
        found = body.get("Instances", {}).get("Instance", [])
        return found[0] if found else None

    def cloud_assistant_online(self, instance_id: str) -> bool:
        m = sdk_models()
        body = self._call("DescribeCloudAssistantStatus", m.DescribeCloudAssistantStatusRequest(
            region_id=self.region, instance_id=[instance_id]))
        rows = body.get("InstanceCloudAssistantStatusSet", {}).get("InstanceCloudAssistantStatus", [])
        return any(r.get("InstanceId") == instance_id and str(r.get("CloudAssistantStatus")) == "true" for r in rows)

    def data_disks(self, instance_id: str, snapshot_id: str) -> List[dict]:
        """The instance's data disks made from ``snapshot_id`` (never "the first disk")."""
        m = sdk_models()
        body = self._call("DescribeDisks", m.DescribeDisksRequest(
            region_id=self.region, instance_id=instance_id, disk_type="data", snapshot_id=snapshot_id))
        return [d for d in body.get("Disks", {}).get("Disk", [])
                if d.get("SourceSnapshotId") == snapshot_id and d.get("Type") == "data"]

    def describe_disk(self, disk_id: str) -> Optional[dict]:
        """One disk (DescribeDisks by ID), None when it is gone."""
        m = sdk_models()
        body = self._call("DescribeDisks", m.DescribeDisksRequest(region_id=self.region, disk_ids='["%s"]' % disk_id))
        found = [d for d in body.get("Disks", {}).get("Disk", []) if d.get("DiskId") == disk_id]
        return found[0] if found else None

    def set_delete_with_instance(self, disk_id: str, delete_with_instance: bool) -> None:
        """ModifyDiskAttribute(DeleteWithInstance): off, releasing the instance keeps the disk
        (Detaching, then Available) instead of releasing it too; on, the disk goes with it again.
        Idempotent."""
        m = sdk_models()
        self._call("ModifyDiskAttribute", m.ModifyDiskAttributeRequest(
            region_id=self.region, disk_id=disk_id, delete_with_instance=delete_with_instance))

    def delete_disk(self, disk_id: str) -> bool:
        """DeleteDisk of an Available disk; -> False when it was already gone. A disk still attached
        or Detaching (IncorrectDiskStatus) or with a snapshot in progress (DiskCreatingSnapshot)
        propagates: the caller decides whether that means "not yet"."""
        m = sdk_models()
        return self._gone_is_fine("DeleteDisk", m.DeleteDiskRequest(disk_id=disk_id), ("InvalidDiskId.NotFound",))

    def delete_instance(self, instance_id: str) -> bool:
        """Force-delete; -> False when it was already gone. IncorrectInstanceStatus.Initializing
        propagates: the caller reports "not yet" and the flow's Wait loop comes back."""
        m = sdk_models()
        return self._gone_is_fine("DeleteInstance", m.DeleteInstanceRequest(
            instance_id=instance_id, force=True), ("InvalidInstanceId.NotFound",))

    # --- disks a pool host takes (issue 13, docs/pool.md) ---------------------------------------
    def instance_type(self, instance_type: str) -> Optional[dict]:
        """DescribeInstanceTypes of one type: ``InstanceTypeId``, ``CpuCoreCount``, ``DiskQuantity``...
        (None when the region does not offer it)."""
        m = sdk_models()
        body = self._call("DescribeInstanceTypes", m.DescribeInstanceTypesRequest(instance_types=[instance_type]))
        rows = [t for t in body.get("InstanceTypes", {}).get("InstanceType", []) if t.get("InstanceTypeId") == instance_type]
        return rows[0] if rows else None

    def create_disk(self, zone_id: str, snapshot_id: str, size_gib: int, category: str, name: str,
                    tags: Dict[str, str], token: str, performance_level: Optional[str] = None) -> str:
        """CreateDisk from a snapshot, pay-as-you-go, in ``zone_id`` (a disk attaches only to an
        instance in its zone); -> its id. ClientToken: a retried create finds the first disk."""
        m = sdk_models()
        return self._call("CreateDisk", m.CreateDiskRequest(
            region_id=self.region, zone_id=zone_id, snapshot_id=snapshot_id, size=size_gib, disk_category=category,
            performance_level=performance_level, disk_name=name, client_token=token,
            tag=self._tags(m.CreateDiskRequestTag, tags)))["DiskId"]

    def attach_disk(self, instance_id: str, disk_id: str) -> None:
        """AttachDisk as a data disk, kept when the instance goes (DeleteWithInstance false: the
        pool host outlives the repair, the disk is detached and snapshotted without it)."""
        m = sdk_models()
        self._call("AttachDisk", m.AttachDiskRequest(instance_id=instance_id, disk_id=disk_id,
                                                     delete_with_instance=False))

    def detach_disk(self, instance_id: str, disk_id: str) -> bool:
        """DetachDisk; -> False when the disk is gone or no longer attached there (done before)."""
        m = sdk_models()
        return self._gone_is_fine("DetachDisk", m.DetachDiskRequest(instance_id=instance_id, disk_id=disk_id),
                                  ("InvalidDiskId.NotFound", "InvalidDisk.AlreadyDetached"))

    # --- snapshots -----------------------------------------------------------------------------
    def create_snapshot(self, disk_id: str, name: str, description: str, tags: Dict[str, str], token: str) -> str:
        m = sdk_models()
        return self._call("CreateSnapshot", m.CreateSnapshotRequest(
            disk_id=disk_id, snapshot_name=name, description=description, client_token=token,
            tag=self._tags(m.CreateSnapshotRequestTag, tags)))["SnapshotId"]

    def describe_snapshot(self, snapshot_id: str) -> Optional[dict]:
        m = sdk_models()
        body = self._call("DescribeSnapshots", m.DescribeSnapshotsRequest(
            region_id=self.region, snapshot_ids='["%s"]' % snapshot_id))
        found = body.get("Snapshots", {}).get("Snapshot", [])
        return found[0] if found else None

    def snapshots_in_progress(self, tag_key: str) -> int:
        """How many snapshots carrying ``tag_key`` (any value) are still progressing: DescribeSnapshots
        with ``Status=progressing`` and ``Tag.1.Key``, its TotalCount (one call, one page of 10)."""
        m = sdk_models()
        body = self._call("DescribeSnapshots", m.DescribeSnapshotsRequest(
            region_id=self.region, status="progressing", tag=[m.DescribeSnapshotsRequestTag(key=tag_key)], page_size=10))
        return int(body.get("TotalCount") or 0)

    def delete_snapshot(self, snapshot_id: str) -> bool:
        m = sdk_models()
        return self._gone_is_fine("DeleteSnapshot", m.DeleteSnapshotRequest(snapshot_id=snapshot_id, force=True),
                                  ("InvalidSnapshotId.NotFound",))

    # --- Cloud Assistant -----------------------------------------------------------------------
    def send_file(self, instance_id: str, name: str, target_dir: str, content_b64: str, token: str,
                  tags: Dict[str, str]) -> str:
        m = sdk_models()
        return self._call("SendFile", m.SendFileRequest(
            region_id=self.region, instance_id=[instance_id], name=name, target_dir=target_dir,
            content=content_b64, content_type="Base64", file_mode="0600", overwrite=True, timeout=120,
            client_token=token, tag=self._tags(m.SendFileRequestTag, tags)))["InvokeId"]

    def run_command(self, instance_id: str, name: str, content_b64: str, timeout: int, token: str,
                    tags: Dict[str, str]) -> str:
        m = sdk_models()
        return self._call("RunCommand", m.RunCommandRequest(
            region_id=self.region, instance_id=[instance_id], name=name, type="RunShellScript",
            command_content=content_b64, content_encoding="Base64", timeout=timeout, keep_command=False,
            client_token=token, tag=self._tags(m.RunCommandRequestTag, tags)))["InvokeId"]

    def invoke_command(self, instance_id: str, command_id: str, parameters: Dict[str, str], timeout: int,
                       token: str, tags: Dict[str, str]) -> str:
        m = sdk_models()
        return self._call("InvokeCommand", m.InvokeCommandRequest(
            region_id=self.region, instance_id=[instance_id], command_id=command_id, parameters=parameters,
            timeout=timeout, client_token=token, tag=self._tags(m.InvokeCommandRequestTag, tags)))["InvokeId"]

    def invocation_result(self, invoke_id: str, instance_id: str) -> Optional[dict]:
        m = sdk_models()
        body = self._call("DescribeInvocationResults", m.DescribeInvocationResultsRequest(
            region_id=self.region, invoke_id=invoke_id, instance_id=instance_id, content_encoding="Base64"))
        rows = body.get("Invocation", {}).get("InvocationResults", {}).get("InvocationResult", [])
        return rows[0] if rows else None

    # --- tags ----------------------------------------------------------------------------------
    def tagged(self, key: str, value: str, kinds: tuple = TAG_RESOURCE_TYPES) -> List[Tuple[str, str]]:
        """[(resource type, id)] of live resources carrying the tag ``key=value``."""
        m = sdk_models()
        found = []
        for kind in kinds:
            token = None
            while True:
                body = self._call("ListTagResources", m.ListTagResourcesRequest(
                    region_id=self.region, resource_type=kind, next_token=token,
                    tag=[m.ListTagResourcesRequestTag(key=key, value=value)]))
                for row in body.get("TagResources", {}).get("TagResource", []):
                    if row.get("TagKey") == key and row.get("TagValue") == value:
                        found.append((kind, row["ResourceId"]))
                token = body.get("NextToken") or None
                if not token:
                    break
        return sorted(set(found))

    def tag_resources(self, kind: str, ids: List[str], tags: Dict[str, str]) -> None:
        """TagResources on resources of one type (``instance``, ``disk``, ``snapshot``, ``image``),
        up to TAG_BATCH ids a call."""
        m = sdk_models()
        for start in range(0, len(ids), TAG_BATCH):
            self._call("TagResources", m.TagResourcesRequest(
                region_id=self.region, resource_type=kind, resource_id=ids[start:start + TAG_BATCH],
                tag=self._tags(m.TagResourcesRequestTag, tags)))

    def _gone_is_fine(self, action: str, request, gone_codes: tuple) -> bool:
        try:
            self._call(action, request)
            return True
        except CloudError as error:
            if error.code in gone_codes:
                return False
            raise


def _snake(action: str) -> str:
    out = []
    for i, ch in enumerate(action):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def ecs_port(settings, region: Optional[str] = None, endpoint: Optional[str] = None, keys=None) -> EcsPort:
    """A port with the SDK credential chain (cloud_config.py: in Function Compute, the
    function's role) and the SDK's endpoint for the region (``region``, else the settings');
    ``endpoint`` or the settings' ``IMAGE_REPAIR_ECS_ENDPOINT`` (``host:port``, plain HTTP on
    loopback) points it at an emulator."""
    from alibabacloud_ecs20140526.client import Client    # lazy: the SDK, only for a function that calls ECS
    region = region or settings.region()
    endpoint = endpoint or settings.ecs_endpoint
    return EcsPort(Client(sdk_config(region, endpoint, keys)), region)
