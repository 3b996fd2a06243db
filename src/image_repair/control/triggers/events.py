"""EventBridge deliveries to the ``image-repair-events`` function: which images to watch and repair.

A delivery is one CloudEvent (a JSON object), an array of them (batched push), or RawData (the
trigger's "raw data" form: an event's ``data`` only; as an object, or a JSON or base64 string).
Recognised events (docs/events.md has examples):

* ActionTrail API calls that made an image: CloudEvent type ``ecs:ActionTrail:ApiCall`` (source
  ``acs.ecs``; ``actiontrail:ActionTrail:ApiCall`` with ``data.serviceName`` Ecs too), with
  ``data.eventName`` CreateImage, ImportImage or CopyImage; which field holds the new image, per
  event name, and why a cross-region CopyImage is refused: ``actiontrail.py``;
* ``image-repair:Image:RepairRequested`` (``CUSTOM_EVENT_TYPE``), for users' own buses:
  ``data.imageId`` plus optional start parameters (the seed template's names) and ``policy``.

Each accepted event starts a watched execution (``RepairRequest.watch``: wait until the image is
Available and checked, repair only what the policy selects) through ``launchers.start_execution``:
the execution id is deterministic, so a redelivered event (delivery is at least once) finds its
execution and starts nothing. Everything else is ignored with a reason, logged as
``events.ignored``.

Nothing in a delivery makes this raise (EventBridge would redeliver it forever): the delivery is
read within bounds (``delivery.py``: ``MAX_DELIVERY_CHARS``, and per event ``MAX_EVENT_CHARS``,
``MAX_EVENT_DEPTH``), each event is judged alone (a bad one never stops the good ones of its batch),
its fields are bounded and typed, and a reason quotes at most a short prefix of a bad value. Only
the launch itself (the store, CloudFlow) may raise: that is not the event's fault, and the
redelivery finds what was already recorded.
"""
import logging
from typing import Any, Dict, List, Optional, Tuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..launchers import start_execution
from ..models import Invalid, InvalidRequest, RepairRequest, WatchPolicy, parse_request
from . import bounded
from .actiontrail import IMAGE_MAKING_CALLS, Unusable, made_image, read_call
from .bounded import cut, preview
from .delivery import MAX_DELIVERY_CHARS, MAX_EVENT_CHARS, MAX_EVENT_DEPTH, split_delivery

log = logging.getLogger(__name__)

CUSTOM_EVENT_TYPE = "image-repair:Image:RepairRequested"
ACTIONTRAIL_API_CALL = ":ActionTrail:ApiCall"
# What a custom event may set besides the image: the start parameters, under the seed's names.
CUSTOM_PARAMETERS = set(RepairRequest.field_names()) - {"repairImageId", "watch", "policy"}

# Bounds of event fields (docs/events.md "Bounds"; the delivery's own bounds: delivery.py).
MAX_ID_CHARS = 128                  # event ids, image ids, names
MAX_PARAMETER_CHARS = 128           # a custom event's start parameter given as a string
MAX_LIST_ENTRIES = 32               # a custom event's list (repairItems, policy items)
MAX_REASON_CHARS = 300


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 envelope EventBridge pushes (plus its aliyun* extensions)."""
    model_config = ConfigDict(extra="allow")

    id: Optional[str] = Field(default=None, max_length=MAX_ID_CHARS)
    source: Optional[str] = Field(default=None, max_length=256)
    type: str = Field(min_length=1, max_length=256)
    aliyunregionid: Optional[str] = Field(default=None, max_length=64)
    data: Any = None


class CustomRepairEvent(BaseModel):
    """``data`` of an ``image-repair:Image:RepairRequested`` event (other start parameters are
    extra fields, checked against CUSTOM_PARAMETERS and bounded)."""
    model_config = ConfigDict(extra="allow")

    imageId: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    regionId: Optional[str] = Field(default=None, max_length=64)
    policy: Optional[Dict[str, Any]] = None      # checked by WatchPolicy (a dataclass, models.py)


class Accepted(BaseModel):
    eventId: Optional[str] = None
    eventType: str
    imageId: str
    executionId: str
    created: bool
    started: bool
    status: str
    duplicate: bool = False          # the same execution as an earlier event of this delivery


class Ignored(BaseModel):
    eventId: Optional[str] = None
    eventType: Optional[str] = None
    reason: str


class DeliverySummary(BaseModel):
    accepted: List[Accepted] = Field(default_factory=list)
    ignored: List[Ignored] = Field(default_factory=list)


class Ignore(Exception):
    """An event this function does not act on; the message is the logged reason."""


# --- the delivery's shape: delivery.py ---------------------------------------------------------------
def as_cloud_event(event: dict) -> CloudEvent:
    """A CloudEvent as is; RawData (an event's ``data`` alone) is recognised by its fields."""
    if "specversion" in event or ("type" in event and "data" in event):
        try:
            return CloudEvent.model_validate(event)
        except ValidationError as error:
            raise Ignore("malformed CloudEvent: %s" % _first_error(error))
    if "eventName" in event and ("serviceName" in event or "acsRegion" in event):
        return CloudEvent(type="ecs" + ACTIONTRAIL_API_CALL, source="acs.ecs", data=event)
    if "imageId" in event:
        return CloudEvent(type=CUSTOM_EVENT_TYPE, data=event)
    keys = sorted(cut(str(k), 20) for k in list(event)[:10])
    raise Ignore("neither a CloudEvent nor the raw data of a recognised event (keys: %s)" % ", ".join(keys))


# --- what an event asks for ----------------------------------------------------------------------
def actiontrail_request(event: CloudEvent, function_region: Optional[str] = None) -> Tuple[str, Optional[str], dict]:
    """-> (image id, region, start parameters) of an image-making ECS API call."""
    if not isinstance(event.data, dict):
        raise Ignore("ActionTrail event without a data object")
    service = event.data.get("serviceName")
    if event.source != "acs.ecs" and (not isinstance(service, str) or service.lower() != "ecs"):
        named = service if service is not None else event.source
        raise Ignore("an API call of %s, not ECS" % (cut(named) if isinstance(named, str) else preview(named)))
    try:
        image_id, region = made_image(read_call(event.data), function_region)
    except Unusable as error:
        raise Ignore(str(error))
    return image_id, region or event.aliyunregionid, {}


def custom_request(event: CloudEvent) -> Tuple[str, Optional[str], dict]:
    if not isinstance(event.data, dict):
        raise Ignore("%s event without a data object" % CUSTOM_EVENT_TYPE)
    policy = event.data.get("policy")
    if isinstance(policy, dict):
        _bounded_lists(policy, "policy.")
    try:
        custom = CustomRepairEvent.model_validate(event.data)
        policy = None if custom.policy is None else WatchPolicy.model_validate(custom.policy)
    except ValidationError as error:
        raise Ignore("malformed %s data: %s" % (CUSTOM_EVENT_TYPE, _first_error(error)))
    except Invalid as error:
        raise Ignore("malformed %s data: %s" % (CUSTOM_EVENT_TYPE, _first_error(error, ("policy",))))
    extra = dict(custom.model_extra or {})
    unknown = sorted(set(extra) - CUSTOM_PARAMETERS)
    if unknown:
        raise Ignore("unknown fields in %s data: %s" % (CUSTOM_EVENT_TYPE,
                                                         ", ".join(cut(k, 20) for k in unknown[:5])))
    for name, value in extra.items():
        _bounded_parameter(name, value)
    if policy is not None:
        extra["policy"] = policy.model_dump()
    return custom.imageId, custom.regionId or event.aliyunregionid, extra


def _bounded_parameter(name: str, value: Any) -> None:
    """A start parameter from an event: a short string, a short list of short strings, a number,
    a boolean (RepairRequest then checks what each one means)."""
    if isinstance(value, str) and len(value) > MAX_PARAMETER_CHARS:
        raise Ignore("%s: %s is longer than %d characters" % (name, preview(value), MAX_PARAMETER_CHARS))
    if isinstance(value, list):
        _bounded_lists({name: value}, "")
    elif not isinstance(value, (str, bool, int, float)) and value is not None:
        raise Ignore("%s: %s is not a start parameter's value" % (name, preview(value)))


def _bounded_lists(values: dict, where: str) -> None:
    for name, value in values.items():
        if not isinstance(value, list):
            continue
        if len(value) > MAX_LIST_ENTRIES:
            raise Ignore("%s%s: %d entries (at most %d)" % (where, name, len(value), MAX_LIST_ENTRIES))
        for entry in value:
            if not isinstance(entry, str) or len(entry) > MAX_PARAMETER_CHARS:
                raise Ignore("%s%s: %s is not a short string" % (where, name, preview(entry)))


def image_request(event: CloudEvent, function_region: Optional[str] = None) -> Tuple[str, Optional[str], dict]:
    """-> (image id, region, start parameters) an event asks for; ``function_region`` refuses a
    CopyImage made in another region (actiontrail.COPY_ELSEWHERE)."""
    if event.type == CUSTOM_EVENT_TYPE:
        return custom_request(event)
    if event.type.endswith(ACTIONTRAIL_API_CALL):
        return actiontrail_request(event, function_region)
    raise Ignore("unknown event type %s" % preview(event.type))


def start_parameters(image_id: str, region: Optional[str], asked: dict, defaults: dict,
                     policy: Optional[WatchPolicy], function_region: Optional[str]) -> dict:
    """The watched repair's start parameters: the deployment's defaults, what the event asks,
    the image and its region, and the policy (the event's, else the deployment's)."""
    region = region or function_region or defaults.get("regionId")
    if function_region and region != function_region:
        raise Ignore("image %s is in %s; this deployment repairs images in %s"
                     % (cut(image_id), cut(str(region)), function_region))
    raw = dict(defaults)
    raw.update(asked)
    raw.update({"repairImageId": image_id, "regionId": region, "watch": True})
    if "policy" not in raw and policy is not None:
        raw["policy"] = policy.model_dump()
    return raw


# --- the handler's logic ---------------------------------------------------------------------------
class _Judged(BaseModel):
    """What one event asks for, decided before anything is launched."""
    eventType: str
    imageId: str
    raw: dict
    executionId: str


def judge(event: dict, defaults: dict, policy: Optional[WatchPolicy], region: Optional[str]) -> _Judged:
    """One event -> the start parameters and execution id of its watched repair (raises Ignore)."""
    cloud_event = as_cloud_event(event)
    image_id, image_region, asked = image_request(cloud_event, region)
    raw = start_parameters(image_id, image_region, asked, defaults, policy, region)
    try:
        execution_id = parse_request(raw).execution_id()
    except InvalidRequest as error:
        raise Ignore(str(error))
    return _Judged(eventType=cloud_event.type, imageId=image_id, raw=raw, executionId=execution_id)


def handle_delivery(payload: Any, store, launcher, defaults: Optional[dict] = None,
                    policy: Optional[WatchPolicy] = None, region: Optional[str] = None) -> DeliverySummary:
    """Parse a delivery and start one watched execution per recognised event (an event whose
    execution this delivery already started is reported as a duplicate, not launched again).
    ``defaults``: start parameters events do not carry (zoneId, vSwitchId, securityGroupId,
    instanceType...); ``policy``: the deployment's default policy; ``region``: the function's.
    Launch errors (the cloud, the store) propagate: EventBridge retries, and the retry finds the
    executions already recorded. Nothing else raises."""
    summary = DeliverySummary()
    seen = {}
    for raw_event, unusable in split_delivery(payload):
        if unusable:
            _ignore(summary, None, None, unusable)
            continue
        event_id, event_type = _identity(raw_event)
        try:
            judged = judge(raw_event, defaults or {}, policy, region)
        except Ignore as error:
            _ignore(summary, event_id, event_type, str(error))
            continue
        except Exception as error:      # a defect met by a bad event: never a redelivery loop
            log.exception("events.unreadable", extra={"event_id": event_id, "event_type": event_type})
            _ignore(summary, event_id, event_type, "the event could not be read (%s)" % type(error).__name__)
            continue
        if judged.executionId in seen:
            summary.accepted.append(seen[judged.executionId].model_copy(
                update={"eventId": event_id, "duplicate": True, "started": False}))
            log.info("events.duplicate", extra={"execution_id": judged.executionId, "event_id": event_id,
                                                "image_id": judged.imageId})
            continue
        try:
            launched = start_execution(store, launcher, judged.raw)
        except InvalidRequest as error:
            _ignore(summary, event_id, event_type, str(error))
            continue
        accepted = Accepted(eventId=event_id, eventType=judged.eventType, imageId=judged.imageId,
                            executionId=launched.execution_id, created=launched.created,
                            started=launched.started, status=launched.status)
        seen[launched.execution_id] = accepted
        summary.accepted.append(accepted)
        log.info("events.accepted", extra={"execution_id": launched.execution_id, "event_id": event_id,
                                           "event_type": judged.eventType, "image_id": judged.imageId,
                                           "created": launched.created, "started": launched.started,
                                           "status": launched.status})
    return summary


def _identity(event: dict) -> Tuple[Optional[str], Optional[str]]:
    """The event's id and type for the summary and the logs: strings, cut to MAX_ID_CHARS."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    event_id = event.get("id") if event.get("id") is not None else event.get("eventId", data.get("eventId"))
    event_type = event.get("type")
    return _short(event_id), (event_type[:MAX_ID_CHARS] if isinstance(event_type, str) else None)


def _short(value: Any) -> Optional[str]:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)[:MAX_ID_CHARS]


def _ignore(summary: DeliverySummary, event_id: Optional[str], event_type: Optional[str], reason: str) -> None:
    reason = bounded.one_line(reason)
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS - 3] + "..."
    summary.ignored.append(Ignored(eventId=event_id, eventType=event_type, reason=reason))
    log.warning("events.ignored", extra={"event_id": event_id, "event_type": event_type, "reason": reason})


def _first_error(error: Any, under: Tuple = ()) -> str:
    """pydantic's ValidationError or models.Invalid (alike in ``errors()``); ``under``: the loc's prefix."""
    problem = error.errors()[0]
    where = ".".join(cut(str(p), 20) for p in under + tuple(problem["loc"]))
    return "%s: %s" % (where or "event", problem["msg"])


__all__ = ["CUSTOM_EVENT_TYPE", "IMAGE_MAKING_CALLS", "MAX_DELIVERY_CHARS", "MAX_EVENT_CHARS", "MAX_EVENT_DEPTH",
           "CloudEvent", "CustomRepairEvent", "DeliverySummary", "Accepted", "Ignored", "Ignore", "handle_delivery",
           "split_delivery", "as_cloud_event", "image_request", "judge"]
