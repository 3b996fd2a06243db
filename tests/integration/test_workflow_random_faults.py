"""A randomized fault schedule (hypothesis) over the workflow's invariants: whatever fails, the
execution ends SUCCEEDED or FAILED, nothing tagged by it survives except the new image and its
snapshots, nothing was created twice, the source image is unchanged, and the lock is released.

The oracle is exact: a schedule of transient faults only (throttling, 5xx, lost responses, however
they stack: at most 15 on one step, under the flow's bound of 20 retries in a row) must succeed; a
terminal fault or a failed item must fail, cleanly; clean-up stops short only when a deletion
itself failed for good, and then says exactly what it left.

The same schedules run on the Tablestore store too (the adapter through the real ``tablestore`` SDK
over HTTP to the emulator's Tablestore), mixed with store faults: throttling (OTSServerBusy,
OTSQuotaExhausted "Too frequent table operations."), 5xx (OTSInternalServerError,
OTSServerUnavailable), a write applied but its answer lost (the connection dropped, a 500, a 503
OTSTimeout) and a held answer (the client's socket timeout). All are transient, so they change
no expected end; on top of the workflow's invariants: exactly one execution for the request, no
lock left with its owner, and no lost step result (every step record is COMPLETED, its result the
one the execution recorded).

By default a fixed seed runs 25 schedules per store, the same in every run (CI); ``scripts/soak.sh
[--store tablestore]`` runs 500 or more fresh ones (IMAGE_REPAIR_SOAK_SCHEDULES) and writes the
figures below (IMAGE_REPAIR_SOAK_REPORT) for docs/flow.md and docs/store.md."""
import json
import os

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from image_repair.control.steps import FUNCTIONS
from image_repair.control.store import StepStatus

from .workflow_env import WorkflowEnv

ACTIONS = ["DescribeImages", "RunInstances", "DescribeInstances", "DescribeCloudAssistantStatus", "DescribeDisks",
           "SendFile", "RunCommand", "DescribeInvocationResults", "CreateSnapshot", "DescribeSnapshots",
           "CreateImage", "ModifyImageAttribute", "ListTagResources", "DeleteInstance", "DeleteSnapshot",
           "DeleteImage"]
TERMINAL = "QuotaExceed.ElasticQuota"
FAULTS = st.tuples(
    st.sampled_from(ACTIONS),
    st.sampled_from(["Throttling.User", "ServiceUnavailable", "InternalError", "lost-timeout", "lost-error",
                     TERMINAL]),
    st.integers(min_value=1, max_value=3))
STEPS = ["check_source_image", "launch_repair_instance", "wait_until_ready", "start_repair", "wait_for_repair",
         "snapshot_repaired_disk", "create_repaired_image", "wait_for_image_check", "clean_up"]
DELETIONS = ("DeleteInstance", "DeleteSnapshot", "DeleteImage")
# Tablestore operations the store calls, and its faults (emulator/tablestore/faults.py).
STORE_OPERATIONS = ["PutRow", "UpdateRow", "GetRow", "DeleteRow"]
STORE_FAULTS = st.tuples(
    st.sampled_from(STORE_OPERATIONS),
    st.sampled_from(["OTSServerBusy", "OTSQuotaExhausted", "OTSInternalServerError", "OTSServerUnavailable",
                     "lost-drop", "lost-error", "lost-timeout", "lost-hold"]),
    st.integers(min_value=1, max_value=3))
# Step records besides the flow's functions' own (steps/*.py: CREATE, NVME, PLAN...).
SUB_STEPS = ["snapshot_repaired_disk.create", "wait_for_image_check.nvme", "launch_repair_instance.plan"]
FIGURES = {"schedules": 0, "succeeded": 0, "failed": 0, "incomplete": 0, "leaks": 0, "duplicates": 0,
           "wrong_end": 0, "store_faults_planted": 0, "store_faults_met": 0, "lost_step_results": 0}
SOAK_SCHEDULES = int(os.environ.get("IMAGE_REPAIR_SOAK_SCHEDULES") or 0)


@pytest.fixture(scope="module", autouse=True)
def soak_report():
    yield
    path = os.environ.get("IMAGE_REPAIR_SOAK_REPORT")
    if path:
        with open(path, "w") as handle:
            json.dump(FIGURES, handle, indent=1)


def count(env, execution_id: str) -> None:
    """Leaks and duplicates, counted before the invariants assert them (the soak's figures)."""
    FIGURES["leaks"] += len(env.leftovers(execution_id))
    FIGURES["duplicates"] += max(0, len(env.created("i-")) - 1) + max(0, len(env.created("m-")) - 1)


SETTINGS = settings(max_examples=SOAK_SCHEDULES or 25, derandomize=not SOAK_SCHEDULES, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SETTINGS
@given(schedule=st.lists(st.tuples(st.sampled_from(STEPS), FAULTS), min_size=1, max_size=5),
       agent=st.sampled_from(["repaired", "repaired", "item_failed"]))
# The longest throttling storm the schedules can make on the action clean-up lists with; a host that
# cannot be deleted after a success (found by the soak: the report must name it).
@example(schedule=[("check_source_image", ("ListTagResources", "Throttling.User", 3))] * 5, agent="repaired")
@example(schedule=[("launch_repair_instance", ("RunInstances", "lost-timeout", 3))] * 5, agent="repaired")
@example(schedule=[("check_source_image", ("DeleteInstance", TERMINAL, 1))], agent="repaired")
@example(schedule=[("check_source_image", ("DeleteInstance", TERMINAL, 1))], agent="item_failed")
def test_random_fault_schedules_end_right(tmp_path_factory, schedule, agent):
    run_schedule(tmp_path_factory.mktemp("random"), schedule, agent, "sqlite")


@SETTINGS
@given(schedule=st.lists(st.tuples(st.sampled_from(STEPS), st.one_of(FAULTS, STORE_FAULTS)), min_size=1, max_size=5),
       agent=st.sampled_from(["repaired", "repaired", "item_failed"]))
# The longest store storms a schedule can make: more failures in a row than the adapter's attempts
# (StoreUnavailable, the step answers "retry"), on the step claim's put and on the result's update;
# a lost lock release; held answers on a step's claim and on its completion.
@example(schedule=[("check_source_image", ("PutRow", "OTSServerBusy", 3))] * 5, agent="repaired")
@example(schedule=[("launch_repair_instance", ("UpdateRow", "lost-error", 3))] * 5, agent="repaired")
@example(schedule=[("clean_up", ("DeleteRow", "lost-drop", 3))], agent="item_failed")
@example(schedule=[("start_repair", ("PutRow", "lost-hold", 1)), ("start_repair", ("UpdateRow", "lost-hold", 1))],
         agent="repaired")
@example(schedule=[("create_repaired_image", ("CreateImage", TERMINAL, 1)),
                   ("create_repaired_image", ("GetRow", "OTSQuotaExhausted", 3))], agent="repaired")
# Found by the soak: a poll's result recorded on its step but not on the execution (the store failed
# for good between the two writes); the poll's next call must record it.
@example(schedule=[("wait_for_image_check", ("UpdateRow", "OTSServerBusy", 3)),
                   ("wait_for_image_check", ("UpdateRow", "lost-error", 3))], agent="repaired")
def test_random_fault_schedules_on_tablestore_end_right(tmp_path_factory, schedule, agent):
    run_schedule(tmp_path_factory.mktemp("random"), schedule, agent, "tablestore")


def run_schedule(tmp_path, schedule, agent: str, store: str) -> None:
    with WorkflowEnv(tmp_path, store=store) as env:
        env.host.outcome = agent
        by_step = {}
        for step, fault in schedule:
            by_step.setdefault(step, []).append(fault)

        planted = []

        def inject(faults):
            def hook(e):
                for action, kind, times in faults:
                    if action in STORE_OPERATIONS:
                        planted.append(times)
                    target = e.ots.faults if action in STORE_OPERATIONS else e.backend.faults
                    if kind.startswith("lost-"):
                        target.lose_response(action, times=times, mode=kind[5:])
                    else:
                        target.fail_next(action, kind, times=times)
            return hook
        for step, faults in by_step.items():
            env.before_step[step] = inject(faults)
        result, execution = env.repair()
        FIGURES["schedules"] += 1
        if env.ots is not None:
            FIGURES["store_faults_planted"] += sum(planted)
            FIGURES["store_faults_met"] += sum(planted) - env.store_faults_left
            check_store(env, execution)
        terminal = [(step, action) for step, (action, kind, _) in schedule if kind == TERMINAL]
        # a terminal fault takes effect only if its action is called at or after the step that planted it
        expected_failure = agent == "item_failed" or bool(terminal)
        left = ((execution.error or {}).get("cleanUp") or {}).get("notDeleted") or \
            (execution.report or {}).get("leftBehind") or []
        if result.error_code == "CleanUpIncomplete" or left:
            FIGURES["incomplete"] += 1
            # only a deletion (or the tag lookup) that failed for good may stop clean-up, and it says so
            assert any(action in DELETIONS + ("ListTagResources",) for _, action in terminal), execution.error
            # ... or the repaired disk, handed back to a host that could not be deleted (HostNotDeleted)
            assert left and all(item["code"] == TERMINAL or (item["kind"], item["code"]) == ("disk", "HostNotDeleted")
                                for item in left)
            named = {item["id"] for item in left}
            if "(tag lookup)" not in named:      # what is left is exactly what clean-up said it left
                kept_by = {d.id: d.instance_id for d in env.backend.disks.values()}
                assert {rid for _, rid in env.leftovers(execution.execution_id)
                        if kept_by.get(rid) not in named} <= named     # a host's disks go with it
            assert all(i.auto_release_time for i in env.backend.instances.values())
            return
        count(env, execution.execution_id)
        env.check_invariants(execution.execution_id)
        if execution.status.value == "SUCCEEDED":
            FIGURES["succeeded"] += 1
        else:
            FIGURES["failed"] += 1
        if not expected_failure:
            right = execution.status.value == "SUCCEEDED"
        elif terminal:     # it fails if the faulted action is still to come, cleanly either way
            right = True
        else:              # the agent's failed item
            right = execution.status.value == "FAILED" and execution.error["code"] == "RepairFailed"
        FIGURES["wrong_end"] += not right
        assert right, (schedule, agent, execution.status, execution.error)


def check_store(env, execution) -> None:
    """The store's own invariants after the flow ended: one execution for the one request, its lock
    not left held by it, and no lost step result (a step record still INPROGRESS is a claim neither
    completed nor given up; a COMPLETED one must carry the result the execution recorded)."""
    assert [e.execution_id for e in env.store.list_executions()] == [execution.execution_id]
    lock = env.store.get_lock(execution.source_image_id)
    assert lock is None or lock.owner != execution.execution_id, lock
    lost = []
    for step in sorted(set(FUNCTIONS.values()) | set(SUB_STEPS) | set(execution.steps)):
        record = env.store.get_step(execution.execution_id, step)
        if record is None:
            continue
        recorded = execution.steps.get(step)
        if record.status != StepStatus.COMPLETED or recorded is None or recorded.result != record.result:
            lost.append((step, record.status.value, recorded and recorded.result, record.result))
    FIGURES["lost_step_results"] += len(lost)
    assert not lost, lost
