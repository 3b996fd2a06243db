"""Per-resource transition overrides (moto's set_transition): stays and manual progression for
one resource, one lifecycle or one kind, on top of the latency model; seen through the wire."""
import json

import pytest

from image_repair.emulator import LatencyModel, build_backend
from image_repair.emulator.clock import Progress
from image_repair.emulator.models.instances import DataDiskRequest

R = "cn-hangzhou"
BASE = "aliyun_3_x64_20G_alibase_20250629.vhd"
SNAP = "s-bp1emulatorbroken0001"
NETWORK = dict(instance_type="ecs.g7.large", vswitch_id="vsw-bp1emulator00000000h",
               security_group_ids=["sg-bp1emulator0000000000"])


@pytest.fixture
def manual():
    return build_backend(latency=LatencyModel.named("manual"))


def launch(backend, **extra):
    return backend.run_instances(image_id=BASE, data_disks=[DataDiskRequest(snapshot_id=SNAP)], **NETWORK, **extra)[0]


def wire_status(backend, instance_id):
    body = backend.handle("DescribeInstances", {"RegionId": R, "InstanceIds": json.dumps([instance_id])}).body
    return body["Instances"]["Instance"][0]["Status"]


def test_one_instance_stays_longer_the_others_keep_the_model(manual):
    slow, other = launch(manual), launch(manual)
    manual.set_transition(slow.id, seconds={"Starting": 120})
    manual.advance(30)  # the model: Pending 5 s + Starting 25 s
    assert (wire_status(manual, slow.id), wire_status(manual, other.id)) == ("Starting", "Running")
    manual.advance(5 + 120 - 30 - 0.1)
    assert wire_status(manual, slow.id) == "Starting"
    manual.advance(0.2)
    assert wire_status(manual, slow.id) == "Running"


def test_a_resource_override_also_times_its_later_lifecycles(manual):
    inst = launch(manual)
    manual.set_transition(inst.id, seconds={"Stopping": 1})  # the reboot's, set before it starts
    manual.advance(30)
    manual.handle("RebootInstance", {"InstanceId": inst.id})
    manual.advance(1)
    assert wire_status(manual, inst.id) == "Starting"  # the model's Stopping is 10 s


def test_a_lifecycle_override_applies_to_resources_created_after_it(manual):
    manual.set_transition("instance.create", seconds={"Pending": 0, "Starting": 2})
    inst = launch(manual)
    manual.advance(2)
    assert wire_status(manual, inst.id) == "Running"
    # the disks follow their own lifecycle (disk.create: the model's 5 s)
    assert {d.status for d in manual.disks.values()} == {"Creating"}


def test_a_kind_override_covers_each_of_its_lifecycles(manual):
    manual.set_transition("snapshot", seconds={"progressing": 0})
    inst = launch(manual)
    manual.advance(30)
    disk = next(d for d in manual.disks.values() if d.instance_id == inst.id and d.type == "data")
    snap = manual.create_snapshot(disk.id)
    assert manual.describe_snapshots(snapshot_ids=[snap.id])[0].status == "accomplished"


def test_manual_progression_moves_only_when_stepped(manual):
    manual.set_transition("instance", manual=True)
    inst = launch(manual)
    manual.advance(3600)
    assert wire_status(manual, inst.id) == "Pending"
    assert manual.step(inst.id) == ["Starting"]
    assert wire_status(manual, inst.id) == "Starting"
    manual.advance(3600)
    assert manual.step(inst.id) == ["Running"]
    with pytest.raises(ValueError, match="could not be taken"):
        manual.step(inst.id)  # nothing ahead
    manual.handle("RebootInstance", {"InstanceId": inst.id})  # a later lifecycle of the kind: manual too
    manual.advance(3600)
    assert wire_status(manual, inst.id) == "Stopping"


def test_manual_then_timed_again_restarts_the_stay_now(manual):
    inst = launch(manual)
    manual.set_transition(inst.id, manual=True)
    manual.advance(3600)
    assert wire_status(manual, inst.id) == "Pending"
    manual.set_transition(inst.id, manual=False)  # the hour frozen does not count
    manual.advance(4.9)
    assert wire_status(manual, inst.id) == "Pending"
    manual.advance(0.2)
    assert wire_status(manual, inst.id) == "Starting"


def test_an_image_check_held_by_the_test(manual):
    manual.set_transition("image.check", manual=True)
    image = manual.create_image(snapshot_id=SNAP, platform="CentOS", detection_strategy="Standard")
    manual.advance(3600)

    def detection():
        body = manual.handle("DescribeImages", {"RegionId": R, "ImageId": image.id}).body
        return body["Images"]["Image"][0]["DetectionOptions"]["Status"]
    assert (image.status, detection()) == ("Available", "Processing")
    manual.step(image.id + "/check")
    assert detection() == "Finished"


def test_an_invocation_stepped_through_delivery_and_run():
    backend = build_backend()  # immediate: every stay 0 unless overridden
    inst = launch(backend)
    backend.settle()
    backend.set_transition("invocation", manual=True)
    _, invocation = backend.run_command([inst.id], "RunShellScript", "echo hi")
    backend.advance(60)
    assert invocation.status() == "Pending"
    backend.step(invocation.id)
    assert invocation.status() == "Running"
    backend.step(invocation.id)
    assert invocation.status() == "Success"


def test_refusals_are_loud(manual):
    inst = launch(manual)
    with pytest.raises(ValueError, match="not a status it waits in"):
        manual.set_transition(inst.id, seconds={"Running": 5})  # the last status: no stay
    with pytest.raises(ValueError, match="command's run time"):
        manual.set_transition("invocation.run", seconds={"Running": 5})
    with pytest.raises(ValueError, match="seconds >= 0"):
        manual.set_transition("disk", seconds={"Creating": -1})
    with pytest.raises(ValueError, match="neither a resource"):
        manual.set_transition("i-nothing", manual=True)
    with pytest.raises(ValueError, match="give seconds"):
        manual.set_transition("instance")
    with pytest.raises(ValueError, match="give a resource ID"):
        manual.step("instance.create")
    manual.faults.stick(inst.id, "Pending")
    with pytest.raises(ValueError, match="stuck"):
        manual.step(inst.id)  # a fault outranks a step
    assert wire_status(manual, inst.id) == "Pending"


def test_reset_forgets_overrides(manual):
    manual.set_transition("instance", manual=True)
    manual.reset()
    inst = launch(manual)
    manual.advance(30)
    assert wire_status(manual, inst.id) == "Running"


def test_progress_grants_and_manual():
    progress = Progress("", 0.0)
    progress.schedule(100.0, "instance.create", [5.0, 25.0])
    assert progress.lifecycle == "instance.create" and progress.stays() == ["Pending", "Starting"]
    progress.manual = True
    assert progress.settle(1000.0) == [] and progress.status == "Pending"
    progress.granted = 1
    assert progress.settle(1000.0) == ["Starting"] and (progress.since, progress.granted) == (1000.0, 0)
    progress.manual = False
    assert progress.settle(1024.9) == [] and progress.settle(1025.0) == ["Running"]
