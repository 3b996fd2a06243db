"""What every step handler shares: event parsing, ports from the environment (cached, built on the
first call), JSON logs (configured on the first call, see logs.py), and errors carrying the
``code`` the flow's Retry/Catch match as ``FC.<code>``."""
import importlib
import json
import logging
import os
import time
from typing import Any, Callable, Optional

from ..logs import configure_for_function

_PORTS = None
log = logging.getLogger(__name__)


class HandlerError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def parse_event(event: Any) -> dict:
    """FC passes bytes; the local runner passes the same; tests may pass a dict.

    Every handler starts here, so this is where a function container's logging is configured."""
    configure_for_function()
    if isinstance(event, (bytes, bytearray)):
        event = event.decode("utf-8")
    if isinstance(event, str):
        event = json.loads(event or "{}")
    if isinstance(event, list) and len(event) == 1:   # a batched delivery of one event
        event = event[0]
    if not isinstance(event, dict):
        raise HandlerError("InvalidInput", "the event must be a JSON object")
    return event


def json_env(*names: str) -> Optional[dict]:
    """The first of these environment variables that is set, as a JSON object (None: none set)."""
    for name in names:
        text = os.environ.get(name)
        if not text:
            continue
        try:
            value = json.loads(text)
        except ValueError as error:
            raise HandlerError("InvalidConfiguration", "%s is not JSON: %s" % (name, error))
        if not isinstance(value, dict):
            raise HandlerError("InvalidConfiguration", "%s must be a JSON object" % name)
        return value
    return None


def ports_from_env():
    """Store and ECS port from the function's environment, built once per container."""
    global _PORTS
    if _PORTS is None:
        from ..clients.ecs import ecs_port_from_env
        from ..steps.common import Ports, agent_options_from_env
        from ..store import open_store
        _PORTS = Ports(store=open_store(), ecs=ecs_port_from_env(), options=agent_options_from_env())
    return _PORTS


def use_ports(ports) -> None:
    """Set the ports handlers use (the local runner and tests); None resets to the environment's."""
    global _PORTS
    _PORTS = ports


def run_step(step: str, event: Any, ports=None, request_id: Optional[str] = None) -> dict:
    """Parse, run one step, return its FlowState as a dict; store races become retryable codes.
    Logs step.started, then step.finished or step.failed, with the execution id and duration."""
    from pydantic import ValidationError

    from ..models import FlowEvent
    from ..store import ConcurrentUpdate, StepClaimLost, StepInProgress
    try:
        flow_event = FlowEvent.model_validate(parse_event(event))
    except (ValueError, ValidationError, HandlerError) as error:
        log.warning("step.failed", extra={"step": step, "execution_id": None, "request_id": request_id,
                                          "error_code": "InvalidInput", "error": str(error)})
        raise HandlerError("InvalidInput", "bad event for %s: %s" % (step, error))
    fields = {"step": step, "execution_id": flow_event.executionId, "request_id": request_id}
    log.info("step.started", extra=fields)
    started = time.monotonic()
    try:
        module = importlib.import_module("image_repair.steps." + step)
        try:
            state = module.run(ports or ports_from_env(), flow_event).model_dump()
        except (StepInProgress, ConcurrentUpdate, StepClaimLost) as error:
            raise HandlerError("StepBusy", str(error))
    except Exception as error:
        code = getattr(error, "code", None) or type(error).__name__
        # an error with a code is an expected outcome (the flow matches it): no traceback
        log.warning("step.failed", exc_info=getattr(error, "code", None) is None,
                    extra=dict(fields, duration_ms=_elapsed_ms(started), error_code=str(code), error=str(error)))
        raise
    log.info("step.finished", extra=dict(fields, duration_ms=_elapsed_ms(started), ready=state.get("ready"),
                                         waiting_for=state.get("waitingFor"), failed=state.get("failed")))
    return state


def _elapsed_ms(started: float) -> int:
    return int(round((time.monotonic() - started) * 1000))


def step_handler(step: str) -> Callable:
    def handler(event, context=None):
        return run_step(step, event, request_id=getattr(context, "request_id", None))
    handler.__name__ = "handler_" + step
    return handler


def bound_handlers(ports) -> dict:
    """{function name: handler} calling the steps with these ports (the local runner's mapping)."""
    from ..steps import FUNCTIONS

    def bind(step):
        return lambda event, context=None: run_step(step, event, ports)
    return {name: bind(step) for name, step in FUNCTIONS.items()}


def region_default() -> Optional[str]:
    return os.environ.get("FC_REGION")
