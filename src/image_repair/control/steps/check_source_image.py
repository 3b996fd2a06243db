"""Step 1: check the source image and take its lock.

Refused (``ImageNotRepairable``, nothing created): not owned by the account (public, shared,
marketplace), not Linux, not x86_64/arm64, encrypted, not Available, no system-disk snapshot, or
flagged by its check as no real system disk (``SystemImage`` Invalid, which the seed refuses).
The system disk is the mapping with ``Type == "system"`` (never ``DiskDeviceMapping[0]``).

The rules (what is refused, which check items are at risk) are ``policy.py``'s, shared with the
watch and the sweep.
"""
from ...agent.items import SEED_DEFAULT
from ..models import FlowEvent, FlowState
from ..policy import check_items, refusal, repair_items_at_risk
from ..store import LockHeld
from .common import ImageBusy, ImageNotFound, ImageNotRepairable, Ports, StepError, done, load, once

STEP = "check_source_image"
LOCK_TTL_S = 24 * 3600          # a repair takes well under a day; clean-up releases it earlier


def summarize(image: dict, requested: list, engine: str) -> dict:
    mappings = image["DiskDeviceMappings"]["DiskDeviceMapping"]
    system = next(m for m in mappings if m.get("Type") == "system")
    items = check_items(image)
    at_risk = repair_items_at_risk(items)
    if requested == ["auto"]:
        # The agent detects on the disk itself; the public command needs names: the check's risks
        # (or the seed's default list when the check found none).
        resolved = ["auto"] if engine == "agent" else (at_risk or list(SEED_DEFAULT))
    else:
        resolved = list(requested)
    return {
        "imageId": image["ImageId"], "name": image.get("ImageName", ""), "platform": image.get("Platform", ""),
        "osName": image.get("OSName", ""), "architecture": image["Architecture"],
        "bootMode": image.get("BootMode") or "BIOS", "description": image.get("Description", ""),
        "systemSnapshotId": system["SnapshotId"], "systemSize": int(system.get("Size") or 20),
        "dataDisks": [{"snapshotId": m.get("SnapshotId"), "size": int(m.get("Size") or 0),
                       "device": m.get("Device", "")} for m in mappings if m.get("Type") == "data"],
        "checkStatus": (image.get("DetectionOptions") or {}).get("Status", ""),
        "itemsBefore": items, "itemsAtRisk": at_risk, "items": resolved,
    }


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)

    def work() -> dict:
        region = getattr(ports.ecs, "region", request.regionId)
        if region != request.regionId:
            # The functions call ECS in their own region: a repair runs where the image is.
            raise StepError("the image is in %s but this workflow runs in %s: deploy or run it there"
                            % (request.regionId, region), "RegionMismatch")
        image = ports.ecs.describe_image(request.repairImageId)
        if image is None:
            raise ImageNotFound("image %s does not exist in %s" % (request.repairImageId, request.regionId))
        reason = refusal(image)
        if reason:
            raise ImageNotRepairable(reason)
        try:
            ports.store.acquire_lock(request.repairImageId, owner=execution.execution_id, ttl_s=LOCK_TTL_S)
        except LockHeld as held:
            raise ImageBusy("%s is already being repaired by execution %s" % (request.repairImageId, held.lock.owner))
        return summarize(image, request.repairItems, request.engine)

    summary = once(ports, execution.execution_id, STEP, work)
    ports.say("source image %s (%s, %s): items %s" % (summary["imageId"], summary["platform"],
                                                     summary["architecture"], " ".join(summary["items"])))
    return done(event)
