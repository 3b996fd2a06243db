"""Step 7: snapshot the repaired disk (ClientToken, tags) and wait until it is accomplished.
The agent unmounts and syncs before it answers, so no flush sleep is needed. Called again by the
flow's Wait loop: the create runs once, later calls only look at the snapshot."""
from ..models import FlowEvent, FlowState
from .common import (Ports, ResourceFailed, client_token, load, once, poll, remaining_from_progress, result_of,
                     seconds_since, skipped_in_dry_run, tags_for)
from .check_source_image import STEP as CHECK
from .wait_until_ready import STEP as READY

STEP = "snapshot_repaired_disk"
CREATE = STEP + ".create"
FIRST_WAIT_S = 10


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
        return True, "snapshot %s accomplished" % snapshot_id, {"snapshotId": snapshot_id}

    return poll(ports, event, STEP, check, FIRST_WAIT_S)
