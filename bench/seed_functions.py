"""Bench-only functions for the seed template's reference flow
(state_machine/reference/acs_ecs_repair_image.yaml): each makes the seed task's own API call, with
the seed's own parameters and selectors (its defects included), through the real SDK.

Every function takes and returns the flow data ``{ctx, ready, attempt, waitSeconds}``: ``ctx``
holds the seed's task outputs so far (``{{ runInstances.instanceId }}`` is ``ctx.instanceId``).
A wait function answers ``ready=False`` with the seed's next delay (ACS::WaitFor Exponential:
Delay 2 s, BackOff 2) instead of sleeping; the flow's Wait states do the sleeping."""
import json
import time
from typing import Callable, Dict

from alibabacloud_ecs20140526 import models as m
from darabonba.runtime import RuntimeOptions

from image_repair.control.steps.common import PUBLIC_REPAIR_COMMAND

RUNTIME = RuntimeOptions(autoretry=False)
DELAY_S, BACKOFF = 2, 2            # the seed's untilInstanceReady: DelayType Exponential
MAX_FLOW_WAIT_S = 300              # a CloudFlow Wait is at most 300 s (never reached here)
SELINUX_COMMAND = "sed -i s/^SELINUX=.*/SELINUX=permissive/g /etc/selinux/config"

# The calls the seed's built-in OOS actions make beyond the one API call the replica makes for
# each: the actions are ordinary templates in github.com/aliyun/oos-templates,
# CloudProductActions/ECS/YAML/. ACS::ECS::RunCommand (at 49bfcbe) is CreateCommand, InvokeCommand,
# DescribeInvocations until Finished, DescribeInvocationResults, a CheckFor on the ExitCode (a second
# DescribeInvocationResults) and DeleteCommand, where the replica calls RunCommand once and reads the
# results once. ACS::ECS::CreateSnapshot (at 2b26dc6) calls DescribeDisks and waits on
# DescribeInstances for the disk's instance to be Running or Stopped before CreateSnapshot. These
# are counted, not timed: the replica assumes their waits pass at the first look (the seed's best
# case; that WaitFor's Constant 20 s delay comes before or after its first look is not documented).
ACTION_INTERNAL_CALLS = {"RunCommand": -1, "CreateCommand": 1, "InvokeCommand": 1, "DeleteCommand": 1,
                         "DescribeInvocationResults": 1, "DescribeDisks": 1, "DescribeInstances": 1}


def with_internal_calls(calls: Dict[str, int]) -> Dict[str, int]:
    """The replica's calls by action, plus what the seed's actions make inside (one repair that
    reached CreateSnapshot: every successful run does)."""
    counted = dict(calls)
    for action, extra in ACTION_INTERNAL_CALLS.items():
        counted[action] = counted.get(action, 0) + extra
    return {action: n for action, n in sorted(counted.items()) if n}


class SeedTaskFailed(Exception):
    """An ACS::CheckFor that saw a value it does not accept (the flow's Catch takes it)."""
    code = "SeedTaskFailed"


def exponential_delay(attempt: int) -> int:
    return int(min(MAX_FLOW_WAIT_S, DELAY_S * BACKOFF ** attempt))


def _answer(ctx: dict, ready: bool = True, attempt: int = 0) -> dict:
    return {"ctx": ctx, "ready": ready, "attempt": 0 if ready else attempt + 1,
            "waitSeconds": 0 if ready else exponential_delay(attempt)}


def seed_handlers(client, region: str) -> Dict[str, Callable]:
    """{function name in the reference flow: handler(event, context)} over ``client`` (an
    alibabacloud_ecs20140526 Client)."""

    def check_image(ctx: dict, attempt: int) -> dict:
        body = client.describe_images_with_options(m.DescribeImagesRequest(
            region_id=ctx["regionId"], image_id=ctx["repairImageId"]), RUNTIME).body.to_map()
        image = body["Images"]["Image"][0]
        items = ((image.get("DetectionOptions") or {}).get("Items") or {}).get("Item") or []
        if any(i.get("Name") == "SystemImage" and i.get("Value") == "Invalid" for i in items):
            raise SeedTaskFailed("SystemImage is Invalid")
        mapping0 = image["DiskDeviceMappings"]["DiskDeviceMapping"][0]     # the seed's [0], not Type=system
        ctx.update(architecture=image.get("Architecture"), snapshotId=mapping0["SnapshotId"],
                   imageName=image.get("ImageName"), osType=image.get("OSType"),
                   platform=image.get("Platform"), bootMode=image.get("BootMode"))
        return _answer(ctx)

    def run_instances(ctx: dict, attempt: int) -> dict:
        request = m.RunInstancesRequest(
            region_id=ctx["regionId"], amount=1, image_id=ctx["baseImageId"], instance_type=ctx["instanceType"],
            instance_name="image_repair_please_no_delete", security_group_id=ctx["securityGroupId"],
            v_switch_id=ctx["vSwitchId"], internet_max_bandwidth_in=200, internet_max_bandwidth_out=0,
            system_disk=m.RunInstancesRequestSystemDisk(category=ctx["systemDiskCategory"]),
            data_disk=[m.RunInstancesRequestDataDisk(snapshot_id=ctx["snapshotId"],
                                                     disk_name="image_repair_" + ctx["snapshotId"],
                                                     category=ctx["systemDiskCategory"])],
            instance_charge_type="PostPaid")
        body = client.run_instances_with_options(request, RUNTIME).body.to_map()
        ctx["instanceId"] = body["InstanceIdSets"]["InstanceIdSet"][0]
        return _answer(ctx)

    def instance_running(ctx: dict, attempt: int) -> dict:
        body = client.describe_instances_with_options(m.DescribeInstancesRequest(
            region_id=ctx["regionId"], instance_ids=json.dumps([ctx["instanceId"]])), RUNTIME).body.to_map()
        status = body["Instances"]["Instance"][0]["Status"]
        return _answer(ctx, status == "Running", attempt)

    def check_disk(ctx: dict, attempt: int) -> dict:
        body = client.describe_disks_with_options(m.DescribeDisksRequest(
            region_id=ctx["regionId"], instance_id=ctx["instanceId"]), RUNTIME).body.to_map()
        disk0 = body["Disks"]["Disk"][0]                                     # the seed's Disk[0]
        if disk0["Status"] != "In_use":
            raise SeedTaskFailed("Disk[0] is %s" % disk0["Status"])
        ctx.update(diskSN=disk0.get("SerialNumber"), diskId=disk0["DiskId"],
                   disk0IsDataDisk=disk0.get("Type") == "data")
        return _answer(ctx)

    def run_selinux_command(ctx: dict, attempt: int) -> dict:
        body = client.run_command_with_options(m.RunCommandRequest(
            region_id=ctx["regionId"], type="RunShellScript", command_content=SELINUX_COMMAND,
            instance_id=[ctx["instanceId"]]), RUNTIME).body.to_map()
        ctx["invokeId"] = body["InvokeId"]
        return _answer(ctx)

    def invocation_finished(ctx: dict, attempt: int) -> dict:
        body = client.describe_invocations_with_options(m.DescribeInvocationsRequest(
            region_id=ctx["regionId"], invoke_id=ctx["invokeId"]), RUNTIME).body.to_map()
        status = body["Invocations"]["Invocation"][0]["InvocationStatus"]
        if status in ("Pending", "Running", "Scheduled"):
            return _answer(ctx, False, attempt)
        results = client.describe_invocation_results_with_options(m.DescribeInvocationResultsRequest(
            region_id=ctx["regionId"], invoke_id=ctx["invokeId"]), RUNTIME).body.to_map()
        result = results["Invocation"]["InvocationResults"]["InvocationResult"][0]
        if status != "Success":
            raise SeedTaskFailed("invocation %s %s" % (ctx["invokeId"], status))
        ctx["invocationOutput"] = result.get("Output", "")[:200]
        return _answer(ctx)

    def reboot_instance(ctx: dict, attempt: int) -> dict:
        client.reboot_instance_with_options(m.RebootInstanceRequest(instance_id=ctx["instanceId"]), RUNTIME)
        return {"ctx": ctx, "ready": False, "attempt": 1, "waitSeconds": exponential_delay(0)}

    def invoke_repair_command(ctx: dict, attempt: int) -> dict:
        # the seed's Fn::Join: JSON built by string concatenation
        items = " ".join(ctx["repairItems"])
        parameters = '{"repairitems":' + '"' + items + '"' + ',"disk_serial":"' + str(ctx["diskSN"]) + '"}'
        body = client.invoke_command_with_options(m.InvokeCommandRequest(
            region_id=ctx["regionId"], command_id=PUBLIC_REPAIR_COMMAND, instance_id=[ctx["instanceId"]],
            parameters=json.loads(parameters)), RUNTIME).body.to_map()
        ctx["invokeId"] = body["InvokeId"]
        return _answer(ctx)

    def create_snapshot(ctx: dict, attempt: int) -> dict:
        body = client.create_snapshot_with_options(m.CreateSnapshotRequest(
            disk_id=ctx["diskId"], snapshot_name="image_repair_" + ctx["diskId"], retention_days=1),
            RUNTIME).body.to_map()
        ctx["newSnapshotId"] = body["SnapshotId"]
        return _answer(ctx)

    def snapshot_accomplished(ctx: dict, attempt: int) -> dict:
        body = client.describe_snapshots_with_options(m.DescribeSnapshotsRequest(
            region_id=ctx["regionId"], snapshot_ids=json.dumps([ctx["newSnapshotId"]])), RUNTIME).body.to_map()
        snapshot = body["Snapshots"]["Snapshot"][0]
        if snapshot["Status"] == "failed":
            raise SeedTaskFailed("snapshot failed")
        return _answer(ctx, snapshot["Status"] == "accomplished", attempt)

    def create_image(ctx: dict, attempt: int) -> dict:
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime())
        platform = {"Red Hat": "RedHat"}.get(ctx["platform"], ctx["platform"])
        body = client.create_image_with_options(m.CreateImageRequest(
            region_id=ctx["regionId"], snapshot_id=ctx["newSnapshotId"],
            image_name="_".join(["repaired", ctx["imageName"], stamp]), detection_strategy="Standard",
            platform=platform, boot_mode=ctx["bootMode"], architecture=ctx["architecture"]), RUNTIME).body.to_map()
        ctx["imageId"] = body["ImageId"]
        return _answer(ctx)

    def delete_snapshot(ctx: dict, attempt: int) -> dict:
        if ctx.get("newSnapshotId"):
            client.delete_snapshot_with_options(m.DeleteSnapshotRequest(
                snapshot_id=ctx["newSnapshotId"], force=True), RUNTIME)
        return _answer(ctx)

    def delete_instance(ctx: dict, attempt: int) -> dict:
        if ctx.get("instanceId"):
            client.delete_instance_with_options(m.DeleteInstanceRequest(
                instance_id=ctx["instanceId"], force=True), RUNTIME)
        return _answer(ctx)

    functions = {
        "bench-seed-check-image": check_image, "bench-seed-run-instances": run_instances,
        "bench-seed-instance-running": instance_running, "bench-seed-check-disk": check_disk,
        "bench-seed-run-selinux-command": run_selinux_command,
        "bench-seed-invocation-finished": invocation_finished, "bench-seed-reboot-instance": reboot_instance,
        "bench-seed-invoke-repair-command": invoke_repair_command, "bench-seed-create-snapshot": create_snapshot,
        "bench-seed-snapshot-accomplished": snapshot_accomplished, "bench-seed-create-image": create_image,
        "bench-seed-delete-snapshot": delete_snapshot, "bench-seed-delete-instance": delete_instance,
    }
    return {name: _as_handler(work) for name, work in functions.items()}


def _as_handler(work: Callable[[dict, int], dict]) -> Callable:
    def handler(event, context=None):
        data = json.loads(event) if isinstance(event, (bytes, bytearray, str)) else dict(event)
        return work(dict(data["ctx"]), int(data.get("attempt") or 0))
    handler.__name__ = work.__name__
    return handler
