"""Each emulated action through the real alibabacloud_ecs20140526 client (in-process, mock_ecs):
happy path, validation errors with their real codes and statuses, limits, ClientToken, faults."""
import base64
import contextlib
import json
import time

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from darabonba.runtime import RuntimeOptions

from image_repair.testing import ecs_client, mock_ecs

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"
BASE = "aliyun_3_x64_20G_alibase_20250629.vhd"
BROKEN = "m-bp1emulatorbrokenimg01"
SNAP = "s-bp1emulatorbroken0001"
VSW, SG = "vsw-bp1emulator00000000h", "sg-bp1emulator0000000000"


@pytest.fixture
def make():
    """``make(latency) -> (backend, client)``: in-process here; tests/integration/
    test_emulator_actions_http.py runs these same tests with a factory serving over HTTP."""
    stack = contextlib.ExitStack()

    def factory(latency="immediate"):
        backend = stack.enter_context(mock_ecs(latency=latency))
        return backend, ecs_client(backend)
    yield factory
    stack.close()


@pytest.fixture
def ecs_and_client(make):
    return make()


@pytest.fixture
def ecs(ecs_and_client):
    return ecs_and_client[0]


@pytest.fixture
def client(ecs_and_client):
    return ecs_and_client[1]


def fails(code, status, call, *args):
    with pytest.raises((ClientException, ServerException)) as err:
        call(*args, RT)
    assert (err.value.code, err.value.status_code) == (code, status), err.value
    return err.value


def launch_request(**extra):
    fields = dict(region_id=R, image_id=BASE, instance_type="ecs.g7.large", v_switch_id=VSW, security_group_id=SG,
                  data_disk=[m.RunInstancesRequestDataDisk(snapshot_id=SNAP, category="cloud_essd")])
    fields.update(extra)
    return m.RunInstancesRequest(**fields)


def launch(client, **extra):
    return client.run_instances_with_options(launch_request(**extra), RT).body.instance_id_sets.instance_id_set[0]


def data_disk(client, instance_id):
    return client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=R, instance_id=instance_id, disk_type="data"), RT).body.disks.disk[0]


# --- images -------------------------------------------------------------------------------------
def test_describe_images_filters_and_detection_options(client):
    body = client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, image_id=BROKEN), RT).body
    image = body.images.image[0]
    assert (image.image_id, image.platform, image.status, image.image_owner_alias) == (BROKEN, "CentOS", "Available", "self")
    assert [d.type for d in image.disk_device_mappings.disk_device_mapping] == ["system", "data"]
    risky = {i.name: (i.risk_level, i.risk_code) for i in image.detection_options.items.item if i.risk_level}
    assert risky["GUESTOS.Nvme"] == ("High", "NVMe.NotInstallded")
    assert image.detection_options.status == "Finished"
    self_images = client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, image_owner_alias="self"), RT).body
    assert [i.image_id for i in self_images.images.image] == [BROKEN]
    arm = client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, architecture="arm64"), RT).body
    assert arm.total_count == 1
    none = client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, image_id="m-nothing"), RT).body
    assert none.total_count == 0 and none.images.image == []
    fails("MissingParameter", 400, client.describe_images_with_options, m.DescribeImagesRequest())
    fails("InvalidParameter", 400, client.describe_images_with_options,
          m.DescribeImagesRequest(region_id=R, image_owner_alias="mine"))


def test_create_modify_delete_image(client):
    fails("InvalidSnapshotId.NotFound", 404, client.create_image_with_options,
          m.CreateImageRequest(region_id=R, snapshot_id="s-nothing"))
    fails("InvalidPlatform.Malformed", 400, client.create_image_with_options,
          m.CreateImageRequest(region_id=R, snapshot_id=SNAP, platform="Red Hat"))
    fails("MissingParameter", 400, client.create_image_with_options, m.CreateImageRequest(region_id=R))
    image_id = client.create_image_with_options(m.CreateImageRequest(
        region_id=R, snapshot_id=SNAP, image_name="repaired", platform="RedHat", architecture="x86_64",
        detection_strategy="Standard", tag=[m.CreateImageRequestTag(key="k", value="v")]), RT).body.image_id
    fails("InvalidImageName.Duplicated", 400, client.create_image_with_options,
          m.CreateImageRequest(region_id=R, snapshot_id=SNAP, image_name="repaired"))
    image = client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, image_id=image_id), RT).body.images.image[0]
    assert image.status == "Available" and image.detection_options.status == "Finished"
    assert image.tags.tag[0].tag_key == "k" and image.platform == "RedHat"
    client.modify_image_attribute_with_options(m.ModifyImageAttributeRequest(
        region_id=R, image_id=image_id, features=m.ModifyImageAttributeRequestFeatures(nvme_support="supported"),
        image_name="renamed"), RT)
    image = client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, image_id=image_id), RT).body.images.image[0]
    assert (image.features.nvme_support, image.image_name) == ("supported", "renamed")
    fails("InvalidImageId.NotFound", 404, client.modify_image_attribute_with_options,
          m.ModifyImageAttributeRequest(region_id=R, image_id=BASE))
    # A snapshot an image uses cannot be deleted until the image is.
    fails("SnapshotCreatedImage", 403, client.delete_snapshot_with_options, m.DeleteSnapshotRequest(snapshot_id=SNAP))
    client.delete_image_with_options(m.DeleteImageRequest(region_id=R, image_id=image_id), RT)
    client.delete_image_with_options(m.DeleteImageRequest(region_id=R, image_id=BROKEN), RT)
    client.delete_snapshot_with_options(m.DeleteSnapshotRequest(snapshot_id=SNAP), RT)
    fails("InvalidImageId.NotFound", 404, client.delete_image_with_options, m.DeleteImageRequest(region_id=R, image_id=image_id))
    fails("IncorrectImageStatus", 403, client.delete_image_with_options, m.DeleteImageRequest(region_id=R, image_id=BASE))


# --- instances ----------------------------------------------------------------------------------
def test_run_instances_validation(client):
    fails("InvalidImageId.NotFound", 404, client.run_instances_with_options, launch_request(image_id="m-nothing"))
    fails("InvalidVSwitchId.NotFound", 404, client.run_instances_with_options, launch_request(v_switch_id="vsw-x"))
    fails("InvalidSecurityGroupId.NotFound", 404, client.run_instances_with_options, launch_request(security_group_id="sg-x"))
    fails("InvalidInstanceType.ValueNotSupported", 400, client.run_instances_with_options, launch_request(instance_type="ecs.x"))
    fails("InvalidDataDiskSnapshotId.NotFound", 404, client.run_instances_with_options,
          launch_request(data_disk=[m.RunInstancesRequestDataDisk(snapshot_id="s-x")]))
    fails("InvalidDataDiskCategory.ValueNotSupported", 400, client.run_instances_with_options,
          launch_request(data_disk=[m.RunInstancesRequestDataDisk(snapshot_id=SNAP, category="floppy")]))
    fails("InvalidSystemDiskSize.LessThanImageSize", 404, client.run_instances_with_options,
          launch_request(system_disk=m.RunInstancesRequestSystemDisk(size=10)))
    fails("InvalidParameter.Mismatch", 400, client.run_instances_with_options, launch_request(zone_id="cn-hangzhou-i"))
    fails("InvalidZoneId.NotFound", 404, client.run_instances_with_options, launch_request(zone_id="cn-hangzhou-z"))
    fails("DryRunOperation", 400, client.run_instances_with_options, launch_request(dry_run=True))
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    fails("InvalidAutoReleaseTime.Malformed", 400, client.run_instances_with_options, launch_request(auto_release_time=soon))
    fails("InvalidAutoReleaseTime.Malformed", 400, client.run_instances_with_options, launch_request(auto_release_time="tomorrow"))
    tags = [m.RunInstancesRequestTag(key="k%d" % i, value="v") for i in range(21)]
    fails("InvalidTagCount", 400, client.run_instances_with_options, launch_request(tag=tags))
    fails("InvalidTagKey.Malformed", 400, client.run_instances_with_options,
          launch_request(tag=[m.RunInstancesRequestTag(key="acs:x", value="v")]))
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    instance_id = launch(client, auto_release_time=later, tag=tags[:20])
    instance = client.describe_instances_with_options(m.DescribeInstancesRequest(
        region_id=R, instance_ids=json.dumps([instance_id])), RT).body.instances.instance[0]
    assert instance.auto_release_time == later and len(instance.tags.tag) == 20


def test_describe_reboot_delete_instance(make):
    ecs, client = make("manual")
    instance_id = launch(client, instance_name="repair")
    disks = client.describe_disks_with_options(m.DescribeDisksRequest(region_id=R, instance_id=instance_id), RT).body
    assert sorted(d.type for d in disks.disks.disk) == ["data", "system"]
    fails("IncorrectInstanceStatus", 403, client.reboot_instance_with_options,
          m.RebootInstanceRequest(instance_id=instance_id))
    fails("IncorrectInstanceStatus.Initializing", 403, client.delete_instance_with_options,
          m.DeleteInstanceRequest(instance_id=instance_id, force=True))
    ecs.advance(30)
    running = client.describe_instances_with_options(m.DescribeInstancesRequest(region_id=R, status="Running"), RT).body
    assert [i.instance_id for i in running.instances.instance] == [instance_id]
    assert running.instances.instance[0].instance_name == "repair"
    fails("IncorrectInstanceStatus.Initializing", 403, client.delete_instance_with_options,
          m.DeleteInstanceRequest(instance_id=instance_id))
    ecs.advance(30)
    fails("IncorrectInstanceStatus", 403, client.delete_instance_with_options, m.DeleteInstanceRequest(instance_id=instance_id))
    client.reboot_instance_with_options(m.RebootInstanceRequest(instance_id=instance_id), RT)
    ecs.advance(30)
    client.delete_instance_with_options(m.DeleteInstanceRequest(instance_id=instance_id, force=True), RT)
    assert not ecs.instances and not ecs.disks  # DeleteWithInstance defaults to true
    fails("InvalidInstanceId.NotFound", 404, client.delete_instance_with_options, m.DeleteInstanceRequest(instance_id=instance_id))


def test_run_instances_client_token(client, ecs):
    first = launch(client, client_token="abc")
    assert launch(client, client_token="abc") == first
    fails("IdempotentParameterMismatch", 400, client.run_instances_with_options,
          launch_request(client_token="abc", instance_name="other"))
    fails("InvalidClientToken.ValueNotSupported", 400, client.run_instances_with_options, launch_request(client_token="t" * 65))
    assert len(ecs.instances) == 1


def test_injected_errors(client, ecs):
    ecs.faults.fail_next("RunInstances", "Throttling.User")
    ecs.faults.fail_next("DescribeInstances", "ServiceUnavailable")
    ecs.faults.fail_next("DescribeDisks", "InternalError")
    fails("Throttling.User", 400, client.run_instances_with_options, launch_request())
    fails("ServiceUnavailable", 503, client.describe_instances_with_options, m.DescribeInstancesRequest(region_id=R))
    fails("InternalError", 500, client.describe_disks_with_options, m.DescribeDisksRequest(region_id=R))
    assert not ecs.instances
    launch(client)
    assert len(ecs.instances) == 1


def test_lost_response_then_retry_with_token_finds_the_committed_instance(client, ecs):
    ecs.faults.lose_response("RunInstances", mode="timeout")
    with pytest.raises(Exception) as err:
        launch(client, client_token="once")
    assert not isinstance(err.value, (ClientException, ServerException))  # a transport failure
    assert len(ecs.instances) == 1
    ecs.faults.lose_response("RunInstances", mode="error")
    fails("InternalError", 500, client.run_instances_with_options, launch_request(client_token="once"))
    instance_id = launch(client, client_token="once")
    assert list(ecs.instances) == [instance_id]


# --- disks and snapshots ------------------------------------------------------------------------
def test_describe_disks_data_disk_serial(client):
    instance_id = launch(client)
    disk = data_disk(client, instance_id)
    assert disk.serial_number == disk.disk_id[2:] and disk.source_snapshot_id == SNAP
    assert (disk.status, disk.type, disk.instance_id, disk.category) == ("In_use", "data", instance_id, "cloud_essd")
    assert disk.attachments.attachment[0].instance_id == instance_id
    by_snapshot = client.describe_disks_with_options(m.DescribeDisksRequest(region_id=R, snapshot_id=SNAP), RT).body
    assert by_snapshot.total_count == 1
    fails("InvalidParameter", 400, client.describe_disks_with_options, m.DescribeDisksRequest(region_id=R, disk_type="root"))


def test_snapshot_rules(make):
    ecs, client = make("manual")
    instance_id = launch(client)
    disk = data_disk(client, instance_id)
    fails("IncorrectDiskStatus", 403, client.create_snapshot_with_options, m.CreateSnapshotRequest(disk_id=disk.disk_id))
    ecs.advance(5)
    fails("IncorrectInstanceStatus", 403, client.create_snapshot_with_options, m.CreateSnapshotRequest(disk_id=disk.disk_id))
    ecs.advance(25)
    fails("InvalidDiskId.NotFound", 404, client.create_snapshot_with_options, m.CreateSnapshotRequest(disk_id="d-x"))
    fails("InvalidRetentionDays", 400, client.create_snapshot_with_options,
          m.CreateSnapshotRequest(disk_id=disk.disk_id, retention_days=0))
    snap_id = client.create_snapshot_with_options(m.CreateSnapshotRequest(
        disk_id=disk.disk_id, snapshot_name="s", retention_days=1, client_token="snap"), RT).body.snapshot_id
    assert client.create_snapshot_with_options(m.CreateSnapshotRequest(
        disk_id=disk.disk_id, snapshot_name="s", retention_days=1, client_token="snap"), RT).body.snapshot_id == snap_id
    fails("IncorrectDiskStatus.CreatingSnapshot", 400, client.create_snapshot_with_options,
          m.CreateSnapshotRequest(disk_id=disk.disk_id))
    fails("InvalidSnapshotId.NotReady", 403, client.create_image_with_options,
          m.CreateImageRequest(region_id=R, snapshot_id=snap_id))
    snap = client.describe_snapshots_with_options(m.DescribeSnapshotsRequest(
        region_id=R, disk_id=disk.disk_id), RT).body.snapshots.snapshot[0]
    assert (snap.status, snap.progress, snap.source_disk_type, snap.retention_days) == ("progressing", "0%", "Data", 1)
    ecs.advance(ecs.latency.snapshot_seconds(disk.size))
    snap = client.describe_snapshots_with_options(m.DescribeSnapshotsRequest(
        region_id=R, snapshot_ids=json.dumps([snap_id]), status="accomplished"), RT).body.snapshots.snapshot[0]
    assert (snap.progress, snap.available, snap.usage) == ("100%", True, "none")
    fails("SnapshotCreatedImage", 403, client.delete_snapshot_with_options, m.DeleteSnapshotRequest(snapshot_id=SNAP))
    # A snapshot that backs a disk needs Force; a deleted snapshot is ignored afterwards.
    launch(client, data_disk=[m.RunInstancesRequestDataDisk(snapshot_id=snap_id)])
    fails("SnapshotCreatedDisk", 403, client.delete_snapshot_with_options, m.DeleteSnapshotRequest(snapshot_id=snap_id))
    client.delete_snapshot_with_options(m.DeleteSnapshotRequest(snapshot_id=snap_id, force=True), RT)
    client.delete_snapshot_with_options(m.DeleteSnapshotRequest(snapshot_id=snap_id), RT)
    assert snap_id not in ecs.snapshots


def disk_by_id(client, disk_id):
    return client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=R, disk_ids=json.dumps([disk_id])), RT).body.disks.disk[0]


def test_a_disk_kept_past_its_instance_is_detached_snapshotted_and_deleted(make):
    """ModifyDiskAttribute(DeleteWithInstance=false), then DeleteInstance: the disk walks Detaching ->
    Available, is snapshotted off any instance, and DeleteDisk takes it once no snapshot of it is in
    progress; each refusal with its documented code."""
    ecs, client = make("manual")
    instance_id = launch(client)
    disk = data_disk(client, instance_id)
    ecs.advance(60)
    modify = client.modify_disk_attribute_with_options
    fails("MissingParameter.DiskIdOrDiskIds", 400, modify, m.ModifyDiskAttributeRequest(region_id=R,
                                                                                        delete_with_instance=False))
    fails("ParameterConflict.DiskIdAndDiskIds", 400, modify, m.ModifyDiskAttributeRequest(
        region_id=R, disk_id=disk.disk_id, disk_ids=[disk.disk_id], delete_with_instance=False))
    fails("NoAttributeToModify", 400, modify, m.ModifyDiskAttributeRequest(region_id=R, disk_id=disk.disk_id))
    fails("InvalidDiskId.NotFound", 404, modify, m.ModifyDiskAttributeRequest(region_id=R, disk_id="d-x",
                                                                              delete_with_instance=False))
    fails("IncorrectDiskStatus", 403, client.delete_disk_with_options, m.DeleteDiskRequest(disk_id=disk.disk_id))
    modify(m.ModifyDiskAttributeRequest(region_id=R, disk_ids=[disk.disk_id], delete_with_instance=False), RT)
    assert data_disk(client, instance_id).delete_with_instance is False
    client.delete_instance_with_options(m.DeleteInstanceRequest(instance_id=instance_id, force=True), RT)
    kept = disk_by_id(client, disk.disk_id)
    assert (kept.status, kept.attachments.attachment) == ("Detaching", [])
    fails("IncorrectDiskStatus", 403, client.delete_disk_with_options, m.DeleteDiskRequest(disk_id=disk.disk_id))
    fails("IncorrectDiskStatus", 403, client.create_snapshot_with_options, m.CreateSnapshotRequest(disk_id=disk.disk_id))
    ecs.advance(ecs.latency.disk_detach)
    kept = disk_by_id(client, disk.disk_id)
    assert (kept.status, kept.instance_id, kept.device) == ("Available", "", "") and kept.detached_time
    snap_id = client.create_snapshot_with_options(m.CreateSnapshotRequest(disk_id=disk.disk_id), RT).body.snapshot_id
    fails("DiskCreatingSnapshot", 403, client.delete_disk_with_options, m.DeleteDiskRequest(disk_id=disk.disk_id))
    ecs.advance(ecs.latency.snapshot_seconds(disk.size))
    client.delete_disk_with_options(m.DeleteDiskRequest(disk_id=disk.disk_id), RT)
    assert disk.disk_id not in ecs.disks and ecs.snapshots[snap_id].status == "accomplished"
    fails("InvalidDiskId.NotFound", 404, client.delete_disk_with_options, m.DeleteDiskRequest(disk_id=disk.disk_id))


def test_detach_disk_rules(make):
    ecs, client = make("manual")
    instance_id, other = launch(client), launch(client)
    disk = data_disk(client, instance_id)
    system = client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=R, instance_id=instance_id, disk_type="system"), RT).body.disks.disk[0]
    detach = client.detach_disk_with_options
    fails("IncorrectDiskStatus", 403, detach, m.DetachDiskRequest(instance_id=instance_id, disk_id=disk.disk_id))
    ecs.advance(5)          # the disk In_use, its instance Starting
    fails("IncorrectInstanceStatus", 403, detach, m.DetachDiskRequest(instance_id=instance_id, disk_id=disk.disk_id))
    ecs.advance(25)
    fails("DependencyViolation", 403, detach, m.DetachDiskRequest(instance_id=other, disk_id=disk.disk_id))
    fails("IncorrectInstanceStatus", 403, detach, m.DetachDiskRequest(instance_id=instance_id, disk_id=system.disk_id))
    fails("InvalidDiskId.NotFound", 404, detach, m.DetachDiskRequest(instance_id=instance_id, disk_id="d-x"))
    fails("InvalidInstanceId.NotFound", 404, detach, m.DetachDiskRequest(instance_id="i-x", disk_id=disk.disk_id))
    detach(m.DetachDiskRequest(instance_id=instance_id, disk_id=disk.disk_id), RT)
    assert disk_by_id(client, disk.disk_id).status == "Detaching"
    fails("IncorrectDiskStatus", 403, detach, m.DetachDiskRequest(instance_id=instance_id, disk_id=disk.disk_id))
    ecs.advance(ecs.latency.disk_detach)
    detached = disk_by_id(client, disk.disk_id)
    assert (detached.status, detached.instance_id, detached.delete_with_instance) == ("Available", "", False)
    fails("InvalidDisk.AlreadyDetached", 404, detach, m.DetachDiskRequest(instance_id=instance_id, disk_id=disk.disk_id))
    ecs.advance(30)
    client.delete_instance_with_options(m.DeleteInstanceRequest(instance_id=instance_id, force=True), RT)
    assert disk.disk_id in ecs.disks and system.disk_id not in ecs.disks      # a detached disk stays


# --- Cloud Assistant ----------------------------------------------------------------------------
def test_cloud_assistant_status(client, ecs):
    instance_id = launch(client)
    other = launch(client)
    ecs.faults.cloud_assistant_down(other)
    body = client.describe_cloud_assistant_status_with_options(m.DescribeCloudAssistantStatusRequest(
        region_id=R, instance_id=[instance_id, other]), RT).body
    status = {s.instance_id: s.cloud_assistant_status for s in body.instance_cloud_assistant_status_set.instance_cloud_assistant_status}
    assert status == {instance_id: "true", other: "false"}
    invoke_id = client.run_command_with_options(m.RunCommandRequest(region_id=R, type="RunShellScript",
                                                                    command_content="id", instance_id=[other]), RT).body.invoke_id
    result = client.describe_invocation_results_with_options(m.DescribeInvocationResultsRequest(
        region_id=R, invoke_id=invoke_id), RT).body.invocation.invocation_results.invocation_result[0]
    assert (result.invocation_status, result.error_code) == ("Failed", "ClientNotRunning")


def test_run_command_limits_and_parameters(client, ecs):
    instance_id = launch(client)
    run = client.run_command_with_options
    big = "x" * (18 * 1024)  # 24 KB after base64
    fails("CmdContent.ExceedLimit", 403, run, m.RunCommandRequest(region_id=R, type="RunShellScript",
                                                                  command_content=big + "x" * 10, instance_id=[instance_id]))
    fails("CmdContent.ExceedLimit", 403, run, m.RunCommandRequest(region_id=R, type="RunShellScript", keep_command=True,
                                                                  command_content="x" * (14 * 1024), instance_id=[instance_id]))
    fails("InvalidInstance.NotFound", 404, run, m.RunCommandRequest(region_id=R, type="RunShellScript",
                                                                    command_content="id", instance_id=["i-x"]))
    fails("InvalidParameter", 400, run, m.RunCommandRequest(region_id=R, type="Bash", command_content="id", instance_id=[instance_id]))
    fails("InvalidTimeout", 400, run, m.RunCommandRequest(region_id=R, type="RunShellScript", command_content="id",
                                                          instance_id=[instance_id], timeout=5))
    fails("Parameter.NotMatched", 403, run, m.RunCommandRequest(
        region_id=R, type="RunShellScript", command_content="echo {{a}}", enable_parameter=True,
        parameters={"b": "1"}, instance_id=[instance_id]))
    fails("Parameter.Disabled", 400, run, m.RunCommandRequest(
        region_id=R, type="RunShellScript", command_content="echo {{a}}", parameters={"a": "1"}, instance_id=[instance_id]))
    fails("InstanceIds.ExceedLimit", 403, run, m.RunCommandRequest(
        region_id=R, type="RunShellScript", command_content="id", instance_id=[instance_id] * 101))
    fails("InvalidClientToken.Malformed", 400, run, m.RunCommandRequest(
        region_id=R, type="RunShellScript", command_content="id", instance_id=[instance_id], client_token="t" * 65))
    run(m.RunCommandRequest(region_id=R, type="RunShellScript", command_content="id", instance_id=[instance_id],
                            client_token="rc"), RT)
    fails("IdempotentParameterMismatch", 403, run, m.RunCommandRequest(
        region_id=R, type="RunShellScript", command_content="id -u", instance_id=[instance_id], client_token="rc"))
    fails("ParameterCount.ExceedLimit", 403, run, m.RunCommandRequest(
        region_id=R, type="RunShellScript", command_content="echo", enable_parameter=True,
        parameters={"p%d" % i: "1" for i in range(11)}, instance_id=[instance_id]))
    body = run(m.RunCommandRequest(region_id=R, type="RunShellScript", command_content=base64.b64encode(b"echo {{a}}").decode(),
                                   content_encoding="Base64", enable_parameter=True, parameters={"a": "it's \"quoted\""},
                                   instance_id=[instance_id], keep_command=True, name="echo-a"), RT).body
    assert body.command_id.startswith("c-") and body.invoke_id.startswith("t-")
    invocation = client.describe_invocations_with_options(m.DescribeInvocationsRequest(
        region_id=R, invoke_id=body.invoke_id, content_encoding="PlainText", include_output=True), RT).body.invocations.invocation[0]
    assert invocation.command_content == "echo it's \"quoted\"" and json.loads(invocation.parameters) == {"a": "it's \"quoted\""}
    assert invocation.invocation_status == "Success"
    assert invocation.invoke_instances.invoke_instance[0].instance_id == instance_id
    # KeepCommand makes it invocable by ID.
    again = client.invoke_command_with_options(m.InvokeCommandRequest(
        region_id=R, command_id=body.command_id, instance_id=[instance_id], parameters={"a": "2"}), RT).body
    assert again.invoke_id != body.invoke_id


def test_invoke_public_command_by_name(client, ecs):
    instance_id = launch(client)
    invoke = client.invoke_command_with_options
    fails("InvalidCmdId.NotFound", 404, invoke, m.InvokeCommandRequest(region_id=R, command_id="c-x", instance_id=[instance_id]))
    fails("Parameter.MissingValue", 400, invoke, m.InvokeCommandRequest(
        region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[instance_id], parameters={"repairitems": "all"}))
    fails("Parameter.NotMatched", 403, invoke, m.InvokeCommandRequest(
        region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[instance_id],
        parameters={"repairitems": "all", "disk_serial": "s", "extra": "x"}))
    fails("CmdContent.ExceedLimit", 403, invoke, m.InvokeCommandRequest(
        region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[instance_id],
        parameters={"repairitems": "x" * 14000, "disk_serial": "s"}))
    fails("InvalidTimeout", 400, invoke, m.InvokeCommandRequest(
        region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[instance_id],
        parameters={"repairitems": "all", "disk_serial": "s"}, timeout=9))
    invoke_id = invoke(m.InvokeCommandRequest(
        region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[instance_id],
        parameters={"repairitems": "virtio nvme", "disk_serial": "bp1serial"}, client_token="inv"), RT).body.invoke_id
    result = client.describe_invocation_results_with_options(m.DescribeInvocationResultsRequest(
        region_id=R, invoke_id=invoke_id), RT).body.invocation.invocation_results.invocation_result[0]
    assert base64.b64decode(result.output) == b"repair finished\n"  # Base64 by default
    assert (result.exit_code, result.invoke_record_status) == (0, "Finished")
    content = client.describe_invocations_with_options(m.DescribeInvocationsRequest(
        region_id=R, invoke_id=invoke_id, content_encoding="PlainText"), RT).body.invocations.invocation[0].command_content
    assert "virtio nvme on disk serial bp1serial" in content
    fails("InvalidInvokeId.NotFound", 404, client.describe_invocation_results_with_options,
          m.DescribeInvocationResultsRequest(region_id=R, invoke_id="t-x"))


def test_send_file(client, ecs):
    instance_id = launch(client)
    fails("FileContent.ExceedLimit", 403, client.send_file_with_options, m.SendFileRequest(
        region_id=R, name="a", target_dir="/tmp", content="x" * (25 * 1024), instance_id=[instance_id]))
    fails("MissingParameter", 400, client.send_file_with_options, m.SendFileRequest(
        region_id=R, name="a", content="x", instance_id=[instance_id]))
    body = client.send_file_with_options(m.SendFileRequest(
        region_id=R, name="agent.pyz", target_dir="/root/", content=base64.b64encode(b"\x00zip").decode(),
        content_type="Base64", instance_id=[instance_id]), RT).body
    assert body.invoke_id.startswith("t-")
    assert ecs.instances[instance_id].files == {"/root/agent.pyz": b"\x00zip"}


def test_invocation_states_on_the_clock(make):
    ecs, client = make("manual")
    instance_id = launch(client)
    fails("InvalidInstance.NotRunning", 403, client.run_command_with_options, m.RunCommandRequest(
        region_id=R, type="RunShellScript", command_content="id", instance_id=[instance_id]))
    ecs.advance(30)
    invoke_id = client.invoke_command_with_options(m.InvokeCommandRequest(
        region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[instance_id],
        parameters={"repairitems": "all", "disk_serial": "s"}), RT).body.invoke_id

    def state():
        result = client.describe_invocation_results_with_options(m.DescribeInvocationResultsRequest(
            region_id=R, invoke_id=invoke_id), RT).body.invocation.invocation_results.invocation_result[0]
        return result.invocation_status
    assert state() == "Pending"
    ecs.advance(1)
    assert state() == "Running"
    ecs.advance(120)  # the seeded run time of the public command
    assert state() == "Success"


# --- tags -----------------------------------------------------------------------------------------
def test_tag_and_list_tag_resources(client, ecs):
    instance_id = launch(client)
    client.tag_resources_with_options(m.TagResourcesRequest(
        region_id=R, resource_type="instance", resource_id=[instance_id],
        tag=[m.TagResourcesRequestTag(key="team", value="repair")]), RT)
    listed = client.list_tag_resources_with_options(m.ListTagResourcesRequest(
        region_id=R, resource_type="instance", tag=[m.ListTagResourcesRequestTag(key="team", value="repair")]), RT).body
    assert [(r.resource_id, r.tag_key, r.tag_value) for r in listed.tag_resources.tag_resource] == [(instance_id, "team", "repair")]
    fails("InvalidResourceId.NotFound", 404, client.tag_resources_with_options, m.TagResourcesRequest(
        region_id=R, resource_type="instance", resource_id=["i-x"], tag=[m.TagResourcesRequestTag(key="a", value="b")]))
    fails("InvalidResourceType.NotFound", 404, client.tag_resources_with_options, m.TagResourcesRequest(
        region_id=R, resource_type="vpc", resource_id=[instance_id], tag=[m.TagResourcesRequestTag(key="a", value="b")]))
    fails("InvalidTagCount", 400, client.tag_resources_with_options, m.TagResourcesRequest(
        region_id=R, resource_type="instance", resource_id=[instance_id],
        tag=[m.TagResourcesRequestTag(key="k%d" % i, value="v") for i in range(20)]))
    assert ("instance", instance_id) in ecs.resources_by_tag("team", "repair")
