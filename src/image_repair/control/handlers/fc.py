"""What the Function Compute entry points share beyond the step runner (steps/runner.py): the step
handler each ``handlers/<step>.py`` is, and a container's state, built on its first invocation and
kept for its life (never at import time): its settings (control/settings.py, read once from the
environment) and its ports (the store and the ECS adapter wired to the steps: this module is the
functions' composition root, docs/architecture.md)."""
from typing import Callable, Optional

from ..clients.ecs import ecs_port
from ..logs import configure_for_function
from ..settings import Settings, SettingsError
from ..steps.common import Ports
from ..steps.runner import HandlerError, function_time_limit, run_step
from ..store import open_store

_SETTINGS: Optional[Settings] = None
_PORTS: Optional[Ports] = None


def function_settings() -> Settings:
    """The function's settings, read from its environment on the first call and kept for the
    container's life; a bad variable is HandlerError InvalidConfiguration."""
    global _SETTINGS
    if _SETTINGS is None:
        try:
            _SETTINGS = Settings.from_env()
        except SettingsError as error:
            raise HandlerError("InvalidConfiguration", str(error))
    return _SETTINGS


def start_invocation() -> Settings:
    """What every FC entry point does first: the container's settings, its JSON logs (once)."""
    settings = function_settings()
    configure_for_function(settings)
    return settings


def ports_from_env() -> Ports:
    """Store and ECS port from the function's settings, built once per container."""
    global _PORTS
    if _PORTS is None:
        settings = function_settings()
        _PORTS = Ports(store=open_store(settings.store_settings()), ecs=ecs_port(settings),
                       options=settings.agent_options())
    return _PORTS


def use_ports(ports: Optional[Ports]) -> None:
    """Set the ports the handlers use (tests); None forgets them and the settings: the next call
    reads the environment again, as a new container would."""
    global _PORTS, _SETTINGS
    _PORTS = ports
    if ports is None:
        _SETTINGS = None


def step_handler(step: str) -> Callable:
    """FC's ``handler(event, context)`` of one step: the runner with the container's ports (built
    once the event is known to be good), the invocation's request id and the function's timeout
    (which bounds the step's leases)."""
    def handler(event, context=None):
        start_invocation()
        return run_step(step, event, ports_from_env, request_id=getattr(context, "request_id", None),
                        time_limit_s=function_time_limit(context))
    handler.__name__ = "handler_" + step
    return handler
