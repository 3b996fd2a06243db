"""The repair workflow on one machine: the deployed flow definition run by the local runner, with
each function name mapped to its step handler bound to the given ports.

The definition is package data (``image_repair/control/repair_image.yaml``, a symbolic link to
state_machine/repair_image.yaml in the source tree, the file itself in a wheel): an installed
package finds it without the source tree. Only this module loads the flow runner and PyYAML, and
only local runs load this module (launchers.LocalLauncher, the CLI)."""
import heapq
import importlib
import threading
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


def import_steps() -> None:
    """Import every step module now, in this thread. The step runner imports a step on its first
    call; flows run side by side on threads would otherwise import step modules that import each
    other at the same moment, and Python's import locks may then hand one thread a partially
    initialised module (a precaution: Python documents the deadlock avoidance, not when it bites)."""
    for step in sorted(set(FUNCTIONS.values())):
        importlib.import_module("%s.steps.%s" % (__package__, step))


class ConcurrentCloudClock:
    """Several flows on one emulated cloud's virtual time, each run in its own thread: a flow's Wait
    blocks its thread until every flow is waiting, then the cloud's clock moves to the earliest
    wake-up and that flow goes on. A discrete-event schedule: the cloud's time when all are done is
    what truly parallel flows would take. The flows start together (their first steps race for
    real); from their first waits on, one runs at a time, each step seeing the cloud as of its
    moment. ``run(flows)`` runs them."""

    def __init__(self, backend, real_work=None):
        self.backend = backend
        # A disk-backed local cloud does real work (copies, the agent) in real time: before the
        # cloud's clock jumps, ``real_work(seconds)`` lets it finish, up to that long (wait_idle).
        self.real_work = real_work
        self.sleeps = []
        self._cond = threading.Condition()
        self._awake = 0                 # flows running (not waiting)
        self._wakes = []                # (wake time, order, wake flag)
        self._order = 0

    def now(self) -> float:
        return self.backend.clock.now()

    __call__ = now

    def sleep(self, seconds: float) -> None:
        with self._cond:
            self.sleeps.append(seconds)
            flag = [False]
            self._order += 1
            heapq.heappush(self._wakes, (self.now() + seconds, self._order, flag))
            self._awake -= 1
            self._wake_next()
            while not flag[0]:
                self._cond.wait()

    def _wake_next(self) -> None:
        """With every flow waiting: the cloud to the earliest wake-up, that flow on (lock held)."""
        if self._awake > 0 or not self._wakes:
            return
        when, _, flag = heapq.heappop(self._wakes)
        if self.real_work is not None and when > self.now():
            self.real_work(when - self.now())
        if when > self.now():
            self.backend.advance(when - self.now())
        flag[0] = True
        self._awake += 1
        self._cond.notify_all()

    def run(self, flows) -> list:
        """Run each callable of ``flows`` in a thread on this clock; -> their results, in order (an
        exception a flow raised is its result)."""
        import_steps()
        results = [None] * len(flows)

        def one(index, flow):
            try:
                results[index] = flow()
            except Exception as error:  # the caller judges it, as a result
                results[index] = error
            finally:
                with self._cond:
                    self._awake -= 1
                    self._wake_next()
        with self._cond:
            self._awake += len(flows)
        threads = [threading.Thread(target=one, args=(i, f), daemon=True) for i, f in enumerate(flows)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results
