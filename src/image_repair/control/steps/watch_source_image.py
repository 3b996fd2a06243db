"""Step 0 of a watched repair (an EventBridge event: an image was just created, imported or
copied): wait until the image is Available and its own check (DetectionOptions) Finished, then
decide with the execution's policy whether it needs a repair.

* at risk (a repairable item whose check item, named in either spelling, is at risk at one of
  the policy's levels, among its items) -> ``ready`` and the flow goes on to CheckSourceImage,
  the normal repair;
* nothing at risk, or an image the workflow does not repair (Windows, public, encrypted...:
  ``policy.refusal``) -> the execution is finished here as SUCCEEDED with a report
  saying so (``healthy``), and the flow ends without launching anything;
* the image failed (CreateFailed, UnAvailable) or vanished -> an error, caught into clean-up.

Nothing is created and no lock is taken here: CheckSourceImage takes the lock as for any repair.
The decision is recorded once (the poll's step record): a retried call answers the same."""
from ..models import FlowEvent, FlowState, WatchPolicy
from ..policy import at_risk_items, check_items, refusal, repair_items_at_risk
from ..store import ExecutionStatus
from .common import ImageNotFound, Ports, ResourceFailed, load, poll

STEP = "watch_source_image"
# A new image from a snapshot is Available in about a minute and checked some minutes later; an
# ImportImage of a large disk takes much longer: look after 10 s, then x1.5 up to 300 s. The
# flow's Choice bounds the loop (45 looks: ~3 h).
FIRST_WAIT_S = 10
FAILED_STATUSES = ("CreateFailed", "UnAvailable")
HEALTHY_SUMMARY = "healthy, nothing to repair"


def decide(image: dict, policy: WatchPolicy) -> dict:
    """The recorded decision for an Available, checked image."""
    items = check_items(image)
    reason = refusal(image)
    at_risk = [] if reason else at_risk_items(image, policy)
    if reason:
        outcome = "not repairable: " + reason
    elif at_risk:
        outcome = "at risk: " + ", ".join(at_risk)
    else:
        outcome = HEALTHY_SUMMARY
    return {"imageId": image.get("ImageId"), "checkStatus": "Finished", "itemsBefore": items,
            "itemsAtRisk": at_risk, "policy": policy.model_dump(), "healthy": not at_risk, "outcome": outcome}


def finish_healthy(ports: Ports, execution_id: str, decision: dict) -> None:
    """End a watched execution that needs no repair: SUCCEEDED, a report that says why."""
    execution = ports.store.get_execution(execution_id)
    if execution is None or execution.status != ExecutionStatus.RUNNING:
        return
    report = {"sourceImageId": execution.source_image_id, "outcome": "healthy", "summary": decision["outcome"],
              "newImageId": None, "itemsBefore": decision["itemsBefore"],
              "atRiskBefore": repair_items_at_risk(decision["itemsBefore"]), "policy": decision["policy"],
              "stepSeconds": {}}
    ports.store.finish_execution(execution_id, ExecutionStatus.SUCCEEDED, report=report)


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    if not request.watch:
        # a plain repair has nothing to watch (its flow starts at CheckSourceImage): answer
        # "ready" and touch nothing, so a stray or repeated call changes nothing
        return FlowState(executionId=execution.execution_id, ready=True)
    policy = request.policy or WatchPolicy()
    image_id = request.repairImageId

    def check():
        image = ports.ecs.describe_image(image_id)
        if image is None:
            raise ImageNotFound("image %s does not exist in %s (deleted after the event?)" % (image_id, request.regionId))
        status = image.get("Status")
        if status in FAILED_STATUSES:
            raise ResourceFailed("image %s is %s: nothing to repair" % (image_id, status))
        if status != "Available":
            return False, "image %s Available (%s %s)" % (image_id, status, image.get("Progress") or ""), {}
        detection = (image.get("DetectionOptions") or {}).get("Status")
        if detection != "Finished":
            return False, "the check of image %s (%s)" % (image_id, detection or "not started"), {}
        decision = decide(image, policy)
        return True, "image %s Available, check Finished: %s" % (image_id, decision["outcome"]), decision

    state = poll(ports, event, STEP, check, FIRST_WAIT_S)
    if not state.ready:
        return state
    decision = ports.store.get_step(event.executionId, STEP).result   # also on a retried call
    if decision["healthy"]:
        finish_healthy(ports, event.executionId, decision)
    return state.model_copy(update={"healthy": decision["healthy"]})
