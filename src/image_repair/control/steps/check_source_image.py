"""Step 1: check the source image and take its lock.

Refused (``ImageNotRepairable``, nothing created): not owned by the account (public, shared,
marketplace), not Linux, not x86_64/arm64, encrypted, not Available, no system-disk snapshot, or
flagged by its check as no real system disk (``SystemImage`` Invalid, which the seed refuses).
The system disk is the mapping with ``Type == "system"`` (never ``DiskDeviceMapping[0]``).

Check item names are read in both spellings (``Virtio`` and ``GUESTOS.Virtio``) through
``agent/items/checknames.py``; the sweep, the watch and the report read them through here.
"""
from ...agent.items.checknames import SYSTEM_IMAGE, is_check_item, repair_item_for
from ..models import FlowEvent, FlowState
from ..store import LockHeld
from .common import ImageBusy, ImageNotFound, ImageNotRepairable, Ports, StepError, done, load, once

STEP = "check_source_image"
ARCHITECTURES = ("x86_64", "arm64")
LOCK_TTL_S = 24 * 3600          # a repair takes well under a day; clean-up releases it earlier


def check_items(image: dict) -> list:
    """The image's check items as the API names them, each with ``repairItem`` when a repair item
    answers it: the report's before/after compare by that, whichever spelling the check used."""
    items = ((image.get("DetectionOptions") or {}).get("Items") or {}).get("Item") or []
    return [{k: v for k, v in (("name", i.get("Name")), ("value", i.get("Value")),
                                ("riskLevel", i.get("RiskLevel")), ("riskCode", i.get("RiskCode")),
                                ("repairItem", repair_item_for(i.get("Name")))) if v}
            for i in items]


def repair_items_at_risk(items: list) -> list:
    """The repair items that fix the check items at risk (Virtio or GUESTOS.Virtio at risk ->
    virtio), each once, in the check's order."""
    found = []
    for entry in items:
        item = repair_item_for(entry.get("name"))
        if entry.get("riskLevel") and item and item not in found:
            found.append(item)
    return found


def refusal(image: dict) -> str:
    """Why this image cannot be repaired ("" when it can)."""
    image_id = image.get("ImageId")
    owner = image.get("ImageOwnerAlias")
    if owner != "self":
        return "%s is a %s image, not a custom image of this account: copy it first" % (image_id, owner)
    if str(image.get("OSType", "")).lower() != "linux":
        return "%s is a %s image: only Linux images are repaired" % (image_id, image.get("OSType"))
    if image.get("Architecture") not in ARCHITECTURES:
        return "%s has architecture %s (supported: %s)" % (image_id, image.get("Architecture"),
                                                          ", ".join(ARCHITECTURES))
    if image.get("Status") != "Available":
        return "%s is %s, not Available" % (image_id, image.get("Status"))
    mappings = (image.get("DiskDeviceMappings") or {}).get("DiskDeviceMapping") or []
    if any(str(m.get("Encrypted", "false")).lower() == "true" for m in mappings):
        return "%s has encrypted disks: the repair host cannot attach them" % image_id
    system = [m for m in mappings if m.get("Type") == "system"]
    if len(system) != 1 or not system[0].get("SnapshotId"):
        return "%s has no system-disk snapshot" % image_id
    for item in check_items(image):
        if is_check_item(item.get("name"), SYSTEM_IMAGE) and item.get("value") == "Invalid":
            return "%s: its image check found no valid system disk (SystemImage Invalid)" % image_id
    return ""


def summarize(image: dict, requested: list, engine: str) -> dict:
    mappings = image["DiskDeviceMappings"]["DiskDeviceMapping"]
    system = next(m for m in mappings if m.get("Type") == "system")
    items = check_items(image)
    at_risk = repair_items_at_risk(items)
    if requested == ["auto"]:
        # The agent detects on the disk itself; the public command needs names: the check's risks
        # (or the seed's default list when the check found none).
        from ...agent.items import SEED_DEFAULT
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
