"""Faults at every step, of every kind: the execution ends in the right status, nothing tagged by
it is left alive except the new image and its snapshots, nothing was created twice, and the
source image is unchanged (WorkflowEnv.check_invariants)."""
import pytest

from .workflow_env import WorkflowEnv

# (step, action it calls)
API_CALLS = [
    ("check_source_image", "DescribeImages"), ("choose_base_image", "DescribeImages"),
    ("launch_repair_instance", "RunInstances"), ("wait_until_ready", "DescribeInstances"),
    ("wait_until_ready", "DescribeCloudAssistantStatus"), ("wait_until_ready", "DescribeDisks"),
    ("start_repair", "SendFile"), ("start_repair", "RunCommand"), ("wait_for_repair", "DescribeInvocationResults"),
    ("snapshot_repaired_disk", "CreateSnapshot"), ("snapshot_repaired_disk", "DescribeSnapshots"),
    ("create_repaired_image", "CreateImage"), ("wait_for_image_check", "DescribeImages"),
    ("wait_for_image_check", "ModifyImageAttribute"), ("clean_up", "ListTagResources"),
    ("clean_up", "DeleteInstance"),
]
KINDS = {
    "throttling": lambda b, action: b.faults.fail_next(action, "Throttling.User", times=2),
    "5xx": lambda b, action: b.faults.fail_next(action, "ServiceUnavailable", times=2),
    "lost-timeout": lambda b, action: b.faults.lose_response(action, mode="timeout"),
    "lost-500": lambda b, action: b.faults.lose_response(action, mode="error"),
    "terminal": lambda b, action: b.faults.fail_next(action, "QuotaExceed.ElasticQuota"),
}


def run_with(tmp_path, step, inject, **request):
    with WorkflowEnv(tmp_path) as env:
        env.before_step[step] = lambda e: inject(e.backend)
        result, execution = env.repair(**request)
        env.check_invariants(execution.execution_id)
        return env, result, execution


@pytest.mark.parametrize("step, action", API_CALLS, ids=["%s-%s" % c for c in API_CALLS])
@pytest.mark.parametrize("kind", ["throttling", "5xx", "lost-timeout", "lost-500"])
def test_transient_faults_are_retried_to_success(tmp_path, step, action, kind):
    env, result, execution = run_with(tmp_path, step, lambda b: KINDS[kind](b, action))
    assert result.status == "Succeeded", (result.error_code, execution.error)
    assert execution.status.value == "SUCCEEDED"
    faulted = [c for c in env.backend.calls if c.action == action and (c.error_code or c.lost)]
    assert faulted, "the fault was not hit"
    assert result.events("RetryScheduled")


@pytest.mark.parametrize("step, action", [c for c in API_CALLS if c[0] != "clean_up"],
                         ids=["%s-%s" % c for c in API_CALLS if c[0] != "clean_up"])
def test_terminal_errors_clean_up_and_fail(tmp_path, step, action):
    env, result, execution = run_with(tmp_path, step, lambda b: KINDS["terminal"](b, action))
    assert result.status == "Failed" and result.error_code == "RepairFailed"
    assert execution.status.value == "FAILED"
    assert execution.error["code"] == "FC.QuotaExceed.ElasticQuota" and "ElasticQuota" in execution.error["detail"]
    assert "CleanUp" in result.visited and "Finish" not in result.visited
    assert execution.report["error"]["code"] == "FC.QuotaExceed.ElasticQuota"


def test_terminal_error_in_clean_up_fails_loudly_with_the_safety_net_set(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        env.before_step["clean_up"] = lambda e: e.backend.faults.fail_next("DeleteInstance", "QuotaExceed.ElasticQuota")
        result, execution = env.repair()
        assert result.status == "Failed" and result.error_code == "CleanUpIncomplete"
        assert execution.status.value == "FAILED"
        leaked = [i for i in env.backend.instances.values()]
        assert len(leaked) == 1 and leaked[0].auto_release_time   # AutoReleaseTime: the safety net


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
            assert execution.error["code"] == "FC.RepairFailed"
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
