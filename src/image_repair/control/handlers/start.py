"""FC handler ``start`` (``s invoke -e '{...}'`` with the seed template's parameters): validate,
record the execution, start the CloudFlow execution named by its deterministic id.

Every bad body is ``HandlerError("InvalidInput", one short line)`` before anything is built,
recorded or started: bytes that are not UTF-8, not JSON, larger than MAX_START_BODY, nested
deeper than inputs.MAX_JSON_DEPTH, not an object, or parameters RepairRequest refuses."""
from ..clients.cloudflow import cloudflow_starter
from ..inputs import load_json
from ..launchers import MAX_BATCH, CloudFlowLauncher, start_batch, start_execution
from ..models import InvalidRequest, parse_request
from ..steps.runner import HandlerError, parse_event
from .fc import ports_from_env, start_invocation

MAX_START_BODY = 64 * 1024     # a start request is under 2 KB; a timer's payload string likewise


def start_parameters(event) -> dict:
    """The start parameters of an invocation body (bytes, text or an already parsed dict); a
    timer trigger's body carries them as a JSON string in ``payload``."""
    try:
        if isinstance(event, (bytes, bytearray, str)):
            event = load_json(event or "{}", "the start request", max_bytes=MAX_START_BODY)
        raw = parse_event(event if isinstance(event, (dict, list)) else None)
        if isinstance(raw.get("payload"), str):
            payload = load_json(raw["payload"] or "{}", "the timer's payload", max_bytes=MAX_START_BODY)
            raw = parse_event(payload if isinstance(payload, (dict, list)) else None)
    except ValueError as error:
        raise HandlerError("InvalidInput", str(error))
    return raw


def handler(event, context=None):
    settings = start_invocation()
    raw = start_parameters(event)
    defaults = {"regionId": settings.function_region}    # the function's own region
    if "repairImageIds" in raw:           # a bulk start: one execution per image, on the pool
        return start_many(settings, raw, defaults)
    try:
        parse_request(raw, defaults)      # refused before the store or CloudFlow is even built
        launched = start_execution(ports_from_env().store, CloudFlowLauncher(cloudflow_starter(settings)), raw,
                                   defaults)
    except InvalidRequest as error:
        raise HandlerError("InvalidInput", str(error))
    return {"executionId": launched.execution_id, "created": launched.created, "flowStarted": launched.started,
            "status": launched.status}


def start_many(settings, raw: dict, defaults: dict) -> dict:
    """``{"repairImageIds": [...], "maxStarts": N, <common parameters>}``: every image validated
    first (one bad id refuses all), then up to maxStarts started; the rest returned ``deferred``."""
    raw = dict(raw)
    max_starts = raw.pop("maxStarts", MAX_BATCH)
    if isinstance(max_starts, bool) or not isinstance(max_starts, int):
        raise HandlerError("InvalidInput", "maxStarts: an integer 0-%d" % MAX_BATCH)
    try:
        batch = start_batch(ports_from_env().store, CloudFlowLauncher(cloudflow_starter(settings)), raw, defaults,
                            max_starts)
    except InvalidRequest as error:
        raise HandlerError("InvalidInput", str(error))
    return {"executions": [{"executionId": one.execution_id, "created": one.created, "flowStarted": one.started,
                            "status": one.status} for one in batch.started],
            "deferred": batch.deferred}
