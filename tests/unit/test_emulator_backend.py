"""The emulator's backend without HTTP: transitions on the virtual clock, ClientToken, faults,
call log, seeds and latency models."""
import json

import pytest

from image_repair.emulator import ApiError, LatencyModel, build_backend
from image_repair.emulator.resources import CheckItem
from image_repair.emulator.seed import DEFAULT_SEED, apply_seed, load_seed_file

R = "cn-hangzhou"
BASE = "aliyun_3_x64_20G_alibase_20250629.vhd"
BROKEN = "m-bp1emulatorbrokenimg01"
SNAP = "s-bp1emulatorbroken0001"
LAUNCH = {"RegionId": R, "ImageId": BASE, "InstanceType": "ecs.g7.large",
          "VSwitchId": "vsw-bp1emulator00000000h", "SecurityGroupId": "sg-bp1emulator0000000000",
          "DataDisk.1.SnapshotId": SNAP}


def launch(backend, **extra):
    body = backend.handle("RunInstances", dict(LAUNCH, **extra)).body
    return body["InstanceIdSets"]["InstanceIdSet"][0]


def status(backend, instance_id):
    body = backend.handle("DescribeInstances", {"RegionId": R, "InstanceIds": json.dumps([instance_id])}).body
    return body["Instances"]["Instance"][0]["Status"]


def data_disk(backend, instance_id):
    body = backend.handle("DescribeDisks", {"RegionId": R, "InstanceId": instance_id, "DiskType": "data"}).body
    return body["Disks"]["Disk"][0]


@pytest.fixture
def manual():
    return build_backend(latency=LatencyModel.named("manual"))


def test_instance_and_disk_walk_their_lifecycles_on_the_clock(manual):
    instance_id = launch(manual)
    assert status(manual, instance_id) == "Pending"
    assert data_disk(manual, instance_id)["Status"] == "Creating"
    manual.advance(5)
    assert status(manual, instance_id) == "Starting"
    assert data_disk(manual, instance_id)["Status"] == "In_use"
    manual.advance(24.9)
    assert status(manual, instance_id) == "Starting"
    manual.advance(0.2)
    assert status(manual, instance_id) == "Running"
    manual.handle("RebootInstance", {"InstanceId": instance_id})
    assert status(manual, instance_id) == "Stopping"
    manual.advance(10)
    assert status(manual, instance_id) == "Starting"
    manual.advance(20)
    assert status(manual, instance_id) == "Running"


def test_snapshot_progress_follows_disk_size(manual):
    instance_id = launch(manual)
    manual.advance(30)
    disk = data_disk(manual, instance_id)
    snap_id = manual.handle("CreateSnapshot", {"DiskId": disk["DiskId"]}).body["SnapshotId"]
    expected = manual.latency.snapshot_seconds(disk["Size"])
    assert expected == pytest.approx(20 + 20 * 1024 / 100.0)
    manual.advance(expected / 2)
    snap = manual.handle("DescribeSnapshots", {"RegionId": R, "SnapshotIds": json.dumps([snap_id])}).body
    shape = snap["Snapshots"]["Snapshot"][0]
    assert shape["Status"] == "progressing" and shape["Progress"] in ("48%", "49%", "50%")
    assert shape["RemainTime"] == pytest.approx(expected / 2, abs=1)
    manual.advance(expected / 2)
    snap = manual.handle("DescribeSnapshots", {"RegionId": R, "SnapshotIds": json.dumps([snap_id])}).body
    assert snap["Snapshots"]["Snapshot"][0]["Status"] == "accomplished"


def test_image_creation_then_check_uses_the_detector(manual):
    manual.detector = lambda backend, image: [CheckItem("GUESTOS.Virtio", "UnSupported", "High", "Virtio.NotInstalled")]
    image_id = manual.handle("CreateImage", {"RegionId": R, "SnapshotId": SNAP, "DetectionStrategy": "Standard",
                                             "Platform": "CentOS"}).body["ImageId"]

    def image():
        return manual.handle("DescribeImages", {"RegionId": R, "ImageId": image_id}).body["Images"]["Image"][0]
    assert image()["Status"] == "Creating" and image()["DetectionOptions"] == {}
    manual.advance(manual.latency.image_seconds(20))
    assert image()["Status"] == "Available"
    assert image()["DetectionOptions"] == {"Status": "Processing", "Items": {"Item": []}}
    manual.advance(manual.latency.image_check)
    detection = image()["DetectionOptions"]
    assert detection["Status"] == "Finished"
    assert detection["Items"]["Item"] == [{"Name": "GUESTOS.Virtio", "Value": "UnSupported",
                                           "RiskLevel": "High", "RiskCode": "Virtio.NotInstalled"}]
    # Without DescribeImages' ImageId, only Available images are listed by default.
    names = [i["ImageId"] for i in manual.handle("DescribeImages", {"RegionId": R, "PageSize": "50"}).body["Images"]["Image"]]
    assert image_id in names


def test_client_token_returns_the_first_result_and_refuses_other_parameters():
    backend = build_backend()
    first = launch(backend, ClientToken="token-1")
    assert launch(backend, ClientToken="token-1") == first
    assert len(backend.instances) == 1
    with pytest.raises(ApiError) as err:
        launch(backend, ClientToken="token-1", InstanceName="other")
    assert err.value.code == "IdempotentParameterMismatch" and err.value.status == 400
    with pytest.raises(ApiError) as err:
        launch(backend, ClientToken="x" * 65)
    assert err.value.code == "InvalidClientToken.ValueNotSupported"
    assert launch(backend, ClientToken="x" * 64) != first


def test_fail_next_injects_errors_without_committing():
    backend = build_backend()
    backend.faults.fail_next("RunInstances", "QuotaExceed.ElasticQuota", times=2)
    for _ in range(2):
        with pytest.raises(ApiError) as err:
            launch(backend)
        assert err.value.code == "QuotaExceed.ElasticQuota" and err.value.status == 403
    assert not backend.instances
    launch(backend)
    assert len(backend.instances) == 1
    assert [c.error_code for c in backend.calls] == ["QuotaExceed.ElasticQuota"] * 2 + [None]


def test_lost_response_is_committed():
    backend = build_backend()
    backend.faults.lose_response("CreateImage", mode="error")
    result = backend.handle("CreateImage", {"RegionId": R, "SnapshotId": SNAP, "ClientToken": "t"})
    assert result.lost == "error"
    assert result.body["ImageId"] in backend.images
    again = backend.handle("CreateImage", {"RegionId": R, "SnapshotId": SNAP, "ClientToken": "t"})
    assert again.lost is None and again.body["ImageId"] == result.body["ImageId"]


def test_stuck_resource_never_leaves_its_status(manual):
    instance_id = launch(manual)
    manual.faults.stick(instance_id, "Starting")
    manual.advance(3600)
    assert status(manual, instance_id) == "Starting"
    assert data_disk(manual, instance_id)["Status"] == "In_use"


def test_failing_and_timing_out_commands():
    backend = build_backend()
    instance_id = launch(backend)
    backend.faults.fail_command("false-marker", exit_code=3, output="boom")
    backend.faults.timeout_command("sleep-marker")
    runs = {}
    for marker in ("false-marker", "sleep-marker", "true"):
        invoke_id = backend.handle("RunCommand", {"RegionId": R, "Type": "RunShellScript", "CommandContent": "echo " + marker,
                                                  "InstanceId.1": instance_id}).body["InvokeId"]
        body = backend.handle("DescribeInvocationResults", {"RegionId": R, "InvokeId": invoke_id,
                                                            "ContentEncoding": "PlainText"}).body
        runs[marker] = body["Invocation"]["InvocationResults"]["InvocationResult"][0]
    assert (runs["false-marker"]["InvocationStatus"], runs["false-marker"]["ExitCode"],
            runs["false-marker"]["ErrorCode"], runs["false-marker"]["Output"]) == ("Failed", 3, "ExitCodeNonzero", "boom")
    assert (runs["sleep-marker"]["InvocationStatus"], runs["sleep-marker"]["ErrorCode"]) == ("Timeout", "ExecutionTimeout")
    assert runs["true"]["InvocationStatus"] == "Success" and runs["true"]["InvokeRecordStatus"] == "Finished"


def test_call_log_and_tag_inspection():
    backend = build_backend()
    instance_id = launch(backend, **{"Tag.1.Key": "owner", "Tag.1.Value": "ci"})
    assert backend.call_counts()["RunInstances"] == 1
    kinds = sorted(kind for kind, _ in backend.resources_by_tag("owner", "ci"))
    assert kinds == ["disk", "disk", "instance"]
    assert ("instance", instance_id) in backend.resources_by_tag("owner")
    assert backend.resources_by_tag("owner", "other") == []


def test_unknown_action_fails_loudly():
    backend = build_backend()
    with pytest.raises(ApiError) as err:
        backend.handle("DescribeRegions", {})
    assert (err.value.code, err.value.status) == ("InvalidAction.NotFound", 404)
    with pytest.raises(ApiError):
        backend.handle("settle", {})  # helpers are not actions


def test_seed_file_yaml_and_json(tmp_path):
    import yaml
    seed = json.loads(json.dumps(DEFAULT_SEED))
    seed["images"][2]["name"] = "from-file"
    (tmp_path / "seed.yaml").write_text(yaml.safe_dump(seed))
    (tmp_path / "seed.json").write_text(json.dumps(seed))
    for name in ("seed.yaml", "seed.json"):
        backend = build_backend(load_seed_file(str(tmp_path / name)))
        assert backend.images[BROKEN].name == "from-file"
        assert backend.snapshots[SNAP].status == "accomplished"
    with pytest.raises(ValueError, match="unknown seed keys"):
        apply_seed(build_backend(), {"imagez": []})


def test_latency_models():
    assert LatencyModel.named("immediate").delete_protection == 0
    assert LatencyModel.named("manual").speed == 0
    assert LatencyModel.named("fast").speed == 600
    model = LatencyModel.from_dict({"model": "fast", "image_check": 10})
    assert (model.speed, model.image_check) == (600, 10.0)
    with pytest.raises(ValueError):
        LatencyModel.from_dict({"boot_time": 1})
    with pytest.raises(ValueError):
        LatencyModel.named("slow")


def test_reset_returns_to_the_seeded_state():
    backend = build_backend()
    launch(backend, ClientToken="t")
    backend.handle("DeleteImage", {"RegionId": R, "ImageId": BROKEN})
    backend.faults.fail_next("DescribeImages", "InternalError")
    backend.reset()
    assert not backend.instances and not backend.disks and not backend.calls
    assert BROKEN in backend.images and SNAP in backend.snapshots
    backend.handle("DescribeImages", {"RegionId": R})  # the injected fault is gone
    assert launch(backend, ClientToken="t") in backend.instances


def test_progress_steps_stuck_and_held():
    from image_repair.emulator.clock import Progress
    progress = Progress("", 0.0)
    progress.schedule(100.0, "instance.create", [5.0, 25.0])
    seen = []
    assert progress.settle(104.9, seen.append) == [] and progress.status == "Pending"
    progress.held = True
    assert progress.settle(200.0) == [] and progress.status == "Pending"
    progress.held = False
    progress.stuck_in = "Starting"
    assert progress.settle(200.0, seen.append) == ["Starting"] and seen == ["Starting"]
    progress.stuck_in = None
    assert progress.settle(200.0) == ["Running"] and progress.since == 130.0 and progress.fraction(200.0) == 1.0
    with pytest.raises(ValueError):
        progress.schedule(0.0, "instance.create", [1.0])
