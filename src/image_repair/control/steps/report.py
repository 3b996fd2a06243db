"""The execution's report, built from what the steps recorded (success and failure alike).

Before/after: ``itemsBefore``/``itemsAfter`` are the check items as the API named them (either
spelling, each with its ``repairItem``); ``atRiskBefore``/``atRiskAfter`` are the repair items
whose check items were at risk, so the two compare whichever spelling each check used."""
from typing import Optional

from ..policy import repair_items_at_risk
from ..store import Execution

ORDER = ("check_source_image", "choose_base_image", "launch_repair_instance", "wait_until_ready", "start_repair",
         "wait_for_repair", "release_repair_host", "snapshot_repaired_disk", "create_repaired_image", "wait_for_image_check", "clean_up")


def step_times(execution: Execution) -> dict:
    """Seconds per step: from the previous step's end (or the execution's start) to its own end."""
    times, previous = {}, execution.created_at_ms
    # in the order recorded (steps is kept in insertion order; equal timestamps are common)
    recorded = [(r.finished_at_ms, name) for name, r in execution.steps.items() if "." not in name]
    for finished, name in recorded:
        times[name] = round(max(0, finished - previous) / 1000.0, 1)
        previous = finished
    return times


def build_report(execution: Execution, error: Optional[dict] = None) -> dict:
    def result(name: str) -> dict:
        recorded = execution.steps.get(name)
        return recorded.result if recorded else {}
    source, repair = result("check_source_image"), result("wait_for_repair")
    image, check = result("create_repaired_image"), result("wait_for_image_check")
    started = result("start_repair")
    report = {
        "executionId": execution.execution_id,
        "sourceImageId": execution.source_image_id,
        "newImageId": image.get("imageId"),
        "newImageName": image.get("name"),
        "dryRun": bool(execution.params.get("dryRun")),
        "itemsBefore": source.get("itemsBefore", []),
        "itemsAfter": check.get("itemsAfter", []),
        "atRiskBefore": repair_items_at_risk(source.get("itemsBefore", [])),
        "atRiskAfter": repair_items_at_risk(check.get("itemsAfter", [])),
        "repair": {"engine": started.get("engine") or execution.params.get("engine"),
                   "items": source.get("items", []),
                   "invocationStatus": repair.get("invocationStatus"),
                   "results": (repair.get("report") or {}).get("items", []),
                   "distribution": (repair.get("report") or {}).get("distribution", {})},
        "resources": {"baseImageId": result("choose_base_image").get("imageId"),
                      "instanceId": result("launch_repair_instance").get("instanceId"),
                      "diskId": result("wait_until_ready").get("diskId"),
                      "snapshotId": result("snapshot_repaired_disk").get("snapshotId"),
                      "imageId": image.get("imageId")},
        "stepSeconds": step_times(execution),
        # what clean-up could not delete (the janitor and AutoReleaseTime are the safety nets)
        "leftBehind": result("clean_up").get("notDeleted", []),
        "nvmeSupport": "supported" if "wait_for_image_check.nvme" in execution.steps else None,
    }
    if error:
        report["error"] = error
    return report
