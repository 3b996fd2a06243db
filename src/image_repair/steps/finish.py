"""Step 11: the execution's result: new image id, items before and after, the agent's per-item
results, resources used, time per step; the execution becomes SUCCEEDED."""
from ..models import FlowEvent, FlowState
from ..store import ExecutionStatus
from .common import Ports, StepError
from .report import build_report

STEP = "finish"


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution = ports.store.get_execution(event.executionId)
    if execution is None:
        raise StepError("no execution %r in the store" % event.executionId, "ExecutionNotFound")
    if execution.status == ExecutionStatus.RUNNING:
        ports.store.finish_execution(execution.execution_id, ExecutionStatus.SUCCEEDED, report=build_report(execution))
    ports.say("finished: new image %s" % (build_report(execution).get("newImageId") or "(none: dry run)"))
    return FlowState(executionId=execution.execution_id)
