"""Which image an ActionTrail event made, per event name, from whichever field holds it (issue 10
point 5): responseElements, referencedResources, resourceName (+ resourceType); requestParameters
(or requestParameterJson) for CopyImage's source and destination; a reason when none does."""
import json

import pytest

from image_repair.control.triggers.actiontrail import COPY_ELSEWHERE, Unusable, made_image, read_call
from image_repair.control.triggers.events import MAX_REASON_CHARS

NEW, OTHER, SOURCE = "m-bp1newimage00000001", "m-bp1otherimage0000001", "m-bp1sourceimage00001"


def call(name="CreateImage", **fields):
    return read_call(dict({"eventName": name, "serviceName": "Ecs", "acsRegion": "cn-hangzhou"}, **fields))


COPY_REQUEST = {"RegionId": "cn-hangzhou", "ImageId": SOURCE, "DestinationRegionId": "cn-hangzhou"}


@pytest.mark.parametrize("name", ["CreateImage", "ImportImage"])
@pytest.mark.parametrize("fields", [
    {"responseElements": {"ImageId": NEW}},
    {"responseElements": json.dumps({"ImageId": NEW, "RequestId": "r"})},           # as JSON text
    {"referencedResources": {"ACS::ECS::Image": [NEW], "ACS::ECS::Snapshot": ["s-bp1snap"]}},
    {"referencedResources": json.dumps({"ACS::ECS::Image": [NEW]})},
    {"referencedResources": {"ACS::ECS::Image": NEW}},                              # one name as a string
    {"resourceType": "ACS::ECS::Snapshot;ACS::ECS::Image", "resourceName": "s-bp1snap;" + NEW},
    {"resourceName": NEW},                                                          # no type: an m-... name
    # the response wins over the other fields
    {"responseElements": {"ImageId": NEW}, "referencedResources": {"ACS::ECS::Image": [OTHER]}},
    # the same id in several fields is one image
    {"referencedResources": {"ACS::ECS::Image": [NEW]}, "resourceType": "ACS::ECS::Image", "resourceName": NEW},
], ids=lambda f: "+".join(sorted(f)) if isinstance(f, dict) else f)
def test_create_and_import_read_the_new_image_from_whichever_field_holds_it(name, fields):
    assert made_image(call(name, **fields), "cn-hangzhou") == (NEW, "cn-hangzhou")


@pytest.mark.parametrize("fields", [
    {"requestParameters": COPY_REQUEST, "responseElements": {"ImageId": NEW}},
    {"requestParameters": COPY_REQUEST, "referencedResources": {"ACS::ECS::Image": [SOURCE, NEW]}},
    {"requestParameters": COPY_REQUEST, "resourceType": "ACS::ECS::Image", "resourceName": SOURCE + "," + NEW},
    {"requestParameterJson": json.dumps(COPY_REQUEST), "referencedResources": {"ACS::ECS::Image": [NEW, SOURCE]}},
], ids=lambda f: "+".join(sorted(f)))
def test_copy_image_reads_the_copy_not_its_source_in_the_destination_region(fields):
    assert made_image(call("CopyImage", acsRegion="cn-hangzhou", **fields), "cn-hangzhou") == (NEW, "cn-hangzhou")


def test_a_copy_to_another_region_is_refused_by_the_source_regions_deployment_and_says_why():
    cross = dict(COPY_REQUEST, DestinationRegionId="cn-shanghai")
    with pytest.raises(Unusable) as caught:
        made_image(call("CopyImage", requestParameters=cross, responseElements={"ImageId": NEW}), "cn-hangzhou")
    assert str(caught.value) == COPY_ELSEWHERE % (NEW, "cn-shanghai", "cn-hangzhou")
    assert len(COPY_ELSEWHERE % ("m-" + "a" * 32, "ap-southeast-1", "ap-southeast-1")) <= MAX_REASON_CHARS
    # the copy's id unknown (only the source named): still refused for the region, not for the id
    with pytest.raises(Unusable, match="a copy of 'm-bp1sourceimage00001' in cn-shanghai"):
        made_image(call("CopyImage", requestParameters=cross, referencedResources={"ACS::ECS::Image": [SOURCE]}),
                   "cn-hangzhou")
    # the destination's own deployment (were the event routed there) takes it
    assert made_image(call("CopyImage", requestParameters=cross, responseElements={"ImageId": NEW}),
                      "cn-shanghai") == (NEW, "cn-shanghai")


@pytest.mark.parametrize("name, fields, reason", [
    ("CreateImage", {}, "CreateImage event names no new image (looked in responseElements.ImageId"),
    ("CreateImage", {"referencedResources": {"ACS::ECS::Image": [NEW, OTHER]}}, "names 2 images"),
    ("CreateImage", {"resourceType": "ACS::ECS::Image;ACS::ECS::Snapshot", "resourceName": NEW},
     "names no new image"),                              # types and names do not line up: not guessed
    ("CreateImage", {"referencedResources": {"ACS::ECS::Image": ["i-bp1instance"]}}, "names no new image"),
    ("CreateImage", {"responseElements": {"ImageId": "m-" + "a" * 5000}}, "is not a custom image id"),
    ("CreateImage", {"errorCode": "QuotaExceed.Image"}, "failed (QuotaExceed.Image)"),
    ("DeleteImage", {"responseElements": {"ImageId": NEW}}, "does not make an image"),
    ("CopyImage", {"referencedResources": {"ACS::ECS::Image": [SOURCE, NEW]}}, "copy's region is unknown"),
    ("CopyImage", {"requestParameters": COPY_REQUEST, "referencedResources": {"ACS::ECS::Image": [SOURCE]}},
     "names no new image besides its source 'm-bp1sourceimage00001'"),
    ("CopyImage", {"requestParameters": dict(COPY_REQUEST, DestinationRegionId="Shanghai!"),
                   "responseElements": {"ImageId": NEW}}, "is not a region id"),
    ("CopyImage", {"requestParameters": "[1, 2]"}, "requestParameters is not an object"),
    ("CopyImage", {"requestParameters": "[" * 100 + "]" * 100}, "nested deeper than 16 levels"),
])
def test_an_event_naming_no_usable_image_is_refused_with_its_reason(name, fields, reason):
    with pytest.raises(Unusable) as caught:
        made_image(call(name, **fields), "cn-hangzhou")
    assert reason in str(caught.value) and len(str(caught.value)) < 400, str(caught.value)


def test_bad_field_types_are_malformed_events():
    with pytest.raises(Unusable, match="malformed ActionTrail event: eventName"):
        read_call({"eventName": 42})
    with pytest.raises(Unusable, match="acsRegion"):
        read_call({"eventName": "CreateImage", "acsRegion": "x" * 100})
