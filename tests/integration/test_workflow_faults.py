"""Faults at every step, of every kind: the execution ends in the right status, nothing tagged by
it is left alive except the new image and its snapshots, nothing was created twice, and the
source image is unchanged (WorkflowEnv.check_invariants).

Transient failures are answered by the step itself ("retry after N s") and looped by the flow; no
test here relies on how CloudFlow names a function's error: the terminal ones run under every
naming the runner knows (flow.runner.FUNCTION_ERROR_NAMINGS), and function errors reach the flow
as Function Compute shapes them (errorType and errorMessage, nothing else)."""
import json

import pytest

from image_repair.control.flow import FunctionKilled
from image_repair.control.flow.runner import FUNCTION_ERROR_NAMINGS

from .workflow_env import WorkflowEnv

# (step, action it calls)
API_CALLS = [
    ("check_source_image", "DescribeImages"), ("choose_base_image", "DescribeImages"),
    ("launch_repair_instance", "RunInstances"), ("wait_until_ready", "DescribeInstances"),
    ("wait_until_ready", "DescribeCloudAssistantStatus"), ("wait_until_ready", "DescribeDisks"),
    ("start_repair", "SendFile"), ("start_repair", "RunCommand"), ("wait_for_repair", "DescribeInvocationResults"),
    ("release_repair_host", "ModifyDiskAttribute"), ("release_repair_host", "DeleteInstance"),
    ("release_repair_host", "DescribeDisks"),
    ("snapshot_repaired_disk", "CreateSnapshot"), ("snapshot_repaired_disk", "DescribeSnapshots"),
    ("snapshot_repaired_disk", "DeleteDisk"),
    ("create_repaired_image", "CreateImage"), ("wait_for_image_check", "DescribeImages"),
    ("wait_for_image_check", "ModifyImageAttribute"), ("clean_up", "ListTagResources"),
]
KINDS = {
    "throttling": lambda b, action: b.faults.fail_next(action, "Throttling.User", times=2),
    "5xx": lambda b, action: b.faults.fail_next(action, "ServiceUnavailable", times=2),
    "lost-timeout": lambda b, action: b.faults.lose_response(action, mode="timeout"),
    "lost-500": lambda b, action: b.faults.lose_response(action, mode="error"),
    "terminal": lambda b, action: b.faults.fail_next(action, "QuotaExceed.ElasticQuota"),
}


def run_with(tmp_path, step, inject, naming="errorType", **request):
    with WorkflowEnv(tmp_path) as env:
        env.function_error_naming = naming
        env.before_step[step] = lambda e: inject(e.backend)
        result, execution = env.repair(**request)
        env.check_invariants(execution.execution_id)
        return env, result, execution


def retried(result, state=None) -> list:
    """The answers that asked the flow to call a step again ("retry after N s")."""
    return [e for e in result.events("StateExited") if isinstance(e.detail.get("output"), dict)
            and e.detail["output"].get("retry") is True and (state is None or e.state == state)]


@pytest.mark.parametrize("step, action", API_CALLS, ids=["%s-%s" % c for c in API_CALLS])
@pytest.mark.parametrize("kind", ["throttling", "5xx", "lost-timeout", "lost-500"])
def test_transient_faults_are_retried_to_success(tmp_path, step, action, kind):
    env, result, execution = run_with(tmp_path, step, lambda b: KINDS[kind](b, action))
    assert result.status == "Succeeded", (result.error_code, execution.error)
    assert execution.status.value == "SUCCEEDED"
    faulted = [c for c in env.backend.calls if c.action == action and (c.error_code or c.lost)]
    assert faulted, "the fault was not hit"
    assert retried(result), "the step did not answer retry"
    assert not result.events("TaskFailed"), "a transient failure must not reach the flow as an error"


# A terminal error fails the repair wherever it strikes, but for DeleteDisk after the snapshot: the
# disk is then only a leftover, which clean-up deletes again (test_a_disk_the_snapshot_step_could_not_delete...).
TERMINAL = [c for c in API_CALLS if c[0] != "clean_up" and c != ("snapshot_repaired_disk", "DeleteDisk")]


@pytest.mark.parametrize("naming", sorted(FUNCTION_ERROR_NAMINGS))
@pytest.mark.parametrize("step, action", TERMINAL, ids=["%s-%s" % c for c in TERMINAL])
def test_terminal_errors_clean_up_and_fail(tmp_path, step, action, naming):
    env, result, execution = run_with(tmp_path, step, lambda b: KINDS["terminal"](b, action), naming=naming)
    assert result.status == "Failed" and result.error_code == "RepairFailed"
    assert execution.status.value == "FAILED"
    # the cause comes from the store (recorded by the step before it raised), not from the error's name
    assert execution.error["code"] == "QuotaExceed.ElasticQuota" and "ElasticQuota" in execution.error["detail"]
    assert execution.error["step"] == step
    assert "CleanUp" in result.visited and "Finish" not in result.visited
    assert execution.report["error"]["code"] == "QuotaExceed.ElasticQuota"
    # what reached the flow is what Function Compute sends: errorType and errorMessage only
    failed = result.events("TaskFailed")
    assert len(failed) == 1
    body = json.loads(failed[0].detail["detail"])
    assert body == {"errorType": "CloudError", "errorMessage": body["errorMessage"]}
    assert failed[0].detail["code"] == FUNCTION_ERROR_NAMINGS[naming]("CloudError")


def test_terminal_error_in_clean_up_is_reported_and_the_rest_deleted(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.before_step["release_repair_host"] = lambda e: e.backend.faults.fail_next(
            "ModifyDiskAttribute", "QuotaExceed.ElasticQuota")
        env.before_step["clean_up"] = lambda e: e.backend.faults.fail_next("DeleteInstance", "QuotaExceed.ElasticQuota")
        result, execution = env.repair()
        assert result.status == "Failed" and result.error_code == "CleanUpIncomplete"
        assert execution.status.value == "FAILED"
        # the first cause is kept; clean-up says exactly what it could not delete, and why
        assert execution.error["code"] == "QuotaExceed.ElasticQuota" and execution.error["step"] == "release_repair_host"
        left = execution.error["cleanUp"]["notDeleted"]
        leaked = list(env.backend.instances.values())
        disk = execution.steps["wait_until_ready"].result["diskId"]
        assert [(i["kind"], i["id"], i["code"]) for i in left] == [("instance", leaked[0].id, "QuotaExceed.ElasticQuota"),
                                                                   ("disk", disk, "HostNotDeleted")]
        assert len(leaked) == 1 and leaked[0].auto_release_time   # AutoReleaseTime: the last safety net
        assert env.backend.disks[disk].delete_with_instance and env.backend.disks[disk].instance_id == leaked[0].id


def test_an_unknown_region_fails_with_its_cause_and_no_clean_up_alarm(tmp_path):
    """issue 11 point 10: the root cause (InvalidRegionId) is kept, and clean-up does not suggest a
    leak: nothing could have been created, so it looks for nothing."""
    with WorkflowEnv(tmp_path) as env:
        env.before_step["check_source_image"] = lambda e: e.backend.faults.fail_next("DescribeImages", "InvalidRegionId")
        env.before_step["clean_up"] = lambda e: e.backend.faults.fail_next("ListTagResources", "InvalidRegionId", times=5)
        result, execution = env.repair()
        assert result.error_code == "RepairFailed", execution.error
        assert execution.error["code"] == "InvalidRegionId" and "cleanUp" not in execution.error
        assert not [c for c in env.backend.calls if c.action == "ListTagResources"]


def test_a_disk_the_snapshot_step_could_not_delete_is_deleted_by_clean_up(tmp_path):
    """The repaired disk is a leftover once its snapshot is accomplished: DeleteDisk refused there
    does not fail the repair; clean-up deletes it."""
    with WorkflowEnv(tmp_path) as env:
        env.before_step["snapshot_repaired_disk"] = lambda e: e.backend.faults.fail_next(
            "DeleteDisk", "InvalidDiskStatus.DeleteProtection")
        result, execution = env.repair()
        assert result.status == "Succeeded", (result.error_code, execution.error)
        disk = execution.report["resources"]["diskId"]
        assert execution.steps["snapshot_repaired_disk.disk"].result == {
            "diskId": disk, "deleted": False, "code": "InvalidDiskStatus.DeleteProtection"}
        assert [c.params["DiskId"] for c in env.backend.calls if c.action == "DeleteDisk"] == [disk, disk]
        assert execution.report["leftBehind"] == []
        env.check_invariants(execution.execution_id)


def test_a_disk_stuck_detaching_times_out_and_is_named_then_left_to_the_janitor(tmp_path):
    """The kept disk never becomes Available: the release's wait times out, clean-up cannot delete
    the disk either (DeleteDisk answers "not yet" until its loop gives up), and the disk is the one
    thing left, tagged for the janitor."""
    with WorkflowEnv(tmp_path) as env:
        def stick(e):
            disk = e.store.list_executions()[0].steps["wait_until_ready"].result["diskId"]
            e.backend.faults.stick(disk, "Detaching")
        env.after_step["release_repair_host"] = stick
        result, execution = env.repair()
        assert result.status == "Failed" and result.error_code == "CleanUpIncomplete"
        disk = execution.steps["wait_until_ready"].result["diskId"]
        assert env.leftovers(execution.execution_id) == [("disk", disk)]
        assert env.backend.instances == {}


@pytest.mark.parametrize("refusal", ["FC.ResourceThrottled", "FC.ResourceExhausted", "FC.InternalServerError"])
def test_function_compute_refusing_an_invocation_is_retried_by_the_documented_rule(tmp_path, refusal):
    with WorkflowEnv(tmp_path) as env:
        refused = []

        def platform(state, function):
            if state == "LaunchRepairInstance" and len(refused) < 3:
                refused.append(state)
                return refusal
            return None
        env.platform_faults = platform
        result, execution = env.repair()
        assert result.status == "Succeeded", (result.error_code, execution.error)
        assert len(result.events("RetryScheduled")) == 3
        env.check_invariants(execution.execution_id)


def test_a_concurrent_attempt_of_a_step_is_waited_out(tmp_path):
    """Another attempt holds the step's claim (a duplicate delivery, a slow earlier attempt): the
    step answers "retry" until that claim's lease has expired, then takes it over."""
    with WorkflowEnv(tmp_path) as env:
        def hold(e):
            execution_id = e.store.list_executions()[0].execution_id
            e.store.begin_step(execution_id, "launch_repair_instance", timeout_s=90)
        env.before_step["launch_repair_instance"] = hold
        result, execution = env.repair()
        assert result.status == "Succeeded", (result.error_code, execution.error)
        busy = retried(result, "LaunchRepairInstance")
        assert busy and busy[0].detail["output"]["errorCode"] == "StepBusy"
        assert sum(e.detail["seconds"] for e in result.events("Waited") if e.state == "RetryLaunchRepairInstance") >= 90
        env.check_invariants(execution.execution_id)


@pytest.mark.parametrize("naming", sorted(FUNCTION_ERROR_NAMINGS))
@pytest.mark.parametrize("action", ["RunInstances", "CreateSnapshot", "CreateImage", "RunCommand"])
def test_a_function_killed_mid_step_is_resumed_and_creates_nothing_twice(tmp_path, action, naming):
    """The platform kills the function right after its create call committed (no code of ours runs
    after that): its claim on the step expires with the function's lease, clean-up finds no cause
    recorded and runs the state again, which finds the first resource by its ClientToken."""
    with WorkflowEnv(tmp_path) as env:
        env.function_error_naming = naming
        original = env.ecs._call
        killed = []

        def kill_after(name, request):
            answer = original(name, request)
            if name == action and not killed:
                killed.append(name)
                raise FunctionKilled()
            return answer
        env.ecs._call = kill_after
        result, execution = env.repair()
        assert killed and result.status == "Succeeded", (result.error_code, execution.error)
        assert "WaitBeforeResume" in result.visited
        assert execution.steps["clean_up.resumes"].result
        env.check_invariants(execution.execution_id)


def test_a_state_killed_again_and_again_ends_cleaned_up(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        original = env.ecs._call

        def always_killed(name, request):
            if name == "RunInstances":
                original(name, request)
                raise FunctionKilled()
            return original(name, request)
        env.ecs._call = always_killed
        result, execution = env.repair()
        assert result.error_code == "RepairFailed"
        assert execution.steps["clean_up.resumes"].result == {"LaunchRepairInstance": 3}
        assert "timed out" in execution.error["detail"]
        env.check_invariants(execution.execution_id)


def test_clean_up_outlasts_a_throttling_storm(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.before_step["clean_up"] = lambda e: e.backend.faults.fail_next("ListTagResources", "Throttling.User", times=16)
        result, execution = env.repair()
        assert result.status == "Succeeded", (result.error_code, execution.error)
        assert len(retried(result, "CleanUp")) == 16
        env.check_invariants(execution.execution_id)


def test_a_storm_longer_than_the_bound_cleans_up_with_the_cause(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.before_step["choose_base_image"] = lambda e: e.backend.faults.fail_next("DescribeImages", "Throttling.User",
                                                                                   times=25)
        result, execution = env.repair()
        assert result.error_code == "RepairFailed"
        assert execution.error["code"] == "Throttled" and execution.error["state"] == "choose_base_image"
        assert len(retried(result, "ChooseBaseImage")) == 20
        env.check_invariants(execution.execution_id)


STUCK = {
    "instance-starting": ("launch_repair_instance", lambda r, e: r["launch_repair_instance"]["instanceId"]),
    "snapshot-progressing": ("snapshot_repaired_disk",
                             lambda r, e: e.store.get_step(e.store.list_executions()[0].execution_id,
                                                           "snapshot_repaired_disk.create").result["snapshotId"]),
    "image-creating": ("create_repaired_image", lambda r, e: r["create_repaired_image"]["imageId"]),
    "image-check-processing": ("create_repaired_image", lambda r, e: r["create_repaired_image"]["imageId"] + "/check"),
    "invocation-running": ("start_repair", lambda r, e: r["start_repair"]["invokeId"]),
}


@pytest.mark.parametrize("what", sorted(STUCK))
def test_a_stuck_resource_times_out_the_wait_loop_and_cleans_up(tmp_path, what):
    step, resource = STUCK[what]
    with WorkflowEnv(tmp_path) as env:
        def hook(e):
            execution = e.store.list_executions()[0]
            resource_id = resource({n: r.result for n, r in execution.steps.items()}, e)
            status = "Processing" if resource_id.endswith("/check") else \
                {"i": "Starting", "s": "progressing", "m": "Creating", "t": "Running"}[resource_id[0]]
            e.backend.faults.stick(resource_id, status)
        env.after_step[step] = hook
        result, execution = env.repair()
        assert result.status == "Failed", what
        assert execution.error["code"] == "FlowWaitTimedOut" and execution.status.value == "FAILED"
        env.check_invariants(execution.execution_id)
        waits = result.events("Waited")
        assert waits and max(e.detail["seconds"] for e in waits) == 300


def test_cloud_assistant_down_times_out(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.after_step["launch_repair_instance"] = lambda e: e.backend.faults.cloud_assistant_down(
            e.store.list_executions()[0].steps["launch_repair_instance"].result["instanceId"])
        result, execution = env.repair()
        assert result.status == "Failed" and "Cloud Assistant" in execution.error["detail"]
        env.check_invariants(execution.execution_id)


@pytest.mark.parametrize("outcome, allow_partial, status", [
    ("item_failed", False, "FAILED"), ("item_failed", True, "SUCCEEDED"),
    ("refused", True, "FAILED"), ("garbage", False, "FAILED"), ("huge", True, "FAILED")])
def test_agent_failing(tmp_path, outcome, allow_partial, status):
    with WorkflowEnv(tmp_path) as env:
        env.host.outcome = outcome
        result, execution = env.repair(allowPartial=allow_partial)
        assert execution.status.value == status, execution.error
        env.check_invariants(execution.execution_id)
        if status == "FAILED":
            assert execution.error["code"] == "RepairFailed"
            if outcome == "huge":
                assert "output cut at 24 KB" in execution.error["detail"]
            assert env.created("m-") == [] and env.created("s-") == []
        else:
            assert [r["status"] for r in execution.report["repair"]["results"]][0] == "failed"


def test_repair_command_timing_out(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.backend.faults.timeout_command("image-repair")
        result, execution = env.repair()
        assert execution.status.value == "FAILED" and "Timeout" in execution.error["detail"]
        env.check_invariants(execution.execution_id)


def test_public_command_failing(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.backend.faults.fail_command("ACS-ECS-ImageRepair-for-linux.sh", exit_code=1, output="no disk\n")
        result, execution = env.repair(engine="alibaba")
        assert execution.status.value == "FAILED" and "no disk" in execution.error["detail"]
        env.check_invariants(execution.execution_id)
