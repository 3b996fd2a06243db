"""Acceptance (issue 6, events) on the emulator with the real SDK, the SQLite store and the local
runner: an ActionTrail CreateImage event for an image whose check finds virtio missing ends in a
repaired image; the same event delivered twice starts one execution; a healthy image ends healthy
with nothing launched."""
import copy

import pytest

from image_repair.agent.items.checknames import SPELLINGS, spelt
from image_repair.emulator.backend import default_detector
from image_repair.emulator.resources import CheckItem
from image_repair.control.launchers import LocalLauncher
from image_repair.cli.cloud_target import emulator_defaults
from image_repair.control.policy import TAG_EXECUTION
from image_repair.control.store import ExecutionStatus
from image_repair.control.triggers.events import handle_delivery

from .workflow_env import WorkflowEnv

VIRTIO_MISSING = CheckItem("GUESTOS.Virtio", "UnSupported", "High", "Virtio.NotInstalled")


def actiontrail_create_image(image_id: str) -> dict:
    """ActionTrail's CreateImage ApiCall event as EventBridge pushes it (CloudEvents envelope)."""
    return {"id": "evt-" + image_id, "source": "acs.ecs", "specversion": "1.0", "type": "ecs:ActionTrail:ApiCall",
            "aliyunregionid": "cn-hangzhou", "subject": "acs:ecs:cn-hangzhou:1234567890123456:image/" + image_id,
            "data": {"eventName": "CreateImage", "serviceName": "Ecs", "acsRegion": "cn-hangzhou",
                     "eventType": "ApiCall", "eventRW": "Write",
                     "requestParameters": {"RegionId": "cn-hangzhou", "SnapshotId": "s-bp1emulatorbroken0001"},
                     "responseElements": {"ImageId": image_id, "RequestId": "0C1CDF6B-0000"}}}


def user_creates_an_image(env) -> str:
    """What a user does before the event: CreateImage from a snapshot (the image starts Creating)."""
    return env.ecs.create_image("user-image", [{"SnapshotId": "s-bp1emulatorbroken0001", "DiskType": "system",
                                                "Size": 20}], "CentOS", "x86_64", "BIOS", "built by a pipeline",
                                {}, "user-token-1")


def detector(at_risk: bool):
    """The image check: virtio missing on the user's images (not on repaired ones) when at_risk."""
    def detect(backend, image):
        items = default_detector(backend, image)
        if at_risk and TAG_EXECUTION not in image.tags:
            items.append(VIRTIO_MISSING)
        return items
    return detect


def deliver(env, payload):
    return handle_delivery(payload, env.store, LocalLauncher(env.ports, clock=env.clock),
                           defaults=emulator_defaults(env.backend.seed_data), region="cn-hangzhou")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_create_image_event_for_an_image_missing_virtio_ends_repaired_once(tmp_path, spelling):
    """Also in both check item spellings (issue 10 point 4): the watch picks virtio from either."""
    with WorkflowEnv(tmp_path) as env:
        env.backend.check_item_spelling = spelling
        env.backend.detector = detector(at_risk=True)
        image_id = user_creates_an_image(env)
        assert env.backend.images[image_id].status == "Creating"
        event = actiontrail_create_image(image_id)

        summary = deliver(env, event)
        assert summary.ignored == [] and len(summary.accepted) == 1
        accepted = summary.accepted[0]
        assert accepted.created and accepted.started and accepted.executionId.startswith("watch-" + image_id)
        execution = env.store.get_execution(accepted.executionId)
        assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
        report = execution.report
        new_image = env.backend.images[report["newImageId"]]
        assert new_image.status == "Available" and new_image.tags["image-repair:source-image"] == image_id
        assert [(i["name"], i["repairItem"]) for i in report["itemsBefore"] if i.get("riskLevel")] == [
            (spelt("GUESTOS.Virtio", spelling), "virtio")]
        assert report["atRiskBefore"] == ["virtio"] and report["atRiskAfter"] == []
        assert [r["status"] for r in report["repair"]["results"]] == ["repaired"] * len(report["repair"]["results"])
        # it waited for the image (Creating -> Available -> checked) before touching it
        watched = env.store.get_step(accepted.executionId, "watch_source_image").result
        assert watched["itemsAtRisk"] == ["virtio"] and not watched["healthy"]
        looks = [c for c in env.backend.calls if c.action == "DescribeImages" and c.params.get("ImageId") == image_id]
        assert len(looks) >= 3

        # at least once: redelivered, and twice in one batch -> still one execution, one repair host
        again = deliver(env, copy.deepcopy(event))
        batch = deliver(env, [event, event])
        for accepted_again in again.accepted + batch.accepted:
            assert accepted_again.executionId == accepted.executionId and not accepted_again.started
        assert [e.execution_id for e in env.store.list_executions()] == [accepted.executionId]
        assert len([c for c in env.backend.calls if c.action == "RunInstances"]) == 1
        assert len(env.host.runs) == 1
        assert env.leftovers(accepted.executionId) == []


def test_a_healthy_new_image_ends_healthy_with_nothing_launched(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.backend.detector = detector(at_risk=False)
        image_id = user_creates_an_image(env)
        summary = deliver(env, actiontrail_create_image(image_id))
        execution = env.store.get_execution(summary.accepted[0].executionId)
        assert execution.status == ExecutionStatus.SUCCEEDED, execution.error
        assert execution.report["outcome"] == "healthy"
        assert execution.report["summary"] == "healthy, nothing to repair"
        launched = {"RunInstances", "CreateSnapshot", "CreateImage", "RunCommand"}
        # the user's own CreateImage is the only create call
        assert [c.action for c in env.backend.calls if c.action in launched] == ["CreateImage"]
        assert env.store.get_lock(image_id) is None


def test_an_image_that_fails_to_be_created_fails_the_watch_and_creates_nothing(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        image_id = user_creates_an_image(env)
        env.backend.images.pop(image_id)          # deleted before it became Available
        summary = deliver(env, actiontrail_create_image(image_id))
        execution = env.store.get_execution(summary.accepted[0].executionId)
        assert execution.status == ExecutionStatus.FAILED
        assert "ImageNotFound" in str(execution.error)
        assert not [c for c in env.backend.calls if c.action == "RunInstances"]
