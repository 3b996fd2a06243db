"""Step 10: wait until the new image is Available and its own check Finished; read its items
(after); mark it NvmeSupport=supported when nvme was repaired (or found fine) by the agent."""
from ..models import FlowEvent, FlowState
from ..policy import check_items
from .common import (Ports, ResourceFailed, load, once, poll, remaining_from_progress, result_of, seconds_since,
                     skipped_in_dry_run)
from .check_source_image import STEP as CHECK
from .create_repaired_image import STEP as CREATE
from .wait_for_repair import STEP as REPAIR

STEP = "wait_for_image_check"
NVME = STEP + ".nvme"
FIRST_WAIT_S = 15
# Typical durations (docs/emulator.md, LatencyModel): CreateImage from an accomplished snapshot
# ~60 s + ~3 s per GiB, then the image check (DetectionStrategy=Standard) ~300 s. The first look
# waits for their expected end; the image's own Progress refines it while it is Creating.
TYPICAL_IMAGE_BASE_S, TYPICAL_IMAGE_S_PER_GIB, TYPICAL_CHECK_S = 60.0, 3.0, 300.0


def remaining_estimate(elapsed_s: float, image: dict, size_gib: int):
    """Seconds until the image is Available and checked, if it goes at the typical pace."""
    if image.get("Status") == "Creating":
        creating = remaining_from_progress(elapsed_s, image.get("Progress"))
        if creating is not None:
            return creating + TYPICAL_CHECK_S
    return TYPICAL_IMAGE_BASE_S + TYPICAL_IMAGE_S_PER_GIB * size_gib + TYPICAL_CHECK_S - elapsed_s


def nvme_ready(repair: dict) -> bool:
    items = (repair.get("report") or {}).get("items", [])
    return any(i.get("name") == "nvme" and i.get("status") in ("repaired", "ok") for i in items)


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    if request.dryRun:
        return skipped_in_dry_run(ports, event, STEP, "no image")
    image_id = result_of(execution, CREATE)["imageId"]
    source = result_of(execution, CHECK)
    size_gib = int(source.get("systemSize") or 20) + sum(int(d.get("size") or 0) for d in source.get("dataDisks", []))

    def check():
        image = ports.ecs.describe_image(image_id)
        if image is None or image.get("Status") in ("CreateFailed", "UnAvailable"):
            raise ResourceFailed("image %s %s" % (image_id, image.get("Status") if image else "disappeared"))
        remaining = remaining_estimate(seconds_since(ports, execution, CREATE), image, size_gib)
        if image.get("Status") != "Available":
            return False, "image %s Available (%s %s)" % (image_id, image.get("Status"), image.get("Progress")), \
                {}, remaining
        detection = (image.get("DetectionOptions") or {}).get("Status")
        if detection != "Finished":
            return False, "image check of %s (%s)" % (image_id, detection or "not started"), {}, remaining
        return True, "image %s Available, check Finished" % image_id, {"itemsAfter": check_items(image)}

    state = poll(ports, event, STEP, check, FIRST_WAIT_S)
    if state.ready and nvme_ready(result_of(execution, REPAIR)):
        once(ports, execution.execution_id, NVME, lambda: ports.ecs.set_nvme_support(image_id) or {"nvme": "supported"})
    return state
