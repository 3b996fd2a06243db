"""EventBridge deliveries to the ``image-repair-events`` function: which images to watch and repair.

A delivery is one CloudEvent (a JSON object), an array of them (batched push), or RawData (the
trigger's "raw data" form: an event's ``data`` only; as an object, or a JSON or base64 string).
Recognised events (docs/events.md has examples):

* ActionTrail API calls that made an image: CloudEvent type ``ecs:ActionTrail:ApiCall`` (source
  ``acs.ecs``; ``actiontrail:ActionTrail:ApiCall`` with ``data.serviceName`` Ecs too), with
  ``data.eventName`` CreateImage, ImportImage or CopyImage; the image is
  ``data.responseElements.ImageId`` (for CopyImage: the NEW image, in
  ``requestParameters.DestinationRegionId``), the region ``data.acsRegion``;
* ``image-repair:Image:RepairRequested`` (``CUSTOM_EVENT_TYPE``), for users' own buses:
  ``data.imageId`` plus optional start parameters (the seed template's names) and ``policy``.

Each accepted event starts a watched execution (``RepairRequest.watch``: wait until the image is
Available and checked, repair only what the policy selects) through ``launchers.start_execution``:
the execution id is deterministic, so a redelivered event (delivery is at least once) finds its
execution and starts nothing. Everything else is ignored with a reason, logged as
``events.ignored``; nothing here raises for a bad event (EventBridge would redeliver it forever).
"""
import base64
import binascii
import json
import logging
from typing import Any, List, Optional, Tuple, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..launchers import start_execution
from ..models import InvalidRequest, RepairRequest, WatchPolicy, parse_request

log = logging.getLogger(__name__)

CUSTOM_EVENT_TYPE = "image-repair:Image:RepairRequested"
ACTIONTRAIL_API_CALL = ":ActionTrail:ApiCall"
IMAGE_MAKING_CALLS = ("CreateImage", "ImportImage", "CopyImage")
# What a custom event may set besides the image: the start parameters, under the seed's names.
CUSTOM_PARAMETERS = set(RepairRequest.model_fields) - {"repairImageId", "watch", "policy"}


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 envelope EventBridge pushes (plus its aliyun* extensions)."""
    model_config = ConfigDict(extra="allow")

    id: Optional[str] = None
    source: Optional[str] = None
    type: str = Field(min_length=1)
    subject: Optional[str] = None
    aliyunregionid: Optional[str] = None
    data: Any = None


class ActionTrailCall(BaseModel):
    """An ActionTrail management event (``data`` of an ApiCall event): the fields used here."""
    model_config = ConfigDict(extra="ignore")

    eventName: str = Field(min_length=1)
    serviceName: Optional[str] = None
    acsRegion: Optional[str] = None
    errorCode: Optional[str] = None
    errorMessage: Optional[str] = None
    requestParameters: Union[dict, str, None] = None
    responseElements: Union[dict, str, None] = None


class CustomRepairEvent(BaseModel):
    """``data`` of an ``image-repair:Image:RepairRequested`` event."""
    model_config = ConfigDict(extra="allow")

    imageId: str = Field(min_length=1)
    regionId: Optional[str] = None
    policy: Optional[WatchPolicy] = None


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


# --- the delivery's shape ------------------------------------------------------------------------
def decode(payload: Any) -> Any:
    """bytes / JSON text / base64 of JSON -> a JSON value; raises Ignore when it is none of them."""
    if isinstance(payload, (bytes, bytearray)):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise Ignore("the delivery is not UTF-8 text")
    if not isinstance(payload, str):
        return payload
    text = payload.strip()
    if not text:
        raise Ignore("the delivery is empty")
    try:
        value = json.loads(text)
    except ValueError as error:
        try:
            value = json.loads(base64.b64decode(text, validate=True).decode("utf-8"))
        except (binascii.Error, ValueError):
            raise Ignore("malformed JSON (and not base64 of JSON): %s" % error)
    # RawData of a string field arrives JSON-encoded twice
    return decode(value) if isinstance(value, str) else value


def split_delivery(payload: Any) -> List[Tuple[Optional[dict], Optional[str]]]:
    """-> [(event object, None) or (None, why it is unusable)], one per event of the delivery."""
    try:
        value = decode(payload)
    except Ignore as error:
        return [(None, str(error))]
    values = value if isinstance(value, list) else [value]
    if not values:
        return [(None, "the delivery is an empty array")]
    events = []
    for item in values:
        try:
            item = decode(item)
        except Ignore as error:
            events.append((None, str(error)))
            continue
        if isinstance(item, dict):
            events.append((item, None))
        else:
            events.append((None, "an event must be a JSON object, not %s" % type(item).__name__))
    return events


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
    raise Ignore("neither a CloudEvent nor the raw data of a recognised event (keys: %s)"
                 % ", ".join(sorted(event)[:10]))


# --- what an event asks for ----------------------------------------------------------------------
def _object(value: Union[dict, str, None], what: str) -> dict:
    """ActionTrail carries request/response as objects or as JSON strings."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise Ignore("%s is not JSON" % what)
    if not isinstance(value, dict):
        raise Ignore("%s is not an object" % what)
    return value


def actiontrail_request(event: CloudEvent) -> Tuple[str, Optional[str], dict]:
    """-> (image id, region, start parameters) of an image-making ECS API call."""
    if not isinstance(event.data, dict):
        raise Ignore("ActionTrail event without a data object")
    service = str(event.data.get("serviceName") or "").lower()
    if event.source != "acs.ecs" and service != "ecs":
        raise Ignore("an API call of %s, not ECS" % (event.data.get("serviceName") or event.source))
    try:
        call = ActionTrailCall.model_validate(event.data)
    except ValidationError as error:
        raise Ignore("malformed ActionTrail event: %s" % _first_error(error))
    if call.errorCode:
        raise Ignore("the %s call failed (%s): no image was made" % (call.eventName, call.errorCode))
    if call.eventName not in IMAGE_MAKING_CALLS:
        raise Ignore("API call %s does not make an image (watched: %s)" % (call.eventName, ", ".join(IMAGE_MAKING_CALLS)))
    response = _object(call.responseElements, "responseElements")
    image_id = response.get("ImageId")
    if not isinstance(image_id, str) or not image_id:
        raise Ignore("%s event without responseElements.ImageId" % call.eventName)
    region = call.acsRegion or event.aliyunregionid
    if call.eventName == "CopyImage":      # the copy is made in the destination region
        region = _object(call.requestParameters, "requestParameters").get("DestinationRegionId") or region
    return image_id, region, {}


def custom_request(event: CloudEvent) -> Tuple[str, Optional[str], dict]:
    if not isinstance(event.data, dict):
        raise Ignore("%s event without a data object" % CUSTOM_EVENT_TYPE)
    try:
        custom = CustomRepairEvent.model_validate(event.data)
    except ValidationError as error:
        raise Ignore("malformed %s data: %s" % (CUSTOM_EVENT_TYPE, _first_error(error)))
    extra = dict(custom.model_extra or {})
    unknown = sorted(set(extra) - CUSTOM_PARAMETERS)
    if unknown:
        raise Ignore("unknown fields in %s data: %s" % (CUSTOM_EVENT_TYPE, ", ".join(unknown)))
    if custom.policy is not None:
        extra["policy"] = custom.policy.model_dump()
    return custom.imageId, custom.regionId or event.aliyunregionid, extra


def image_request(event: CloudEvent) -> Tuple[str, Optional[str], dict]:
    if event.type == CUSTOM_EVENT_TYPE:
        return custom_request(event)
    if event.type.endswith(ACTIONTRAIL_API_CALL):
        return actiontrail_request(event)
    raise Ignore("unknown event type %r" % event.type)


def start_parameters(image_id: str, region: Optional[str], asked: dict, defaults: dict,
                     policy: Optional[WatchPolicy], function_region: Optional[str]) -> dict:
    """The watched repair's start parameters: the deployment's defaults, what the event asks,
    the image and its region, and the policy (the event's, else the deployment's)."""
    region = region or function_region or defaults.get("regionId")
    if function_region and region != function_region:
        raise Ignore("image %s is in %s; this deployment repairs images in %s" % (image_id, region, function_region))
    raw = dict(defaults)
    raw.update(asked)
    raw.update({"repairImageId": image_id, "regionId": region, "watch": True})
    if "policy" not in raw and policy is not None:
        raw["policy"] = policy.model_dump()
    return raw


# --- the handler's logic ---------------------------------------------------------------------------
def handle_delivery(payload: Any, store, launcher, defaults: Optional[dict] = None,
                    policy: Optional[WatchPolicy] = None, region: Optional[str] = None) -> DeliverySummary:
    """Parse a delivery and start one watched execution per recognised event (an event whose
    execution this delivery already started is reported as a duplicate, not launched again).
    ``defaults``: start parameters events do not carry (zoneId, vSwitchId, securityGroupId,
    instanceType...); ``policy``: the deployment's default policy; ``region``: the function's.
    Launch errors (the cloud, the store) propagate: EventBridge retries, and the retry finds the
    executions already recorded."""
    summary = DeliverySummary()
    seen = {}
    for raw_event, unusable in split_delivery(payload):
        if unusable:
            _ignore(summary, None, None, unusable)
            continue
        event_id, event_type = _identity(raw_event)
        try:
            event = as_cloud_event(raw_event)
            event_type = event.type
            image_id, image_region, asked = image_request(event)
            raw = start_parameters(image_id, image_region, asked, defaults or {}, policy, region)
            try:
                request_id = parse_request(raw).execution_id()
            except InvalidRequest as error:
                raise Ignore(str(error))
            if request_id in seen:
                summary.accepted.append(seen[request_id].model_copy(update={"eventId": event_id, "duplicate": True,
                                                                            "started": False}))
                log.info("events.duplicate", extra={"execution_id": request_id, "event_id": event_id,
                                                    "image_id": image_id})
                continue
            launched = start_execution(store, launcher, raw)
        except Ignore as error:
            _ignore(summary, event_id, event_type, str(error))
            continue
        accepted = Accepted(eventId=event_id, eventType=event_type, imageId=image_id,
                            executionId=launched.execution_id, created=launched.created,
                            started=launched.started, status=launched.status)
        seen[launched.execution_id] = accepted
        summary.accepted.append(accepted)
        log.info("events.accepted", extra={"execution_id": launched.execution_id, "event_id": event_id,
                                           "event_type": event_type, "image_id": image_id,
                                           "created": launched.created, "started": launched.started,
                                           "status": launched.status})
    return summary


def _identity(event: dict) -> Tuple[Optional[str], Optional[str]]:
    event_id = event.get("id") or event.get("eventId")
    event_type = event.get("type") if isinstance(event.get("type"), str) else None
    return (str(event_id) if event_id is not None else None), event_type


def _ignore(summary: DeliverySummary, event_id: Optional[str], event_type: Optional[str], reason: str) -> None:
    summary.ignored.append(Ignored(eventId=event_id, eventType=event_type, reason=reason))
    log.warning("events.ignored", extra={"event_id": event_id, "event_type": event_type, "reason": reason})


def _first_error(error: ValidationError) -> str:
    problem = error.errors()[0]
    return "%s: %s" % (".".join(str(p) for p in problem["loc"]) or "event", problem["msg"])


__all__ = ["CUSTOM_EVENT_TYPE", "IMAGE_MAKING_CALLS", "CloudEvent", "ActionTrailCall", "CustomRepairEvent",
           "DeliverySummary", "Accepted", "Ignored", "handle_delivery", "split_delivery", "as_cloud_event"]
