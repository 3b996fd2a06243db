"""Step 9: wait until the new image is Available and its own check Finished; read its items
(after); mark it NvmeSupport=supported when nvme was repaired (or found fine) by the agent."""
from ..models import FlowEvent, FlowState
from .check_source_image import check_items
from .common import Ports, ResourceFailed, done, load, once, poll, result_of
from .create_repaired_image import STEP as CREATE
from .wait_for_repair import STEP as REPAIR

STEP = "wait_for_image_check"
NVME = STEP + ".nvme"
FIRST_WAIT_S = 15


def nvme_ready(repair: dict) -> bool:
    items = (repair.get("report") or {}).get("items", [])
    return any(i.get("name") == "nvme" and i.get("status") in ("repaired", "ok") for i in items)


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    if request.dryRun:
        once(ports, execution.execution_id, STEP, lambda: {"skipped": "dry run: no image"})
        return done(event)
    image_id = result_of(execution, CREATE)["imageId"]

    def check():
        image = ports.ecs.describe_image(image_id)
        if image is None or image.get("Status") in ("CreateFailed", "UnAvailable"):
            raise ResourceFailed("image %s %s" % (image_id, image.get("Status") if image else "disappeared"))
        if image.get("Status") != "Available":
            return False, "image %s Available (%s %s)" % (image_id, image.get("Status"), image.get("Progress")), {}
        detection = (image.get("DetectionOptions") or {}).get("Status")
        if detection != "Finished":
            return False, "image check of %s (%s)" % (image_id, detection or "not started"), {}
        return True, "image %s Available, check Finished" % image_id, {"itemsAfter": check_items(image)}

    state = poll(ports, event, STEP, check, FIRST_WAIT_S)
    if state.ready and nvme_ready(result_of(execution, REPAIR)):
        once(ports, execution.execution_id, NVME, lambda: ports.ecs.set_nvme_support(image_id) or {"nvme": "supported"})
    return state
