"""Step 8: snapshot the repaired disk (ClientToken, tags) and wait until it is accomplished, then
delete the disk. The disk is Available, off its released host (release_repair_host); the agent
unmounted and synced it before it answered, so no flush sleep is needed. Called again by the
flow's Wait loop: the create runs once, later calls only look at the snapshot.

The disk goes as soon as the snapshot is accomplished (DeleteDisk refuses a disk with a snapshot
in progress, DiskCreatingSnapshot): the image needs only the snapshot. A disk that cannot be
deleted here does not fail the repair: clean-up deletes it again and reports it if it still
cannot (``cleanUp.notDeleted``); a transient failure is retried by the flow like any other."""
from ..cloud_errors import CloudError
from ..models import FlowEvent, FlowState
from .common import (Ports, ResourceFailed, client_token, load, once, poll, remaining_from_progress, result_of,
                     seconds_since, skipped_in_dry_run, tags_for)
from .check_source_image import STEP as CHECK
from .pool_host import pooled, snapshot_room
from .transient import transient_kind
from .wait_until_ready import STEP as READY

STEP = "snapshot_repaired_disk"
CREATE = STEP + ".create"
DISK_DELETED = STEP + ".disk"
FIRST_WAIT_S = 10


def delete_disk(ports: Ports, execution_id: str, disk_id: str) -> None:
    """The repaired disk, once its snapshot is accomplished; the outcome is recorded (DISK_DELETED)
    for clean-up, which deletes it again when this could not."""
    try:
        ports.ecs.delete_disk(disk_id)
        outcome = {"diskId": disk_id, "deleted": True}
        ports.say("disk %s deleted" % disk_id)
    except CloudError as error:
        if transient_kind(error):
            raise
        outcome = {"diskId": disk_id, "deleted": False, "code": error.service_code}
        ports.say("disk %s not deleted (%s): clean-up deletes it" % (disk_id, error.service_code))
    ports.store.record_step_result(execution_id, DISK_DELETED, outcome)


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    if request.dryRun:
        return skipped_in_dry_run(ports, event, STEP, "nothing to snapshot")
    source, ready = result_of(execution, CHECK), result_of(execution, READY)

    def create() -> dict:
        snapshot_id = ports.ecs.create_snapshot(
            ready["diskId"], "image-repair-%s" % source["imageId"],
            "repaired system disk of %s (execution %s)" % (source["imageId"], execution.execution_id),
            tags_for(execution), client_token(execution.execution_id, STEP))
        return {"snapshotId": snapshot_id}

    if pooled(execution) and CREATE not in execution.steps:
        snapshot_room(ports)            # a batch's snapshots under the pool's bound (PoolBusy: retried)
    snapshot_id = once(ports, execution.execution_id, CREATE, create)["snapshotId"]

    def check():
        snapshot = ports.ecs.describe_snapshot(snapshot_id)
        if snapshot is None or snapshot.get("Status") == "failed":
            raise ResourceFailed("snapshot %s %s" % (snapshot_id, "failed" if snapshot else "disappeared"))
        if snapshot.get("Status") != "accomplished":
            # its Progress tells how long it still needs: look again about then
            remaining = remaining_from_progress(seconds_since(ports, execution, CREATE), snapshot.get("Progress"))
            return False, "snapshot %s (%s)" % (snapshot_id, snapshot.get("Progress") or snapshot.get("Status")), \
                {}, remaining
        delete_disk(ports, execution.execution_id, ready["diskId"])
        return True, "snapshot %s accomplished" % snapshot_id, {"snapshotId": snapshot_id}

    return poll(ports, event, STEP, check, FIRST_WAIT_S)
