"""Step 10: clean up, after success and after every failure.

Deletes what this execution created, found both by the store's records and by its tag (so a
resource whose create answer was lost is found too): the repair host always (its disk goes with
it); on failure also the new image(s) and snapshot(s). Already gone is success.
``IncorrectInstanceStatus.Initializing`` (the protection window after creation) answers "not yet":
the flow's Wait loop comes back, no sleep here. Then releases the lock, and on failure records
the execution as FAILED with its error and what was done."""
from ..clients.errors import CloudError
from ..models import FlowEvent, FlowState
from ..store import ExecutionStatus
from .common import TAG_EXECUTION, Ports, StepError, next_wait
from .report import build_report

STEP = "clean_up"
FIRST_WAIT_S = 10
NOT_YET = ("IncorrectInstanceStatus.Initializing", "IncorrectInstanceStatus", "InstanceLockedForSecurity")


def record_failure(ports: Ports, event: FlowEvent) -> None:
    """Keep the first error (a later retry of clean-up must not replace it)."""
    def change(execution):
        if execution.error is None:
            execution.error = {"code": event.errorCode, "detail": (event.errorDetail or "")[:2000],
                               "state": event.failedState}
        return execution
    ports.store.update_execution(event.executionId, change)


def created(execution, step: str, key: str) -> set:
    recorded = execution.steps.get(step)
    value = recorded.result.get(key) if recorded else None
    return {value} if value else set()


def from_store_steps(ports: Ports, execution_id: str, step: str, key: str) -> set:
    """Results of steps completed in the idempotency records (also those not yet on the execution)."""
    record = ports.store.get_step(execution_id, step)
    value = (record.result or {}).get(key) if record is not None and record.result else None
    return {value} if value else set()


def run(ports: Ports, event: FlowEvent) -> FlowState:
    if event.errorCode:
        record_failure(ports, event)
    execution = ports.store.get_execution(event.executionId)
    if execution is None:
        raise StepError("no execution %r in the store" % event.executionId, "ExecutionNotFound")
    failed = execution.error is not None
    exec_id = execution.execution_id
    tagged = ports.ecs.tagged(TAG_EXECUTION, exec_id, kinds=("instance", "snapshot", "image"))
    instances = from_store_steps(ports, exec_id, "launch_repair_instance", "instanceId") | \
        {rid for kind, rid in tagged if kind == "instance"}
    waiting = []
    for instance_id in sorted(instances):
        try:
            ports.ecs.delete_instance(instance_id)
        except CloudError as error:
            if error.service_code not in NOT_YET:
                raise
            waiting.append(instance_id)
    if failed:
        images = from_store_steps(ports, exec_id, "create_repaired_image", "imageId") | \
            {rid for kind, rid in tagged if kind == "image"}
        for image_id in sorted(images):      # images first: a snapshot in use by an image cannot go
            ports.ecs.delete_image(image_id)
        snapshots = from_store_steps(ports, exec_id, "snapshot_repaired_disk.create", "snapshotId") | \
            {rid for kind, rid in tagged if kind == "snapshot"}
        for snapshot_id in sorted(snapshots):
            ports.ecs.delete_snapshot(snapshot_id)
    if waiting:
        wait = next_wait(FIRST_WAIT_S, event.attempt)
        ports.say("clean_up: %s still initializing, again in %d s" % (", ".join(waiting), wait))
        return FlowState(executionId=exec_id, ready=False, attempt=event.attempt + 1, waitSeconds=wait,
                         waitingFor="deletion of %s" % ", ".join(waiting), failed=failed)
    ports.store.release_lock(execution.source_image_id, owner=exec_id)
    if execution.steps.get(STEP) is None:
        ports.store.record_step_result(exec_id, STEP, {"deletedInstances": sorted(instances), "failed": failed})
    if failed:
        latest = ports.store.get_execution(exec_id)
        ports.store.finish_execution(exec_id, ExecutionStatus.FAILED, report=build_report(latest, latest.error))
        ports.say("clean_up: done; execution failed: %s" % (latest.error or {}).get("detail", ""))
    else:
        ports.say("clean_up: repair host deleted")
    return FlowState(executionId=exec_id, ready=True, attempt=0, failed=failed)
