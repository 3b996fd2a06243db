"""Which image an ActionTrail API call made, and in which region: per event name, from whichever
field of the management event holds it.

The management event (``data`` of an ``ecs:ActionTrail:ApiCall`` CloudEvent) has, per
ActionTrail's "Management event structure" (https://www.alibabacloud.com/help/doc-detail/28819.html):
``eventName``, ``acsRegion`` (the region the call was made in), ``errorCode``,
``requestParameters`` (or the same as JSON text, ``requestParameterJson``), ``responseElements``,
``referencedResources`` (``{"ACS::ECS::Image": ["m-..."], ...}``), ``resourceName`` and
``resourceType`` (several names of one type separated by ``,``, types by ``;``). Which of these
an ECS CreateImage, ImportImage or CopyImage event fills is not documented: the published ECS
samples carry ``requestParameters`` and ``referencedResources`` and no ``responseElements``
(docs/cloud-contracts.md, "Events and image checks"). So the new image's id is looked for in every one:

=============  ======================================================  ==========================
event name     the new image                                           its region
=============  ======================================================  ==========================
CreateImage    ``responseElements.ImageId``; else the one image id of   ``acsRegion``
ImportImage    ``referencedResources["ACS::ECS::Image"]`` and
               ``resourceName`` (its ``ACS::ECS::Image`` part)
CopyImage      the same, less the SOURCE image                          ``requestParameters.
               (``requestParameters.ImageId``)                          DestinationRegionId``
=============  ======================================================  ==========================

``requestParameters`` never holds the new image's id (the call makes it); it is read for
CopyImage's source and destination. A cross-region CopyImage is recorded in the source region
(``acsRegion``), and EventBridge rules are regional, so its event reaches the source region's
deployment only, while the copy lives in the destination region: that deployment refuses it
with a logged reason (``COPY_ELSEWHERE``; docs/events.md "CopyImage").
"""
import re
from typing import List, Optional, Tuple, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..models import CUSTOM_IMAGE_ID, REGION_ID
from .bounded import TooBig, cut, loads, preview

IMAGE_TYPE = "ACS::ECS::Image"
IMAGE_MAKING_CALLS = ("CreateImage", "ImportImage", "CopyImage")
MAX_ID_CHARS = 128
MAX_NAMED_IDS = 100             # ids read from referencedResources / resourceName, at most
MAX_NESTED_JSON_DEPTH = 16      # requestParameters etc. given as JSON text
_IMAGE_ID, _REGION = re.compile(CUSTOM_IMAGE_ID), re.compile(REGION_ID)
COPY_ELSEWHERE = ("CopyImage made %s in %s, but this deployment repairs %s, and the copy's region never gets "
                  "this event (ActionTrail records it in the source region): deploy there, and its sweep or a "
                  "RepairRequested event repairs it (docs/events.md#copyimage)")


class Unusable(Exception):
    """This event names no image this deployment can act on; the message says why."""


class ActionTrailCall(BaseModel):
    """An ActionTrail management event (``data`` of an ApiCall event): the fields read here."""
    model_config = ConfigDict(extra="ignore")

    eventName: str = Field(min_length=1, max_length=MAX_ID_CHARS)
    serviceName: Optional[str] = Field(default=None, max_length=MAX_ID_CHARS)
    acsRegion: Optional[str] = Field(default=None, max_length=64)
    errorCode: Optional[str] = Field(default=None, max_length=256)
    requestParameters: Union[dict, str, None] = None
    requestParameterJson: Union[dict, str, None] = None
    responseElements: Union[dict, str, None] = None
    referencedResources: Union[dict, str, None] = None
    resourceName: Optional[str] = None
    resourceType: Optional[str] = None


def read_call(data: dict) -> ActionTrailCall:
    try:
        return ActionTrailCall.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        raise Unusable("malformed ActionTrail event: %s: %s" % (".".join(str(p) for p in problem["loc"]),
                                                                problem["msg"]))


def made_image(call: ActionTrailCall, function_region: Optional[str] = None) -> Tuple[str, Optional[str]]:
    """-> (the image the call made, its region) of a CreateImage, ImportImage or CopyImage event.
    ``function_region``: the deployment's; a copy made elsewhere is refused here (COPY_ELSEWHERE)."""
    if call.errorCode:
        raise Unusable("the %s call failed (%s): no image was made" % (cut(call.eventName), cut(call.errorCode)))
    if call.eventName not in IMAGE_MAKING_CALLS:
        raise Unusable("API call %s does not make an image (watched: %s)"
                       % (cut(call.eventName), ", ".join(IMAGE_MAKING_CALLS)))
    request = _object(call.requestParameters, "requestParameters") or \
        _object(call.requestParameterJson, "requestParameterJson")
    source = None
    region = _region(call.acsRegion, "acsRegion") if call.acsRegion else None
    if call.eventName == "CopyImage":
        source = request.get("ImageId")
        destination = request.get("DestinationRegionId")
        if not destination:
            raise Unusable("CopyImage event without requestParameters.DestinationRegionId: the copy's region "
                           "is unknown")
        region = _region(destination, "requestParameters.DestinationRegionId")
        if function_region and region != function_region:
            raise Unusable(COPY_ELSEWHERE % (_copy_id(call, source), region, function_region))
    return _new_image_id(call, source), region


def _copy_id(call: ActionTrailCall, source) -> str:
    """The copy's id for the refusal message, when the event says it."""
    try:
        return _new_image_id(call, source)
    except Unusable:
        return "a copy of %s" % (preview(source) if source else "an image")


def _new_image_id(call: ActionTrailCall, source) -> str:
    """The response's ImageId; else the one image named by referencedResources or resourceName
    (less the source, for CopyImage)."""
    response = _object(call.responseElements, "responseElements")
    if response.get("ImageId") is not None:
        return _image_id(response["ImageId"], "responseElements.ImageId")
    named = [i for i in _referenced_images(call) + _resource_name_images(call) if i != source]
    distinct = sorted(set(named))
    if len(distinct) == 1:
        return distinct[0]
    if distinct:
        raise Unusable("%s event names %d images (%s): which one it made is not said"
                       % (call.eventName, len(distinct), ", ".join(distinct[:3])))
    besides = " besides its source %s" % preview(source) if source else ""
    raise Unusable("%s event names no new image%s (looked in responseElements.ImageId, "
                   "referencedResources[\"%s\"], resourceName)" % (call.eventName, besides, IMAGE_TYPE))


def _referenced_images(call: ActionTrailCall) -> List[str]:
    referenced = _object(call.referencedResources, "referencedResources")
    ids = referenced.get(IMAGE_TYPE)
    if isinstance(ids, str):
        ids = ids.split(",")
    if not isinstance(ids, list):
        return []
    return [i.strip() for i in ids[:MAX_NAMED_IDS] if _looks_like_image_id(i)]


def _resource_name_images(call: ActionTrailCall) -> List[str]:
    """resourceName's image ids: the group at ACS::ECS::Image's place in resourceType (names of
    one type are separated by ",", types by ";"); without resourceType, the names shaped m-..."""
    if not call.resourceName:
        return []
    groups = call.resourceName.split(";", MAX_NAMED_IDS)
    if call.resourceType:
        types = [t.strip() for t in call.resourceType.split(";", MAX_NAMED_IDS)]
        if len(types) != len(groups) or IMAGE_TYPE not in types:
            return []
        groups = [groups[types.index(IMAGE_TYPE)]]
    names = [n.strip() for group in groups for n in group.split(",", MAX_NAMED_IDS)]
    return [n for n in names[:MAX_NAMED_IDS] if _looks_like_image_id(n)]


def _looks_like_image_id(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_ID_CHARS and bool(_IMAGE_ID.fullmatch(value.strip()))


def _image_id(value, where: str) -> str:
    if not _looks_like_image_id(value):
        raise Unusable("%s %s is not a custom image id (m-...)" % (where, preview(value)))
    return value.strip()


def _region(value, where: str) -> str:
    if not isinstance(value, str) or len(value) > 64 or not _REGION.fullmatch(value):
        raise Unusable("%s %s is not a region id" % (where, preview(value)))
    return value


def _object(value: Union[dict, str, None], what: str) -> dict:
    """ActionTrail carries request/response as objects or as JSON text."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = loads(value, MAX_NESTED_JSON_DEPTH, what)
        except TooBig as error:
            raise Unusable(str(error))
        except ValueError:
            raise Unusable("%s is not JSON" % what)
    if not isinstance(value, dict):
        raise Unusable("%s is not an object" % what)
    return value


__all__ = ["IMAGE_MAKING_CALLS", "IMAGE_TYPE", "ActionTrailCall", "Unusable", "made_image", "read_call"]
