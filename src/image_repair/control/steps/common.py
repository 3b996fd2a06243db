"""What every step shares: its ports, its errors, idempotency helpers, ClientTokens, tags, polls.

A step is ``run(ports, event: FlowEvent) -> FlowState``. It reads what earlier steps recorded in
the store (never the flow's data), does its cloud work at most once per execution
(``store.run_step``) and records its result on the execution. A poll ("wait until ...") answers
``ready=False`` with a growing ``waitSeconds`` instead of sleeping: the flow's Choice/Wait loop
comes back, bounded by the Choice.
"""
import dataclasses
import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Tuple

from ..agent_build import build_zipapp
from ..models import FlowEvent, FlowState, RepairRequest
from ..policy import TAG_EXECUTION, TAG_SOURCE_IMAGE
from ..store import Execution, ExecutionNotFound, StateStore

PUBLIC_REPAIR_COMMAND = "ACS-ECS-ImageRepair-for-linux.sh"
MAX_WAIT_S = 300
LEASE_MARGIN_S = 30.0


class StepError(Exception):
    """A step's failure; ``code`` is what the flow's Retry/Catch match (as ``FC.<code>``)."""
    code = "StepFailed"

    def __init__(self, message: str, code: Optional[str] = None):
        super().__init__(message)
        if code:
            self.code = code


class ImageNotRepairable(StepError):
    code = "ImageNotRepairable"


class ImageNotFound(StepError):
    code = "ImageNotFound"


class ImageBusy(StepError):
    code = "ImageBusy"


class RepairFailed(StepError):
    code = "RepairFailed"


class ResourceFailed(StepError):
    """A resource reached a failed state (a snapshot or image that failed, a vanished instance)."""
    code = "ResourceFailed"


@dataclass
class Ports:
    """What steps talk to: the state store, the ECS port, a clock (epoch seconds) and the agent."""
    store: StateStore
    ecs: object                        # clients.ecs.EcsPort (or anything with its methods)
    clock: Callable[[], float] = time.time
    agent_zipapp: Optional[Callable[[], bytes]] = None
    progress: Optional[Callable[[str], None]] = None
    options: dict = field(default_factory=dict)   # mirrorUrl, assistPackageUrl... for the agent
    # How long a claimed step stays ours (its in-progress record's lease); None: the store's default.
    # Set per invocation from the function's timeout (with_time_limit).
    step_lease_s: Optional[float] = None
    # The repair-host pool's settings (control/pool, docs/pool.md) for executions asking for it;
    # None: its defaults.
    pool: Optional[object] = None

    def with_time_limit(self, seconds: float) -> "Ports":
        """These ports for one invocation that the platform kills after ``seconds``: a step claimed
        in it is taken over by a later attempt soon after that (the lease outlives the function
        by LEASE_MARGIN_S, so a live attempt never loses its claim)."""
        return dataclasses.replace(self, step_lease_s=float(seconds) + LEASE_MARGIN_S)

    def zipapp(self) -> bytes:
        if self.agent_zipapp is None:
            self.agent_zipapp = build_zipapp
        return self.agent_zipapp()

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)


def load(ports: Ports, execution_id: str) -> Tuple[Execution, RepairRequest]:
    execution = ports.store.get_execution(execution_id)
    if execution is None:
        raise StepError("no execution %r in the store" % execution_id, "ExecutionNotFound")
    return execution, RepairRequest.model_validate(execution.params)


def result_of(execution: Execution, step: str) -> dict:
    """An earlier step's recorded result (a step that did not run is a flow bug: fail loudly)."""
    recorded = execution.steps.get(step)
    if recorded is None:
        raise StepError("the result of step %s is needed but that step has not run" % step, "StepOrder")
    return recorded.result


def once(ports: Ports, execution_id: str, step: str, work: Callable[[], dict]) -> dict:
    """Run ``work`` at most once per execution (store.run_step) and record its result."""
    result = ports.store.run_step(execution_id, step, work, timeout_s=ports.step_lease_s)
    record_once(ports, execution_id, step, result)
    return result


def record_once(ports: Ports, execution_id: str, step: str, result: dict) -> None:
    """Record a completed step's result on the execution unless it is there already. Two writes,
    so a store failing for good between them (retries spent: the flow calls the step again) leaves
    the step COMPLETED and the execution without its result: the next call records it."""
    execution = ports.store.get_execution(execution_id)
    if execution is not None and step not in execution.steps:
        ports.store.record_step_result(execution_id, step, result)


def client_token(execution_id: str, step: str, *parts: str) -> str:
    """ASCII, 43 characters (the API allows 64): the same execution, step and parts give the same token."""
    digest = hashlib.sha256("|".join((execution_id, step) + parts).encode("utf-8")).hexdigest()
    return "ir-" + digest[:40]


def tags_for(execution: Execution) -> dict:
    return {TAG_EXECUTION: execution.execution_id, TAG_SOURCE_IMAGE: execution.source_image_id}


def next_wait(first_s: float, attempt: int, remaining_s: Optional[float] = None) -> int:
    """The next wait of a poll, 1-300 s.

    With an estimate of the time the operation still needs (``remaining_s``: from its own
    Progress, or its typical duration minus the time it has run), wait that long, so the next
    look lands at the expected end instead of up to half an interval after it; never less than
    1.5^attempt s, so a bounded Choice/Wait loop covers as long an operation as before however
    the estimates go. Without one (or once the estimate has passed): growing intervals, first,
    x1.5 each time."""
    if remaining_s is not None and remaining_s >= 1:
        wait = math.ceil(max(remaining_s, 1.5 ** attempt) - 1e-9)
    else:
        wait = round(first_s * (1.5 ** attempt))
    return int(min(MAX_WAIT_S, max(1, wait)))


# How much of a Progress-based estimate to wait for at once: progress is rarely linear and the API
# rounds it down, so wait most of the estimate and look again with the better figure.
PROGRESS_TRUST = 0.8


def remaining_from_progress(elapsed_s: float, progress: object) -> Optional[float]:
    """Seconds an operation still needs if it keeps its pace so far: ``progress`` is the API's
    ``Progress`` ("45%", 45 or "45"); None when it says nothing yet (0 %, missing, 100 %)."""
    try:
        percent = float(str(progress).strip().rstrip("%"))
    except (TypeError, ValueError):
        return None
    if not 0 < percent < 100 or elapsed_s <= 0:
        return None
    return PROGRESS_TRUST * elapsed_s * (100.0 - percent) / percent


def seconds_since(ports: Ports, execution: Execution, step: str) -> float:
    """Seconds since ``step`` (the one that started the awaited operation) was recorded."""
    recorded = execution.steps.get(step)
    if recorded is None:
        return 0.0
    return max(0.0, ports.clock() - recorded.finished_at_ms / 1000.0)


def poll(ports: Ports, event: FlowEvent, step: str, check: Callable[[], tuple],
         first_wait_s: float) -> FlowState:
    """A wait step: done before -> ready; else ``check()`` -> (ready, what it waits for, result)
    or (ready, what, result, estimated seconds still needed or None). Ready results are recorded
    once; "not yet" answers the next wait (next_wait) for the flow's loop."""
    done = ports.store.get_step(event.executionId, step)
    if done is not None and done.status.value == "COMPLETED":
        record_once(ports, event.executionId, step, done.result or {})   # lost if the store failed in between
        return FlowState(executionId=event.executionId, ready=True, attempt=0)
    answer = check()
    ready, what, result = answer[:3]
    remaining = answer[3] if len(answer) > 3 else None
    if ready:
        once(ports, event.executionId, step, lambda: result)
        ports.say("%s: %s" % (step, what))
        # attempt back to 0: the next loop of the flow starts its own count
        return FlowState(executionId=event.executionId, ready=True, attempt=0, waitingFor=what)
    wait = next_wait(first_wait_s, event.attempt, remaining)
    ports.say("%s: waiting %d s for %s (attempt %d)" % (step, wait, what, event.attempt + 1))
    return FlowState(executionId=event.executionId, ready=False, attempt=event.attempt + 1, waitSeconds=wait,
                     waitingFor=what)


def done(event: FlowEvent) -> FlowState:
    return FlowState(executionId=event.executionId)


def skipped_in_dry_run(ports: Ports, event: FlowEvent, step: str, why: str) -> FlowState:
    """A step with nothing to do in a dry run: recorded once as skipped, with why, and done."""
    once(ports, event.executionId, step, lambda: {"skipped": "dry run: " + why})
    return done(event)


__all__ = ["Ports", "StepError", "ImageNotRepairable", "ImageNotFound", "ImageBusy", "RepairFailed",
           "ResourceFailed", "load", "result_of", "once", "record_once", "client_token", "tags_for", "poll", "done",
           "skipped_in_dry_run",
           "next_wait", "remaining_from_progress", "seconds_since", "PUBLIC_REPAIR_COMMAND", "ExecutionNotFound"]
