"""The step runner: how one step of the flow is run, whoever calls it (a Function Compute handler,
the local runner of the CLI, a test).

``run_step(step, event, ports)`` parses the event, runs ``steps.<step>.run(ports, event)``, answers
transient failures as "retry after N s" (the flow loops back) and records terminal ones as the
execution's cause before raising them (Function Compute passes only the exception's class name and
message on). The caller gives the ports, or a function that makes them once the event is known to
be good: the FC handlers build theirs from the container's settings (handlers/fc.py, the
composition root). ``bound_handlers(ports)`` maps every function name to its step with these ports
(the local runner).

The FC entry points over this are ``handlers/*``; nothing here knows FC beyond its context's
``request_id`` and ``function.timeout``, and nothing here builds an adapter (docs/architecture.md)."""
import importlib
import json
import logging
import time
from typing import Any, Callable, Optional, Union

from ..models import FlowEvent, FlowState, Invalid, describe_validation_error
from ..store import ExecutionNotFound, StoreError
from . import FUNCTIONS
from .common import Ports
from .transient import retry_wait, transient_kind

log = logging.getLogger(__name__)


class HandlerError(Exception):
    """A handler's refusal; its message starts with the code, because Function Compute passes on
    only the exception's class name (errorType) and its message (errorMessage)."""

    def __init__(self, code: str, message: str):
        super().__init__("%s: %s" % (code, message))
        self.code = code



def parse_event(event: Any) -> dict:
    """FC passes bytes; the local runner passes the same; tests may pass a dict."""
    if isinstance(event, (bytes, bytearray)):
        event = event.decode("utf-8")
    if isinstance(event, str):
        event = json.loads(event or "{}")
    if isinstance(event, list) and len(event) == 1:   # a batched delivery of one event
        event = event[0]
    if not isinstance(event, dict):
        raise HandlerError("InvalidInput", "the event must be a JSON object")
    return event



def run_step(step: str, event: Any, ports: Union[Ports, Callable[[], Ports]], request_id: Optional[str] = None,
             time_limit_s: Optional[float] = None) -> dict:
    """Parse, run one step, return its FlowState as a dict. ``ports`` may be a function that makes
    them: it is called only once the event is good (a bad event builds no store, no client).

    A transient failure (throttling, a 5xx, a lost response, a concurrent attempt) is answered
    with ``retry`` and a wait, never raised: the flow routes it back to this step (steps/transient.py
    says why). Any other failure is recorded on the execution as its first cause, then raised: FC
    hands it to CloudFlow as errorType/errorMessage and the flow's Catch leads to clean-up, which
    reads the cause from the store. ``time_limit_s`` (the function's timeout) bounds the leases of
    the step's idempotency records, so an attempt killed at its timeout frees the step soon after.
    Logs step.started, then step.finished, step.retry or step.failed, with the execution id."""
    try:
        flow_event = FlowEvent.model_validate(parse_event(event))
    except (ValueError, HandlerError, RecursionError) as error:     # Invalid is a ValueError
        reason = describe_validation_error(error, "bad event for %s" % step) if isinstance(error, Invalid) \
            else "bad event for %s: %s" % (step, " ".join(str(error).split()))    # one line, whatever came
        log.warning("step.failed", extra={"step": step, "execution_id": None, "request_id": request_id,
                                          "error_code": "InvalidInput", "error": clip(reason)})
        raise HandlerError("InvalidInput", clip(reason))
    fields = {"step": step, "execution_id": flow_event.executionId, "request_id": request_id}
    log.info("step.started", extra=fields)
    started = time.monotonic()
    if callable(ports):
        ports = ports()
    if time_limit_s:
        ports = ports.with_time_limit(time_limit_s)
    try:
        module = importlib.import_module("." + step, __package__)      # steps/<step>.py
        state = module.run(ports, flow_event).model_copy(update={"step": step})
    except Exception as error:
        kind = transient_kind(error)
        if kind is None:
            code = getattr(error, "code", None) or type(error).__name__
            # an error with a code is an expected outcome: no traceback
            log.warning("step.failed", exc_info=getattr(error, "code", None) is None,
                        extra=dict(fields, duration_ms=_elapsed_ms(started), error_code=str(code), error=clip(str(error))))
            record_first_cause(ports, flow_event.executionId, step, str(code), str(error))
            raise
        wait = retry_wait(kind, flow_event.retries, flow_event.executionId, error, now_ms=int(ports.clock() * 1000))
        code = getattr(error, "service_code", None) or kind
        log.info("step.retry", extra=dict(fields, duration_ms=_elapsed_ms(started), error_code=str(code),
                                          retries=flow_event.retries + 1, wait_s=wait, error=clip(str(error))))
        return retry_answer(flow_event, step, kind, code, str(error), wait)
    log.info("step.finished", extra=dict(fields, duration_ms=_elapsed_ms(started), ready=state.ready,
                                         waiting_for=state.waitingFor, failed=state.failed))
    return state.model_dump()


def retry_answer(event, step: str, kind: str, code: str, message: str, wait: int) -> dict:
    """The answer of a step that met a transient failure: the same step again after ``wait`` s."""
    return FlowState(executionId=event.executionId, step=step, ready=False, attempt=event.attempt, retry=True,
                     retries=event.retries + 1, waitSeconds=wait, errorCode=kind,
                     errorDetail=clip("%s: %s" % (code, message)), waitingFor="retry after %s" % code).model_dump()


def record_first_cause(ports, execution_id: str, step: str, code: str, message: str) -> None:
    """Keep the execution's first error (its cause) where clean-up will read it; best effort: if
    the store cannot take it, clean-up treats the failure as unexplained (docs/flow.md)."""
    def change(execution):
        if execution.error is None:
            execution.error = {"code": code, "detail": clip(message, 2000), "step": step}
        return execution
    try:
        ports.store.update_execution(execution_id, change)
    except (ExecutionNotFound, StoreError):
        pass
    except Exception as error:   # the store's own failure must not hide the step's
        log.warning("step.cause_not_recorded", extra={"step": step, "execution_id": execution_id,
                                                      "error": clip(str(error))})


def clip(text: str, limit: int = 500) -> str:
    """At most ``limit`` characters of a message (errors may quote huge inputs)."""
    return text if len(text) <= limit else text[:limit] + "... (%d characters)" % len(text)


def _elapsed_ms(started: float) -> int:
    return int(round((time.monotonic() - started) * 1000))


def function_time_limit(context) -> Optional[float]:
    """The function's timeout in seconds from FC's context (``context.function.timeout``), if any."""
    timeout = getattr(getattr(context, "function", None), "timeout", None)
    try:
        return float(timeout) if timeout else None
    except (TypeError, ValueError):
        return None


def bound_handlers(ports) -> dict:
    """{function name: handler} calling the steps with these ports (the local runner's mapping)."""
    def bind(step):
        return lambda event, context=None: run_step(step, event, ports, getattr(context, "request_id", None),
                                                    function_time_limit(context))
    return {name: bind(step) for name, step in FUNCTIONS.items()}
