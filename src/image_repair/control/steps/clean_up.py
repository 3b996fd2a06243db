"""Step 11: clean up, after success and after every failure.

First, an error that escaped a function without a cause recorded by our code (a function killed at
its timeout, a runtime crash, a platform error past the flow's Retry rules) is not the end: the
failed state runs again (``resume``, at most MAX_RESUMES times per state) once its lease has
expired; every step is idempotent, so it carries on where the killed attempt stopped.

Otherwise deletes what this execution created, found both by the store's records and by its tag
(so a resource whose create answer was lost is found too), looking only for the kinds of resource
the flow had reached: the repair host always (its disks go with it while DeleteWithInstance is on);
on failure also the new image(s) and snapshot(s); and, once the flow may have kept the repaired
disk past its host (release_repair_host), that disk, unless the snapshot step deleted it already.
The disk is known from the store before any call could have changed it (wait_until_ready records
it), so no tag lookup is needed for it. Already gone is success. "Not yet" answers
(``IncorrectInstanceStatus.Initializing``, the protection window after creation; a disk still
Detaching or with a snapshot in progress) make the flow's Wait loop come back, up to its last
attempt (ATTEMPTS), which names what is still "not yet" as not deleted. A resource
that cannot be deleted is recorded (``cleanUp.notDeleted``), the others are still deleted, and the
answer says ``incomplete``. A transient error is raised to the handler, which answers "retry": every
deletion here is idempotent. Then releases the lock, and on failure records the execution as FAILED
with its first cause and what was done."""
from typing import List, Optional, Set

from ..cloud_errors import CloudError
from ..models import FlowEvent, FlowState
from ..policy import TAG_EXECUTION
from ..store import ExecutionStatus
from .common import LEASE_MARGIN_S, Ports, StepError, next_wait
from .report import build_report
from .release_repair_host import RELEASE as RELEASED, STEP as RELEASE_STEP
from .pool_host import DISK_CREATED, detach_for_clean_up, give_back_everything, pooled
from .snapshot_repaired_disk import DISK_DELETED
from .transient import transient_kind

STEP = "clean_up"
RESUMES = "clean_up.resumes"
MAX_RESUMES = 3
FIRST_WAIT_S = 10
NOT_YET = {"instance": ("IncorrectInstanceStatus.Initializing", "IncorrectInstanceStatus", "InstanceLockedForSecurity"),
           # Detaching from its released host, or its snapshot still progressing (DeleteDisk's errors)
           "disk": ("IncorrectDiskStatus", "IncorrectDiskStatus.Initializing", "DiskCreatingSnapshot",
                    "DiskStillAttached")}
# A create may have been sent (its answer possibly lost) only once the flow reached its step, that is
# once the step before it is recorded: there is nothing of that kind to look for before. Likewise the
# repaired disk may outlive the host only once the release step may have run.
LAUNCH_AFTER, SNAPSHOT_AFTER, IMAGE_AFTER = "choose_base_image", "release_repair_host", "snapshot_repaired_disk"
RELEASE_AFTER = "wait_for_repair"
# The flow's IsCleanedUp gives up once the attempt reaches this (state_machine/repair_image.yaml,
# "$Input.attempt >= 20"). The last attempt names what is still not deletable and ends the
# execution with its first cause: gone past the bound, it would stay RUNNING with no report, and
# the janitor never touches a RUNNING execution's resources (a disk stuck Detaching, issue 12).
ATTEMPTS = 20


def record_failure(ports: Ports, event: FlowEvent) -> None:
    """Keep the first error (a later retry of clean-up, or a later failure, must not replace it)."""
    def change(execution):
        if execution.error is None:
            execution.error = {"code": event.errorCode, "detail": (event.errorDetail or "")[:2000],
                               "state": event.failedState}
        return execution
    ports.store.update_execution(event.executionId, change)


def resume_answer(ports: Ports, event: FlowEvent, execution) -> Optional[FlowState]:
    """An unexplained failure (caught by the flow, no cause of ours recorded): run the failed state
    again after its lease expires, up to MAX_RESUMES times per state; None: clean up instead."""
    if not event.caught or execution.error is not None or not event.failedState:
        return None
    recorded = execution.steps.get(RESUMES)
    counts = dict(recorded.result) if recorded else {}
    done = int(counts.get(event.failedState, 0))
    if done >= MAX_RESUMES:
        return None
    counts[event.failedState] = done + 1
    ports.store.record_step_result(execution.execution_id, RESUMES, counts)
    wait = int(LEASE_MARGIN_S) + 5
    ports.say("clean_up: %s failed without a recorded cause (%s); running it again in %d s (%d/%d)"
              % (event.failedState, event.errorCode, wait, done + 1, MAX_RESUMES))
    return FlowState(executionId=execution.execution_id, ready=False, resume=True, resumeState=event.failedState,
                     waitSeconds=wait, waitingFor="resume of %s" % event.failedState)


def from_store_steps(ports: Ports, execution_id: str, step: str, key: str) -> Set[str]:
    """Results of steps completed in the idempotency records (also those not yet on the execution)."""
    record = ports.store.get_step(execution_id, step)
    value = (record.result or {}).get(key) if record is not None and record.result else None
    return {value} if value else set()


def kept_disks(ports: Ports, execution) -> Set[str]:
    """The repaired disk, if the flow may have kept it past its host and it is not known deleted.
    Pooled, the disk is the execution's own from its CreateDisk on (pool_host.py)."""
    deleted = execution.steps.get(DISK_DELETED)
    if pooled(execution):
        if deleted is not None and (deleted.result or {}).get("deleted"):
            return set()
        return from_store_steps(ports, execution.execution_id, DISK_CREATED, "diskId")
    released = execution.steps.get(RELEASE_STEP)
    if RELEASE_AFTER not in execution.steps or (released is not None and (released.result or {}).get("skipped")):
        return set()                    # not reached, or a dry run: the disk went with its host
    deleted = execution.steps.get(DISK_DELETED)
    if deleted is not None and (deleted.result or {}).get("deleted"):
        return set()
    return from_store_steps(ports, execution.execution_id, "wait_until_ready", "diskId")


class Deleter:
    """Deletes resources one by one, keeping going past a resource that cannot be deleted."""

    def __init__(self, ports: Ports):
        self.ports = ports
        self.not_deleted: List[dict] = []
        self.not_yet: List[str] = []
        self.not_yet_why: dict = {}           # resource id -> (kind, code)

    def delete(self, kind: str, resource_id: str) -> None:
        try:
            {"instance": self.ports.ecs.delete_instance, "image": self.ports.ecs.delete_image,
             "snapshot": self.ports.ecs.delete_snapshot, "disk": self.ports.ecs.delete_disk}[kind](resource_id)
        except CloudError as error:
            if transient_kind(error):
                raise                                   # the whole step again, after a wait
            if error.service_code in NOT_YET.get(kind, ()):
                self.not_yet.append(resource_id)
                self.not_yet_why[resource_id] = (kind, error.service_code)
                return
            self.not_deleted.append({"kind": kind, "id": resource_id, "code": error.service_code,
                                     "message": str(error)[:300]})

    def delete_pooled_disk(self, execution, disk_id: str) -> None:
        """A pooled execution's disk: off its pool host first (DetachDisk), then deleted; the
        host itself is the pool's and stays."""
        try:
            off = detach_for_clean_up(self.ports, execution, disk_id)
        except CloudError as error:
            if transient_kind(error):
                raise
            self.not_deleted.append({"kind": "disk", "id": disk_id, "code": error.service_code,
                                     "message": "could not detach it from its pool host: %s" % str(error)[:300]})
            return
        if off:
            self.delete("disk", disk_id)
        else:
            self.not_yet.append(disk_id)

    def delete_kept_disk(self, disk_id: str, host_ids: Set[str]) -> None:
        """The repaired disk, after its host: while the host is not deleted yet it is not either
        (a disk still attached cannot go). If the host could not be deleted, neither can the disk:
        it is given back to the host (DeleteWithInstance on again), so that the host's
        AutoReleaseTime, the last safety net, releases both."""
        stuck = [item["id"] for item in self.not_deleted if item["kind"] == "instance" and item["id"] in host_ids]
        if stuck:
            try:
                self.ports.ecs.set_delete_with_instance(disk_id, True)
                outcome = "DeleteWithInstance restored: its AutoReleaseTime releases both"
            except CloudError as error:
                if transient_kind(error):
                    raise
                outcome = "DeleteWithInstance could not be restored (%s)" % error.service_code
            self.not_deleted.append({"kind": "disk", "id": disk_id, "code": "HostNotDeleted",
                                     "message": "attached to repair host %s, which could not be deleted; %s"
                                     % (stuck[0], outcome)})
        elif any(host in self.not_yet for host in host_ids):
            self.not_yet.append(disk_id)
            self.not_yet_why[disk_id] = ("disk", "HostNotDeletedYet")
        else:
            self.delete("disk", disk_id)

    def give_up_waiting(self, attempts: int) -> None:
        """The flow's last clean-up attempt: what is still "not yet" is left behind, named."""
        for resource_id in self.not_yet:
            kind, code = self.not_yet_why.get(resource_id, ("resource", "NotDeletableYet"))
            self.not_deleted.append({"kind": kind, "id": resource_id, "code": code,
                                     "message": "still not deletable after %d clean-up attempts" % attempts})
        self.not_yet = []

    def tagged(self, execution_id: str, kinds: tuple) -> Set[tuple]:
        if not kinds:
            return set()
        try:
            return set(self.ports.ecs.tagged(TAG_EXECUTION, execution_id, kinds=kinds))
        except CloudError as error:
            if transient_kind(error):
                raise
            self.not_deleted.append({"kind": "/".join(kinds), "id": "(tag lookup)", "code": error.service_code,
                                     "message": "resources whose create answer was lost cannot be found: %s"
                                     % str(error)[:300]})
            return set()


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution = ports.store.get_execution(event.executionId)
    if execution is None:
        raise StepError("no execution %r in the store" % event.executionId, "ExecutionNotFound")
    resume = resume_answer(ports, event, execution)
    if resume is not None:
        return resume
    if event.errorCode:
        record_failure(ports, event)
        execution = ports.store.get_execution(event.executionId)
    failed = execution.error is not None
    exec_id = execution.execution_id
    reached = set(execution.steps)
    kinds = tuple(kind for kind, after in (("instance", LAUNCH_AFTER), ("snapshot", SNAPSHOT_AFTER),
                                           ("image", IMAGE_AFTER))
                  if after in reached and (failed or kind == "instance"))
    if pooled(execution) and failed:     # a disk whose CreateDisk answer was lost carries our tag
        kinds += ("disk",)
    deleter = Deleter(ports)
    tagged = deleter.tagged(exec_id, kinds)
    # the host the release step deleted (its answer recorded) is not deleted again
    instances = (from_store_steps(ports, exec_id, "launch_repair_instance", "instanceId") |
                 {rid for kind, rid in tagged if kind == "instance"}) - \
        from_store_steps(ports, exec_id, RELEASED, "instanceId")
    for instance_id in sorted(instances):
        deleter.delete("instance", instance_id)
    if failed:
        images = from_store_steps(ports, exec_id, "create_repaired_image", "imageId") | \
            {rid for kind, rid in tagged if kind == "image"}
        for image_id in sorted(images):      # images first: a snapshot in use by an image cannot go
            deleter.delete("image", image_id)
        snapshots = from_store_steps(ports, exec_id, "snapshot_repaired_disk.create", "snapshotId") | \
            {rid for kind, rid in tagged if kind == "snapshot"}
        for snapshot_id in sorted(snapshots):
            deleter.delete("snapshot", snapshot_id)
    if pooled(execution):
        disks = kept_disks(ports, execution) | ({rid for kind, rid in tagged if kind == "disk"} if failed else set())
        for disk_id in sorted(disks):
            deleter.delete_pooled_disk(execution, disk_id)
    else:
        for disk_id in sorted(kept_disks(ports, execution)):
            deleter.delete_kept_disk(disk_id, instances)
    if deleter.not_yet and event.attempt + 1 >= ATTEMPTS:
        deleter.give_up_waiting(event.attempt + 1)
    if pooled(execution) and not deleter.not_yet:
        give_back_everything(ports, execution)        # after the disk is off the host: the slot is free
    if deleter.not_yet:
        wait = next_wait(FIRST_WAIT_S, event.attempt)
        ports.say("clean_up: %s not deletable yet, again in %d s" % (", ".join(deleter.not_yet), wait))
        return FlowState(executionId=exec_id, ready=False, attempt=event.attempt + 1, waitSeconds=wait,
                         waitingFor="deletion of %s" % ", ".join(deleter.not_yet), failed=failed)
    ports.store.release_lock(execution.source_image_id, owner=exec_id)
    if execution.steps.get(STEP) is None:
        ports.store.record_step_result(exec_id, STEP, {"deletedInstances": sorted(instances), "failed": failed,
                                                       "notDeleted": deleter.not_deleted})
    if failed:
        finish_failed(ports, exec_id, deleter.not_deleted)
    elif deleter.not_deleted:
        ports.say("clean_up: could not delete %s" % ", ".join(item["id"] for item in deleter.not_deleted))
    else:
        ports.say("clean_up: repair host and disk deleted")
    return FlowState(executionId=exec_id, ready=True, attempt=0, failed=failed, incomplete=bool(deleter.not_deleted))


def finish_failed(ports: Ports, execution_id: str, not_deleted: List[dict]) -> None:
    """The execution ends FAILED with its first cause, and what clean-up could not delete."""
    def change(execution):
        if not_deleted:
            execution.error = dict(execution.error or {}, cleanUp={"notDeleted": not_deleted})
        return execution
    latest = ports.store.update_execution(execution_id, change)
    ports.store.finish_execution(execution_id, ExecutionStatus.FAILED, report=build_report(latest, latest.error))
    detail = (latest.error or {}).get("detail", "")
    left = "; left behind: %s" % ", ".join(i["id"] for i in not_deleted) if not_deleted else ""
    ports.say("clean_up: done; execution failed: %s%s" % (detail, left))
