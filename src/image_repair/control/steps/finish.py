"""Step 11: the execution's result: new image id, items before and after, the agent's per-item
results, resources used, time per step; the execution becomes SUCCEEDED.

A real (not dry-run) repair also tags its SOURCE image ``image-repair:repaired-by=<execution id>``,
so the scheduled sweep sees from DescribeImages alone that the image was repaired (the store's
SUCCEEDED execution says it too). The tag is best effort: a source image that cannot take it (20
tags already, a RAM policy without TagResources) still ends SUCCEEDED, with ``sourceTagged`` false."""
import logging

from ..cloud_errors import CloudError
from ..models import FlowEvent, FlowState
from ..policy import TAG_REPAIRED_BY
from ..store import ExecutionStatus
from .common import Ports, StepError
from .report import build_report

STEP = "finish"
log = logging.getLogger(__name__)


def tag_source(ports: Ports, execution) -> bool:
    try:
        ports.ecs.tag_resources("image", [execution.source_image_id], {TAG_REPAIRED_BY: execution.execution_id})
        return True
    except CloudError as error:
        log.warning("finish.source_not_tagged", extra={"execution_id": execution.execution_id, "step": STEP,
                                                       "image_id": execution.source_image_id, "error": str(error)})
        return False


def at_risk(items: list) -> list:
    """The names of the check items at risk (the flow's output stays small)."""
    return [item.get("name") for item in items or [] if item.get("riskLevel")]


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution = ports.store.get_execution(event.executionId)
    if execution is None:
        raise StepError("no execution %r in the store" % event.executionId, "ExecutionNotFound")
    if execution.status == ExecutionStatus.RUNNING:
        report = build_report(execution)
        if report.get("newImageId"):
            report["sourceTagged"] = tag_source(ports, execution)
        execution = ports.store.finish_execution(execution.execution_id, ExecutionStatus.SUCCEEDED, report=report)
    report = execution.report or build_report(execution)
    ports.say("finished: new image %s" % (report.get("newImageId") or "(none: dry run)"))
    # The flow's output: the seed template's imageId, plus what a caller needs without reading the store.
    return FlowState(executionId=execution.execution_id, status=execution.status.value,
                     imageId=report.get("newImageId"), itemsAtRiskBefore=at_risk(report.get("itemsBefore")),
                     itemsAtRiskAfter=at_risk(report.get("itemsAfter")))
