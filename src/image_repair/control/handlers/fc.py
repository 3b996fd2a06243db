"""What the Function Compute entry points share beyond the step runner (steps/runner.py): the step
handler each ``handlers/<step>.py`` is. Their configuration is the container's settings
(``steps.runner.function_settings``, control/settings.py), read on its first invocation."""
from typing import Callable

from ..steps.runner import function_time_limit, run_step, start_invocation


def step_handler(step: str) -> Callable:
    """FC's ``handler(event, context)`` of one step: the runner with the container's ports, the
    invocation's request id and the function's timeout (which bounds the step's leases)."""
    def handler(event, context=None):
        start_invocation()
        return run_step(step, event, request_id=getattr(context, "request_id", None),
                        time_limit_s=function_time_limit(context))
    handler.__name__ = "handler_" + step
    return handler
