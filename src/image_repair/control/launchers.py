"""Launchers: how a recorded repair execution gets started.

Every entry point (the ``start`` function, EventBridge events, the scheduled sweep) records the
execution in the store first (deterministic id: the same repair asked twice is one execution), then
asks a launcher to run it:

* ``CloudFlowLauncher``: CloudFlow StartExecution named by the execution id (the cloud default;
  CloudFlow itself refuses a second execution of one name);
* ``LocalLauncher``: the same flow definition run in-process by the local runner (the embedded
  defaults), synchronously;
* other fan-outs (Function Compute asynchronous invocation) implement the same ``launch``.

``start_execution`` is the one place that does "validate, record, launch" for all of them.
"""
from typing import NamedTuple, Optional

from .steps.start import record_execution


class Launched(NamedTuple):
    execution_id: str
    created: bool        # the store had no such execution before
    started: bool        # this call started a run (False: a duplicate, or already finished)
    status: str          # the execution's status after the call


class CloudFlowLauncher:
    idempotent = True                     # a second start of one name is refused by CloudFlow

    def __init__(self, starter):
        self.starter = starter            # clients.cloudflow.CloudFlowStarter

    def launch(self, execution_id: str) -> bool:
        from .models import flow_input
        return self.starter.start(execution_id, flow_input(execution_id))["started"]


class LocalLauncher:
    """Runs the execution to its end before returning (one machine, no queue)."""
    idempotent = False

    def __init__(self, ports, clock=None):
        self.ports, self.clock = ports, clock

    def launch(self, execution_id: str) -> bool:
        from .handlers.local import run_execution
        run_execution(self.ports, execution_id, clock=self.clock)
        return True


def start_execution(store, launcher, raw: dict, defaults: Optional[dict] = None) -> Launched:
    """Validate ``raw`` (the start parameters, seed names), record the execution, launch it when it
    is new. A duplicate of a finished execution starts nothing; a duplicate of a running one is
    launched again only through an idempotent launcher (CloudFlow: this heals a start that crashed
    between recording and launching). Raises ``models.InvalidRequest`` on bad parameters, before
    anything is recorded."""
    from .store import ExecutionStatus
    execution, created, _request = record_execution(store, raw, defaults)
    relaunch = execution.status == ExecutionStatus.RUNNING and getattr(launcher, "idempotent", False)
    started = launcher.launch(execution.execution_id) if (created or relaunch) else False
    execution = store.get_execution(execution.execution_id) or execution
    return Launched(execution.execution_id, created, started, execution.status.value)
