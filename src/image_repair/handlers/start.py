"""FC handler ``start`` (``s invoke -e '{...}'`` with the seed template's parameters): validate,
record the execution, start the CloudFlow execution named by its deterministic id."""
from .fc import HandlerError, parse_event, ports_from_env, region_default


def handler(event, context=None):
    from ..clients.cloudflow import cloudflow_from_env
    from ..launchers import CloudFlowLauncher, start_execution
    from ..models import InvalidRequest
    raw = parse_event(event)
    if isinstance(raw.get("payload"), str):      # a timer trigger: the parameters are a JSON string
        raw = parse_event(raw["payload"])
    try:
        launched = start_execution(ports_from_env().store, CloudFlowLauncher(cloudflow_from_env()), raw,
                                   {"regionId": region_default()})
    except InvalidRequest as error:
        raise HandlerError("InvalidInput", str(error))
    return {"executionId": launched.execution_id, "created": launched.created, "flowStarted": launched.started,
            "status": launched.status}
