"""The repair workflow on one machine: the deployed flow definition run by the local runner, with
each function name mapped to its step handler bound to the given ports.

The definition is package data (``image_repair/control/repair_image.yaml``, a symbolic link to
state_machine/repair_image.yaml in the source tree, the file itself in a wheel): an installed
package finds it without the source tree. Only this module loads the flow runner and PyYAML, and
only local runs load this module (launchers.LocalLauncher, the CLI)."""
from importlib import resources
from pathlib import Path
from typing import Optional

from .flow import FlowDefinition, FlowRunner, load_definition_file, parse_definition
from .models import flow_input
from .steps import FUNCTIONS
from .steps.runner import bound_handlers
from .store import ExecutionStatus

DEFINITION = resources.files(__package__) / "repair_image.yaml"      # the deployed flow, as package data


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


def load_repair_flow(path: Optional[Path] = None) -> FlowDefinition:
    """The packaged repair flow (or the definition at ``path``), validated against the step functions."""
    if path is not None:
        return load_definition_file(str(path), functions=set(FUNCTIONS))
    return parse_definition(DEFINITION.read_text(encoding="utf-8"), set(FUNCTIONS),
                            source="image_repair.control/repair_image.yaml")


def run_execution(ports, execution_id: str, clock=None, definition=None):
    """Run the flow for a recorded execution; -> the runner's ExecutionResult.

    If the flow ended Failed without its clean-up recording it (clean-up itself failed), the
    execution is marked FAILED here so ``status`` never shows a dead execution as RUNNING."""
    runner = FlowRunner(definition or load_repair_flow(), bound_handlers(ports), clock=clock,
                        region=getattr(ports.ecs, "region", "local"))
    result = runner.run(flow_input(execution_id), name=execution_id)
    execution = ports.store.get_execution(execution_id)
    if result.status != "Succeeded" and execution is not None and execution.status == ExecutionStatus.RUNNING:
        ports.store.finish_execution(execution_id, ExecutionStatus.FAILED,
                                     error={"code": result.error_code, "detail": result.error_detail})
    return result
