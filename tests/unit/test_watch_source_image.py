"""watch_source_image: wait for Available + check Finished, then the policy decides; healthy ends here."""
import pytest

from image_repair.control.models import FlowEvent, WatchPolicy
from image_repair.control.steps import watch_source_image as watch
from image_repair.control.steps.common import ImageNotFound, Ports, ResourceFailed
from image_repair.control.steps.start import record_execution
from image_repair.control.store import ExecutionStatus

IMAGE = "m-bp1newimage00000001"
RAW = {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-i", "repairImageId": IMAGE, "instanceType": "ecs.g7.large",
       "securityGroupId": "sg-bp1abcdefghijklmnop", "vSwitchId": "vsw-bp1abcdefghijklmnop", "watch": True}
VIRTIO_HIGH = {"Name": "GUESTOS.Virtio", "Value": "UnSupported", "RiskLevel": "High", "RiskCode": "Virtio.NotInstalled"}
CLOUDINIT_MEDIUM = {"Name": "GUESTOS.CloudInit", "Value": "UnSupported", "RiskLevel": "Medium"}


def image(status="Available", check="Finished", items=(), **extra) -> dict:
    shape = {"ImageId": IMAGE, "Status": status, "Progress": "100%" if status == "Available" else "40%",
             "ImageOwnerAlias": "self", "OSType": "linux", "Architecture": "x86_64",
             "DiskDeviceMappings": {"DiskDeviceMapping": [{"Type": "system", "SnapshotId": "s-1", "Size": "20"}]},
             "DetectionOptions": {"Status": check, "Items": {"Item": list(items)}} if check else {}}
    shape.update(extra)
    return shape


class Images:
    """An ECS port whose DescribeImages answers the next shape of a sequence (the last one stays)."""

    def __init__(self, *shapes):
        self.shapes, self.calls = list(shapes), 0

    def describe_image(self, image_id):
        self.calls += 1
        return self.shapes.pop(0) if len(self.shapes) > 1 else self.shapes[0]


def start(store, ecs, **overrides):
    execution, _, _ = record_execution(store, dict(RAW, **overrides))
    return Ports(store=store, ecs=ecs), execution.execution_id


def test_waits_for_available_then_for_the_check_with_growing_waits(store):
    ecs = Images(image("Creating", check=None), image(check="Processing"), image(items=[VIRTIO_HIGH]))
    ports, execution_id = start(store, ecs)
    first = watch.run(ports, FlowEvent(executionId=execution_id, attempt=0))
    assert not first.ready and "Available (Creating 40%)" in first.waitingFor and first.waitSeconds == 10
    second = watch.run(ports, FlowEvent(executionId=execution_id, attempt=first.attempt))
    assert not second.ready and "check" in second.waitingFor and second.waitSeconds == 15
    third = watch.run(ports, FlowEvent(executionId=execution_id, attempt=second.attempt))
    assert third.ready and not third.healthy and third.attempt == 0
    decision = store.get_step(execution_id, watch.STEP).result
    assert decision["itemsAtRisk"] == ["virtio"] and decision["outcome"] == "at risk: virtio"
    assert store.get_execution(execution_id).status == ExecutionStatus.RUNNING     # the repair goes on


def test_healthy_image_ends_succeeded_with_nothing_to_repair(store):
    ports, execution_id = start(store, Images(image(items=[CLOUDINIT_MEDIUM])))
    state = watch.run(ports, FlowEvent(executionId=execution_id))
    assert state.ready and state.healthy
    execution = store.get_execution(execution_id)
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert execution.report["outcome"] == "healthy" and execution.report["summary"] == "healthy, nothing to repair"
    assert execution.report["newImageId"] is None
    # a retried call (a lost response) answers the same without looking again
    calls = ports.ecs.calls
    again = watch.run(ports, FlowEvent(executionId=execution_id))
    assert again.ready and again.healthy and ports.ecs.calls == calls


@pytest.mark.parametrize("policy, items, at_risk", [
    (None, [CLOUDINIT_MEDIUM], []),                                           # default: High only
    ({"riskLevels": ["High", "Medium"]}, [CLOUDINIT_MEDIUM], ["cloudinit"]),
    ({"items": ["fstab"]}, [VIRTIO_HIGH], []),                                # virtio not in the policy
    ({"items": ["virtio"], "riskLevels": ["High"]}, [VIRTIO_HIGH, CLOUDINIT_MEDIUM], ["virtio"]),
])
def test_the_policy_chooses_items_and_risk_levels(policy, items, at_risk):
    decision = watch.decide(image(items=items), WatchPolicy.model_validate(policy or {}))
    assert decision["itemsAtRisk"] == at_risk and decision["healthy"] is (not at_risk)


def test_an_image_the_workflow_does_not_repair_ends_without_repair(store):
    ports, execution_id = start(store, Images(image(items=[VIRTIO_HIGH], OSType="windows")))
    state = watch.run(ports, FlowEvent(executionId=execution_id))
    assert state.healthy
    report = store.get_execution(execution_id).report
    assert report["summary"].startswith("not repairable: ") and "only Linux" in report["summary"]


@pytest.mark.parametrize("shape, error", [(None, ImageNotFound), (image("CreateFailed", check=None), ResourceFailed)])
def test_a_failed_or_vanished_image_is_an_error(store, shape, error):
    ports, execution_id = start(store, Images(shape))
    with pytest.raises(error):
        watch.run(ports, FlowEvent(executionId=execution_id))


def test_watched_ids_are_named_watch_and_plain_ids_do_not_change():
    from image_repair.control.models import parse_request
    plain = dict(RAW)
    del plain["watch"]
    assert parse_request(plain).execution_id() == parse_request(dict(plain, watch=False)).execution_id()
    assert parse_request(plain).execution_id().startswith("repair-%s-" % IMAGE)
    watched = parse_request(RAW).execution_id()
    assert watched.startswith("watch-%s-" % IMAGE)
    assert parse_request(dict(RAW, policy={"riskLevels": ["Medium"]})).execution_id() != watched
    with pytest.raises(Exception, match="watched images only"):
        parse_request(dict(plain, policy={"riskLevels": ["Medium"]}))


def test_a_plain_repair_has_nothing_to_watch_and_the_call_changes_nothing(store):
    ecs = Images(image(items=[VIRTIO_HIGH]))
    ports, execution_id = start(store, ecs, watch=False)
    state = watch.run(ports, FlowEvent(executionId=execution_id))
    assert state.ready and not state.healthy and ecs.calls == 0
    assert store.get_step(execution_id, watch.STEP) is None
