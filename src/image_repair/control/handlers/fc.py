"""What the Function Compute entry points share beyond the step runner (steps/runner.py): the step
handler each ``handlers/<step>.py`` is, the ports every function builds from its environment (the
composition root: the one place a function wires the store and the ECS adapter to the steps), and
the function's configuration read from its environment."""
import json
import os
from typing import Callable, Optional

from ..clients.ecs import ecs_port_from_env
from ..steps.common import Ports, agent_options_from_env
from ..steps.runner import HandlerError, function_time_limit, run_step
from ..store import open_store

_PORTS: Optional[Ports] = None      # built on a container's first invocation, kept for its life


def ports_from_env() -> Ports:
    """Store and ECS port from the function's environment, built once per container (never at
    import: a cold start that fails its event builds nothing)."""
    global _PORTS
    if _PORTS is None:
        _PORTS = Ports(store=open_store(), ecs=ecs_port_from_env(), options=agent_options_from_env())
    return _PORTS


def use_ports(ports: Optional[Ports]) -> None:
    """Set the ports the handlers use (tests); None: the environment's again, on the next call."""
    global _PORTS
    _PORTS = ports


def step_handler(step: str) -> Callable:
    """FC's ``handler(event, context)`` of one step: the runner with the environment's ports, the
    invocation's request id and the function's timeout (which bounds the step's leases)."""
    def handler(event, context=None):
        return run_step(step, event, ports_from_env, request_id=getattr(context, "request_id", None),
                        time_limit_s=function_time_limit(context))
    handler.__name__ = "handler_" + step
    return handler


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


def region_default() -> Optional[str]:
    """The function's own region (FC sets FC_REGION): the default regionId of what it starts."""
    return os.environ.get("FC_REGION")
