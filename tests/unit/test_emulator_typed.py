"""The emulator's typed backend methods called directly (no wire, no Params), as tests and the
disk-backed mode call them; the wire functions around them give the same errors; every API
action has its typed method (adding an action = a typed method + a wire function)."""
import json
import re

import pytest

from image_repair.emulator import ApiError, LatencyModel, build_backend
from image_repair.emulator.backend import EcsBackend
from image_repair.emulator.dispatch import EcsResponses
from image_repair.emulator.models.images import MappingRequest
from image_repair.emulator.models.instances import DataDiskRequest

R = "cn-hangzhou"
BASE = "aliyun_3_x64_20G_alibase_20250629.vhd"
BROKEN = "m-bp1emulatorbrokenimg01"
SNAP = "s-bp1emulatorbroken0001"
VSW, SG = "vsw-bp1emulator00000000h", "sg-bp1emulator0000000000"
NETWORK = dict(instance_type="ecs.g7.large", vswitch_id=VSW, security_group_ids=[SG])


def code_of(call, *args, **kwargs):
    with pytest.raises(ApiError) as err:
        call(*args, **kwargs)
    return err.value.code, err.value.status


def snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def test_every_action_has_a_typed_method_of_its_name():
    actions = EcsResponses.actions()
    assert "RunInstances" in actions and "settle" not in actions
    for action in actions:
        assert callable(getattr(EcsBackend, snake(action), None)), "%s has no typed %s()" % (action, snake(action))


def test_run_instances_returns_instances_with_their_disks():
    backend = build_backend(latency=LatencyModel.named("manual"))
    instances = backend.run_instances(image_id=BASE, amount=2, instance_name="typed", tags={"team": "repair"},
                                      data_disks=[DataDiskRequest(snapshot_id=SNAP, category="cloud_essd")],
                                      **NETWORK)
    assert [inst.name for inst in instances] == ["typed", "typed"] and len({i.id for i in instances}) == 2
    first = instances[0]
    assert (first.status, first.zone, first.tags) == ("Pending", "cn-hangzhou-h", {"team": "repair"})
    disks = backend.describe_disks(instance_id=first.id)
    assert sorted((d.type, d.source_snapshot_id, d.status) for d in disks) == [
        ("data", SNAP, "Creating"), ("system", None, "Creating")]
    assert all(d.tags == {"team": "repair"} for d in disks)
    # The wire sees what the typed call made.
    body = backend.handle("DescribeInstances", {"RegionId": R, "InstanceIds": json.dumps([first.id])}).body
    assert body["Instances"]["Instance"][0]["InstanceName"] == "typed"


def test_a_typed_call_settles_first():
    """The clock moved without settling (clock.advance, not backend.advance): the typed describe
    brings statuses up to it before answering, as a call on the wire does."""
    backend = build_backend(latency=LatencyModel.named("manual"))
    [inst] = backend.run_instances(image_id=BASE, **NETWORK)
    backend.clock.advance(30)
    assert inst.progress.status == "Pending"  # nothing settled yet
    assert [i.status for i in backend.describe_instances(instance_ids=[inst.id])] == ["Running"]


def test_typed_and_wire_give_the_same_errors():
    backend = build_backend(latency=LatencyModel.named("manual"))
    seeded = (set(backend.images), set(backend.snapshots))
    launch = {"RegionId": R, "ImageId": BASE, "InstanceType": "ecs.g7.large", "VSwitchId": VSW, "SecurityGroupId": SG}
    cases = [
        (lambda: backend.run_instances(image_id="m-nothing", **NETWORK), dict(launch, ImageId="m-nothing"),
         "RunInstances", ("InvalidImageId.NotFound", 404)),
        (lambda: backend.run_instances(image_id=BASE, zone_id="cn-hangzhou-i", **NETWORK),
         dict(launch, ZoneId="cn-hangzhou-i"), "RunInstances", ("InvalidParameter.Mismatch", 400)),
        (lambda: backend.run_instances(image_id=BASE, tags={"acs:x": "v"}, **NETWORK),
         dict(launch, **{"Tag.1.Key": "acs:x", "Tag.1.Value": "v"}), "RunInstances",
         ("InvalidTagKey.Malformed", 400)),
        (lambda: backend.create_image(snapshot_id=SNAP, platform="Red Hat"),
         {"RegionId": R, "SnapshotId": SNAP, "Platform": "Red Hat"}, "CreateImage", ("InvalidPlatform.Malformed", 400)),
        (lambda: backend.create_image(), {"RegionId": R}, "CreateImage", ("MissingParameter", 400)),
        (lambda: backend.delete_image(BASE), {"RegionId": R, "ImageId": BASE}, "DeleteImage",
         ("IncorrectImageStatus", 403)),
        (lambda: backend.create_snapshot("d-x"), {"DiskId": "d-x"}, "CreateSnapshot", ("InvalidDiskId.NotFound", 404)),
        (lambda: backend.tag_resources("vpc", ["x"], {"a": "b"}),
         {"RegionId": R, "ResourceType": "vpc", "ResourceId.1": "x", "Tag.1.Key": "a", "Tag.1.Value": "b"},
         "TagResources", ("InvalidResourceType.NotFound", 404)),
    ]
    for typed, flat, action, expected in cases:
        assert code_of(typed) == expected, action
        assert code_of(backend.handle, action, flat) == expected, action
    # nothing committed by a refused call
    assert not backend.instances and (set(backend.images), set(backend.snapshots)) == seeded


def test_typed_lifecycle_from_instance_to_image():
    """The seed template's sequence with typed calls only: launch, command, snapshot, image."""
    backend = build_backend(latency=LatencyModel.named("manual"))
    [inst] = backend.run_instances(image_id=BROKEN, data_disks=[DataDiskRequest(snapshot_id=SNAP)], **NETWORK)
    assert code_of(backend.run_command, [inst.id], "RunShellScript", "id") == ("InvalidInstance.NotRunning", 403)
    backend.advance(30)
    invocation = backend.invoke_command("ACS-ECS-ImageRepair-for-linux.sh", [inst.id],
                                        parameters={"repairitems": "virtio", "disk_serial": "s"})
    backend.advance(1 + 120)
    [(found, record)] = backend.describe_invocation_results(invoke_id=invocation.id)
    assert (found is invocation, record.invocation_status, record.output) == (True, "Success", "repair finished\n")
    [data] = backend.describe_disks(instance_id=inst.id, disk_type="data")
    snap = backend.create_snapshot(data.id, name="repaired", retention_days=1, tags={"k": "v"})
    assert code_of(backend.create_snapshot, data.id) == ("IncorrectDiskStatus.CreatingSnapshot", 400)
    backend.advance(backend.latency.snapshot_seconds(data.size))
    assert [s.status for s in backend.describe_snapshots(snapshot_ids=[snap.id])] == ["accomplished"]
    image = backend.create_image(mappings=[MappingRequest(snapshot_id=snap.id)], name="repaired",
                                 platform="CentOS", detection_strategy="Standard")
    assert image.status == "Creating" and backend.describe_images(image_ids=[image.id]) == [image]
    backend.advance(backend.latency.image_seconds(image.size) + backend.latency.image_check)
    assert (image.status, image.check.status) == ("Available", "Finished")
    backend.modify_image_attribute(image.id, deprecated=True)
    assert backend.describe_images(owner="self", name="repaired") == []  # Deprecated, not Available
    assert code_of(backend.delete_instance, inst.id) == ("IncorrectInstanceStatus", 403)
    backend.delete_instance(inst.id, force=True)
    assert not backend.instances and [d.id for d in backend.disks.values()] == []


def test_send_file_and_tags_typed():
    backend = build_backend()
    [inst] = backend.run_instances(image_id=BASE, **NETWORK)
    assert code_of(backend.send_file, [inst.id], "big", "/tmp", b"x" * (25 * 1024)) == ("FileContent.ExceedLimit", 403)
    backend.send_file([inst.id], "agent.pyz", "/root/", b"\x00zip")
    backend.settle()
    assert inst.files == {"/root/agent.pyz": b"\x00zip"}
    backend.tag_resources("instance", [inst.id], {"owner": "ci"})
    assert backend.list_tag_resources("instance", tags=[("owner", "")]) == [(inst.id, "owner", "ci")]
    [status] = backend.describe_cloud_assistant_status([inst.id])
    assert (status.instance, status.running, status.invocation_count) == (inst, True, 1)


def test_a_first_snapshot_copies_the_data_written_not_the_disks_size():
    """A seeded snapshot that says how much data it holds (``data_gib``) passes it to the disks made
    from it (a data disk from the snapshot, the system disk from the image's), and their snapshots
    take the setup plus that data at the model's rate; without it, the whole size counts."""
    import copy
    from image_repair.emulator.seed import DEFAULT_SEED
    seed = copy.deepcopy(DEFAULT_SEED)
    for image in seed["images"]:
        if image["id"] in (BASE, BROKEN):
            image["disks"][0]["data_gib"] = 2.5
    latency = LatencyModel.named("manual")
    for data_gib, expected_gib in ((2.5, 2.5), (None, 20)):
        backend = build_backend(copy.deepcopy(seed) if data_gib else None, latency=latency)
        [inst] = backend.run_instances(image_id=BASE, data_disks=[DataDiskRequest(snapshot_id=SNAP)], **NETWORK)
        backend.advance(30)
        for disk in backend.describe_disks(instance_id=inst.id):
            assert disk.written_gib() == expected_gib
            snap = backend.create_snapshot(disk.id)
            assert snap.progress.steps[0][0] == pytest.approx(latency.snapshot_seconds(expected_gib))
