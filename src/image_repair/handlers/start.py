"""FC handler ``start`` (``s invoke -e '{...}'`` with the seed template's parameters): validate,
record the execution, start the CloudFlow execution named by its deterministic id."""
from .fc import HandlerError, parse_event, ports_from_env, region_default


def handler(event, context=None):
    from ..clients.cloudflow import cloudflow_from_env
    from ..models import InvalidRequest
    from ..steps.start import record_execution
    raw = parse_event(event)
    if isinstance(raw.get("payload"), str):      # a timer trigger: the parameters are a JSON string
        raw = parse_event(raw["payload"])
    try:
        execution, created, _request = record_execution(ports_from_env().store, raw, {"regionId": region_default()})
    except InvalidRequest as error:
        raise HandlerError("InvalidInput", str(error))
    started = cloudflow_from_env().start(execution.execution_id, {"executionId": execution.execution_id})
    return {"executionId": execution.execution_id, "created": created, "flowStarted": started["started"],
            "status": execution.status.value}
