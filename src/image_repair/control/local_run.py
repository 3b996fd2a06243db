"""The repair workflow on one machine: the deployed flow definition run by the local runner, with
each function name mapped to its step handler bound to the given ports."""
from pathlib import Path
from typing import Optional

from .steps.runner import bound_handlers

DEFINITION = Path(__file__).resolve().parents[3] / "state_machine" / "repair_image.yaml"


class CloudClock:
    """A flow clock on an emulated cloud's own virtual time: the flow's waits move the cloud."""

    def __init__(self, backend):
        self.backend = backend
        self.sleeps = []

    def now(self) -> float:
        return self.backend.clock.now()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.backend.advance(seconds)

    __call__ = now


def load_repair_flow(path: Optional[Path] = None):
    from .flow import load_definition_file
    from .steps import FUNCTIONS
    return load_definition_file(str(path or DEFINITION), functions=set(FUNCTIONS))


def run_execution(ports, execution_id: str, clock=None, definition=None):
    """Run the flow for a recorded execution; -> the runner's ExecutionResult.

    If the flow ended Failed without its clean-up recording it (clean-up itself failed), the
    execution is marked FAILED here so ``status`` never shows a dead execution as RUNNING."""
    from .flow import FlowRunner
    from .models import flow_input
    from .store import ExecutionStatus
    runner = FlowRunner(definition or load_repair_flow(), bound_handlers(ports), clock=clock,
                        region=getattr(ports.ecs, "region", "local"))
    result = runner.run(flow_input(execution_id), name=execution_id)
    execution = ports.store.get_execution(execution_id)
    if result.status != "Succeeded" and execution is not None and execution.status == ExecutionStatus.RUNNING:
        ports.store.finish_execution(execution_id, ExecutionStatus.FAILED,
                                     error={"code": result.error_code, "detail": result.error_detail})
    return result
