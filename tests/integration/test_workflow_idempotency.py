"""Re-invoking handlers, repeating and racing starts, and bad input, against the emulator. The
repeats and races run on both stores: SQLite, and Tablestore through the real SDK over HTTP to the
emulator's Tablestore (workflow_env.STORES)."""
import threading

import pytest

from image_repair.control.models import InvalidRequest
from image_repair.control.steps import FUNCTIONS
from image_repair.control.steps.start import record_execution

from .workflow_env import SOURCE, STORES, WorkflowEnv, request, seed_with


def world(env):
    """Everything a handler could change: live resources with their status, and the store."""
    backend = env.backend
    backend.settle()
    resources = sorted([(k, r.id, getattr(r, "status", "")) for k, store in (
        ("instance", backend.instances), ("disk", backend.disks), ("snapshot", backend.snapshots),
        ("image", backend.images)) for r in store.values()])
    creates = sorted(c.action for c in backend.calls if c.action in (
        "RunInstances", "CreateSnapshot", "CreateImage", "SendFile", "RunCommand", "InvokeCommand", "DeleteImage",
        "DeleteSnapshot") and not c.error_code)
    executions = [(e.execution_id, e.status.value, sorted(e.steps), e.report) for e in env.store.list_executions()]
    return resources, creates, executions


@pytest.mark.parametrize("store", STORES)
def test_reinvoking_every_handler_after_the_run_changes_nothing(tmp_path, store):
    with WorkflowEnv(tmp_path, store=store) as env:
        result, execution = env.repair()
        assert result.status == "Succeeded"
        before = world(env)
        handlers = env.handlers()
        for name in FUNCTIONS:
            handlers[name](('{"executionId": "%s", "attempt": 0}' % execution.execution_id).encode())
        assert world(env) == before
        env.check_invariants(execution.execution_id)


@pytest.mark.parametrize("store", STORES)
def test_duplicate_delivery_of_every_handler_during_the_run(tmp_path, store):
    with WorkflowEnv(tmp_path, store=store) as env:
        execution_id, _ = env.start()
        plain = env.handlers()
        for name, step in FUNCTIONS.items():
            env.after_step[step] = (lambda n: lambda e: plain[n](
                ('{"executionId": "%s", "attempt": 0}' % execution_id).encode()))(name)
        result = env.run(execution_id)
        assert result.status == "Succeeded", result.error_detail
        env.check_invariants(execution_id)
        assert len(env.created("i-")) == 1 and len(env.created("m-")) == 1 and len(env.created("s-")) == 1


@pytest.mark.parametrize("store", STORES)
def test_same_repair_twice_is_one_execution(tmp_path, store):
    with WorkflowEnv(tmp_path, store=store) as env:
        first, created = env.start()
        again, created_again = env.start()
        assert first == again and created and not created_again
        assert env.run(first).status == "Succeeded"
        third, created_third = env.start()
        assert third == first and not created_third
        assert len(env.store.list_executions()) == 1 and len(env.created("i-")) == 1


@pytest.mark.parametrize("store", STORES)
def test_concurrent_starts_of_one_repair_make_one_execution(tmp_path, store):
    with WorkflowEnv(tmp_path, store=store) as env:
        barrier, results = threading.Barrier(6), []

        def start():
            barrier.wait()
            results.append(record_execution(env.store, request())[:2])
        threads = [threading.Thread(target=start) for _ in range(6)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert len({e.execution_id for e, _ in results}) == 1 and sum(c for _, c in results) == 1
        if env.ots is not None:     # settled by the service's row conditions: one put applied, 5 x 2 refused
            puts = [call.code for call in env.ots.calls if call.operation == "PutRow"]
            assert (puts.count(""), puts.count("OTSConditionCheckFail")) == (1, 10), puts


@pytest.mark.parametrize("store", STORES)
def test_two_different_repairs_of_one_image_at_once_give_one_repair(tmp_path, store):
    with WorkflowEnv(tmp_path, store=store) as env:
        a, _ = env.start(repairItems="auto")
        b, _ = env.start(repairItems=["virtio"])
        assert a != b
        outcomes = {}
        barrier = threading.Barrier(2)

        def run(execution_id):
            barrier.wait()
            outcomes[execution_id] = env.run(execution_id)
        threads = [threading.Thread(target=run, args=(x,)) for x in (a, b)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        statuses = sorted(env.store.get_execution(x).status.value for x in (a, b))
        assert statuses == ["FAILED", "SUCCEEDED"], [env.store.get_execution(x).error for x in (a, b)]
        loser = a if env.store.get_execution(a).status.value == "FAILED" else b
        assert env.store.get_execution(loser).error["code"] == "ImageBusy"
        assert len(env.created("i-")) == 1 and len(env.created("m-")) == 1
        for x in (a, b):
            env.check_invariants(x)
        assert env.store.get_lock(SOURCE) is None


BAD_IMAGES = [
    {"id": "m-bp1emulatorwindows001", "name": "win", "owner": "self", "platform": "Windows Server 2019",
     "os_type": "windows", "disks": [{"type": "system", "size": 40, "snapshot_id": "s-bp1emulatorwin000001"}]},
    {"id": "m-bp1emulatorshared0001", "name": "shared", "owner": "others", "platform": "CentOS",
     "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1emulatorshared001"}]},
    {"id": "m-bp1emulatorencrypted1", "name": "enc", "owner": "self", "platform": "CentOS", "encrypted": True,
     "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1emulatorenc000001"}]},
    {"id": "m-bp1emulatori386image1", "name": "old", "owner": "self", "platform": "CentOS", "architecture": "i386",
     "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1emulatori38600001"}]},
    {"id": "m-bp1emulatorisoimage01", "name": "iso", "owner": "self", "platform": "CentOS",
     "disks": [{"type": "system", "size": 20, "snapshot_id": "s-bp1emulatoriso000001"}],
     "detection": {"status": "Finished", "items": [{"name": "SystemImage", "value": "Invalid",
                                                    "risk_level": "High", "risk_code": "SystemImage.Invalid"}]}},
]


@pytest.mark.parametrize("image_id, message", [
    ("m-bp1emulatorwindows001", "only Linux"), ("m-bp1emulatorshared0001", "not a custom image"),
    ("m-bp1emulatorencrypted1", "encrypted"), ("m-bp1emulatori386image1", "architecture i386"),
    ("m-bp1emulatorisoimage01", "SystemImage Invalid"), ("m-bp1doesnotexist00000", "does not exist")])
def test_unrepairable_images_fail_clearly_creating_nothing(tmp_path, image_id, message):
    with WorkflowEnv(tmp_path, seed=seed_with(*BAD_IMAGES)) as env:
        result, execution = env.repair(repairImageId=image_id)
        assert execution.status.value == "FAILED" and message in execution.error["detail"]
        assert execution.error["code"] in ("ImageNotRepairable", "ImageNotFound")
        assert [i for i in env.created_ids if i[:2] in ("i-", "d-", "s-", "m-")] == []
        assert "RunInstances" not in env.backend.call_counts()
        assert env.store.get_lock(image_id) is None


def test_base_image_of_another_architecture_is_refused(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        result, execution = env.repair(baseImageId="aliyun_3_arm64_20G_alibase_20250629.vhd")
        assert execution.status.value == "FAILED" and "arm64 but the source image is x86_64" in execution.error["detail"]
        assert "RunInstances" not in env.backend.call_counts()


@pytest.mark.parametrize("change, message", [
    ({"repairImageId": "image-1"}, "repairImageId"), ({"repairItems": ["virtio", "teleport"]}, "teleport"),
    ({"vSwitchId": None}, "vSwitchId: missing"), ({"securityGroupId": "sg-"}, "securityGroupId")])
def test_bad_parameters_are_refused_before_anything_is_recorded(tmp_path, change, message):
    with WorkflowEnv(tmp_path) as env:
        raw = request(**{k: v for k, v in change.items() if v is not None})
        for key in [k for k, v in change.items() if v is None]:
            raw.pop(key)
        with pytest.raises(InvalidRequest, match=message):
            record_execution(env.store, raw)
        assert env.store.list_executions() == [] and env.backend.calls == []


def test_a_request_for_another_region_fails_before_any_call(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        result, execution = env.repair(regionId="cn-beijing", zoneId="cn-beijing-h")
        assert execution.status.value == "FAILED" and execution.error["code"] == "RegionMismatch"
        assert "cn-beijing" in execution.error["detail"] and "RunInstances" not in env.backend.call_counts()
