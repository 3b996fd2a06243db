"""The domain rules every part of the control plane decides by, in one place: which images the
workflow repairs, which of their check items are at risk, and the tags that mark what it made.

Read by the steps (check_source_image refuses, watch_source_image decides, the report compares,
finish tags), by the triggers (the sweep selects, the janitor finds what is left) and by tests.
Pure functions over the API's own shapes (DescribeImages' ``Image``): no call, no store.

Check item names are read in both spellings (``Virtio`` and ``GUESTOS.Virtio``) through
``agent/items/checknames.py``.
"""
from typing import List, Optional, Protocol, Sequence

from ..agent.items.checknames import SYSTEM_IMAGE, is_check_item, repair_item_for

# Tags the workflow puts on what it makes, and on the source image it repaired.
TAG_EXECUTION = "image-repair:execution"            # every instance, disk, snapshot, image of an execution
TAG_SOURCE_IMAGE = "image-repair:source-image"      # beside it: the image being repaired
TAG_REPAIRED_BY = "image-repair:repaired-by"        # on the source image, once a new image exists

ARCHITECTURES = ("x86_64", "arm64")


class RiskPolicy(Protocol):
    """Which risks call for a repair (``models.WatchPolicy``, ``triggers.sweep.SweepPolicy``)."""
    items: Optional[List[str]]        # repair items acted on (None: every item)
    riskLevels: Sequence[str]         # check risk levels acted on ("High", "Medium")


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


def at_risk_items(image: dict, policy: RiskPolicy) -> List[str]:
    """Repair items for the check items at risk at one of the policy's levels, in the policy's
    items (sorted). The sweep's selection and the watch's decision: one rule for both."""
    risky = [i for i in check_items(image) if i.get("riskLevel") in policy.riskLevels]
    if not risky:           # most images: skip the item lookup
        return []
    items = repair_items_at_risk(risky)
    return sorted(set(i for i in items if policy.items is None or i in policy.items))


def refusal(image: dict) -> str:
    """Why this image cannot be repaired ("" when it can): not owned by the account (public,
    shared, marketplace), not Linux, not x86_64/arm64, not Available, encrypted, no system-disk
    snapshot (the mapping with ``Type == "system"``, never ``DiskDeviceMapping[0]``), or flagged by
    its check as no real system disk (``SystemImage`` Invalid, which the seed refuses)."""
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
