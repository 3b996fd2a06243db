"""EventBridge deliveries: every delivery form x event type, duplicates, ignored events with reasons."""
import base64
import copy
import json
import logging
from pathlib import Path

import pytest

from image_repair.control.launchers import CloudFlowLauncher
from image_repair.control.models import WatchPolicy, flow_input
from image_repair.control.triggers.events import CUSTOM_EVENT_TYPE, handle_delivery
from image_repair.control.store.sqlite import SQLiteStore

IMAGE = "m-bp1newimage00000001"
DEFAULTS = {"zoneId": "cn-hangzhou-i", "instanceType": "ecs.g7.large", "securityGroupId": "sg-bp1abcdefghijklmnop",
            "vSwitchId": "vsw-bp1abcdefghijklmnop", "repairItems": "auto"}

# ActionTrail's ApiCall event as EventBridge delivers it (CloudEvents envelope; data: the
# management event, https://www.alibabacloud.com/help/en/eventbridge/user-guide/actiontrail-events)
ACTIONTRAIL_CREATE = {
    "id": "45ef4dewdwe1-7c35-447a-bd93-fab****", "source": "acs.ecs", "specversion": "1.0",
    "type": "ecs:ActionTrail:ApiCall", "datacontenttype": "application/json;charset=utf-8",
    "subject": "acs:ecs:cn-hangzhou:1234567890123456:image/" + IMAGE, "time": "2026-11-25T21:00:00Z",
    "aliyunaccountid": "1234567890123456", "aliyunregionid": "cn-hangzhou", "aliyuneventbusname": "default",
    "data": {"eventId": "92b33345-0cef-47be-821f-fb9914d3****", "eventVersion": 1, "eventRW": "Write",
             "eventType": "ApiCall", "serviceName": "Ecs", "eventName": "CreateImage", "acsRegion": "cn-hangzhou",
             "requestId": "32B7EB75-62EE-511E-9449-E19EBF67C2ED", "eventTime": "2026-11-25T20:59:58Z",
             "userIdentity": {"type": "ram-user", "userName": "builder"},
             "requestParameters": {"RegionId": "cn-hangzhou", "InstanceId": "i-bp1builder0000000001"},
             "responseElements": {"ImageId": IMAGE, "RequestId": "32B7EB75-62EE-511E-9449-E19EBF67C2ED"}}}


def actiontrail(name="CreateImage", **data) -> dict:
    event = copy.deepcopy(ACTIONTRAIL_CREATE)
    event["id"] = "evt-%s-%d" % (name, len(data))
    event["data"]["eventName"] = name
    event["data"].update(data)
    return event


def custom(**data) -> dict:
    return {"id": "evt-custom", "source": "my.pipeline", "specversion": "1.0", "type": CUSTOM_EVENT_TYPE,
            "data": dict({"imageId": IMAGE}, **data)}


class FakeCloudFlow:
    """CloudFlow's StartExecution as far as names go: a second start of a name starts nothing."""

    def __init__(self):
        self.executions, self.calls = {}, []

    def start(self, name, execution_input):
        self.calls.append((name, execution_input))
        if name in self.executions:
            return {"name": name, "started": False}
        self.executions[name] = execution_input
        return {"name": name, "started": True}


@pytest.fixture
def env(tmp_path):
    store = SQLiteStore(str(tmp_path / "state.db"))
    flow = FakeCloudFlow()

    def deliver(payload, **kwargs):
        kwargs.setdefault("defaults", DEFAULTS)
        kwargs.setdefault("region", "cn-hangzhou")
        return handle_delivery(payload, store, CloudFlowLauncher(flow), **kwargs)
    deliver.store, deliver.flow = store, flow
    yield deliver
    store.close()


def raw_forms(event: dict) -> dict:
    """The same event in every delivery form EventBridge uses."""
    data = event["data"]
    return {"cloudevent": event, "cloudevent-bytes": json.dumps(event).encode(), "batch": [event],
            "batch-text": json.dumps([event]), "raw-object": data, "raw-json": json.dumps(data),
            "raw-base64": base64.b64encode(json.dumps(data).encode()).decode(),
            "raw-json-twice": json.dumps(json.dumps(data))}


EVENTS = {"CreateImage": actiontrail("CreateImage"), "ImportImage": actiontrail("ImportImage"),
          "CopyImage": actiontrail("CopyImage", requestParameters={"RegionId": "cn-shanghai", "ImageId": "m-old",
                                                                   "DestinationRegionId": "cn-hangzhou"},
                                   acsRegion="cn-shanghai"),
          "custom": custom(zoneId="cn-hangzhou-h", policy={"riskLevels": ["High", "Medium"]})}


@pytest.mark.parametrize("kind", sorted(EVENTS))
@pytest.mark.parametrize("form", sorted(raw_forms(ACTIONTRAIL_CREATE)))
def test_every_form_of_every_event_type_starts_one_watched_execution(env, kind, form):
    summary = env(raw_forms(EVENTS[kind])[form])
    assert summary.ignored == [] and len(summary.accepted) == 1
    accepted = summary.accepted[0]
    assert accepted.imageId == IMAGE and accepted.created and accepted.started and accepted.status == "RUNNING"
    assert accepted.executionId.startswith("watch-%s-" % IMAGE)
    # CloudFlow got the flow's input with the watch flag (the flow's first Choice)
    assert env.flow.calls == [(accepted.executionId, flow_input(accepted.executionId))]
    assert flow_input(accepted.executionId)["watch"] is True
    params = env.store.get_execution(accepted.executionId).params
    assert params["watch"] is True and params["repairImageId"] == IMAGE and params["regionId"] == "cn-hangzhou"
    if kind == "custom":       # the event's own parameters and policy win over the defaults
        assert params["zoneId"] == "cn-hangzhou-h" and params["policy"]["riskLevels"] == ["High", "Medium"]
    else:
        assert params["zoneId"] == DEFAULTS["zoneId"] and params["policy"] is None


def test_the_deployment_policy_applies_to_events_without_one(env):
    summary = env(ACTIONTRAIL_CREATE, policy=WatchPolicy(items=["virtio"], riskLevels=["Medium"]))
    params = env.store.get_execution(summary.accepted[0].executionId).params
    assert params["policy"] == {"items": ["virtio"], "riskLevels": ["Medium"]}


def test_the_same_event_twice_is_one_execution_and_one_start(env):
    first = env(ACTIONTRAIL_CREATE)
    again = env(json.dumps(ACTIONTRAIL_CREATE))                 # redelivered (at least once)
    batch = env([ACTIONTRAIL_CREATE, ACTIONTRAIL_CREATE])       # twice in one batch
    ids = {a.executionId for s in (first, again, batch) for a in s.accepted}
    assert len(ids) == 1 and len(env.store.list_executions()) == 1
    assert [a.started for a in first.accepted + again.accepted + batch.accepted] == [True, False, False, False]
    assert batch.accepted[1].duplicate and not again.accepted[0].created
    assert len(env.flow.executions) == 1
    # CloudFlow was asked again only for the redelivery and the batch's first copy (a running
    # execution's start is re-sent in case the first one was lost), never for the in-batch duplicate
    assert len(env.flow.calls) == 3


def test_other_images_and_policies_are_other_executions(env):
    one = env(ACTIONTRAIL_CREATE).accepted[0].executionId
    other = env(actiontrail(responseElements={"ImageId": "m-bp1newimage00000002"})).accepted[0].executionId
    strict = env(ACTIONTRAIL_CREATE, policy=WatchPolicy(riskLevels=["Medium"])).accepted[0].executionId
    assert len({one, other, strict}) == 3


IGNORED = [
    ("not json {", "malformed JSON"),
    (b"\xff\xfe", "not UTF-8"),
    ("", "empty"),
    ([], "empty array"),
    ([42], "must be a JSON object"),
    ({"hello": "world"}, "neither a CloudEvent nor the raw data"),
    ({"type": "ecs:Instance:StateChange", "source": "acs.ecs", "data": {}}, "unknown event type"),
    ({"specversion": "1.0", "source": "acs.ecs", "data": {}}, "malformed CloudEvent"),
    (actiontrail("DeleteDisk"), "does not make an image"),
    (actiontrail(errorCode="QuotaExceed.Image", errorMessage="too many"), "failed (QuotaExceed.Image)"),
    (actiontrail(responseElements={"RequestId": "x"}), "CreateImage event names no new image"),
    (actiontrail(responseElements="{not json"), "responseElements is not JSON"),
    (actiontrail(serviceName="Rds", source=None) | {"source": "acs.rds"}, "not ECS"),
    (actiontrail(acsRegion="cn-beijing"), "is in cn-beijing"),
    (actiontrail(responseElements={"ImageId": "not an image id"}), "is not a custom image id"),
    (actiontrail("CopyImage", requestParameters={"ImageId": "m-bp1sourceimage00001"}), "copy's region is unknown"),
    (actiontrail("CopyImage", requestParameters={"ImageId": "m-bp1sourceimage00001",
                                                 "DestinationRegionId": "cn-shanghai"}),
     "CopyImage made m-bp1newimage00000001 in cn-shanghai, but this deployment repairs cn-hangzhou"),
    (custom(imageId=""), "malformed"),
    (custom(colour="red"), "unknown fields in"),
    (custom(policy={"items": ["nonsense"]}), "unknown repair items"),
    (custom(engine="magic"), "engine"),
]


@pytest.mark.parametrize("payload, reason", IGNORED, ids=[r for _, r in IGNORED])
def test_bad_events_are_ignored_with_a_reason_and_logged(env, caplog, payload, reason):
    with caplog.at_level(logging.WARNING, logger="image_repair.control.triggers.events"):
        summary = env(payload)
    assert summary.accepted == [] and len(summary.ignored) == 1
    assert reason in summary.ignored[0].reason, summary.ignored[0].reason
    logged = [r for r in caplog.records if r.getMessage() == "events.ignored"]
    assert len(logged) == 1 and logged[0].reason == summary.ignored[0].reason
    assert env.store.list_executions() == [] and env.flow.calls == []


def test_missing_defaults_ignore_the_event_and_say_which(env):
    summary = env(ACTIONTRAIL_CREATE, defaults={})
    assert "zoneId: missing" in summary.ignored[0].reason and summary.accepted == []


def test_a_batch_keeps_its_good_events_and_reports_the_bad(env):
    summary = env([ACTIONTRAIL_CREATE, actiontrail("DeleteDisk"), "garbage", custom()])
    assert [a.imageId for a in summary.accepted] == [IMAGE, IMAGE]
    assert len(summary.ignored) == 2 and summary.ignored[0].eventType == "ecs:ActionTrail:ApiCall"
    # the ActionTrail event and the custom one (default policy, same parameters) are one repair
    assert summary.accepted[1].duplicate


def test_the_handler_returns_the_summary_and_never_raises_for_bad_events(env, monkeypatch):
    from image_repair.control.handlers import events as handler_module
    from image_repair.control.handlers import fc
    from image_repair.control.steps.common import Ports

    monkeypatch.setattr(fc, "_PORTS", Ports(store=env.store, ecs=None))
    monkeypatch.setattr(handler_module, "cloudflow_starter", lambda settings: env.flow)
    monkeypatch.setenv("IMAGE_REPAIR_SWEEP_DEFAULTS", json.dumps(DEFAULTS))
    monkeypatch.setenv("IMAGE_REPAIR_EVENT_POLICY", '{"riskLevels": ["High", "Medium"]}')
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    result = handler_module.handler(json.dumps([ACTIONTRAIL_CREATE, "{oops"]).encode())
    assert [a["imageId"] for a in result["accepted"]] == [IMAGE]
    assert result["ignored"][0]["reason"].startswith("malformed JSON")
    params = env.store.get_execution(result["accepted"][0]["executionId"]).params
    assert params["policy"]["riskLevels"] == ["High", "Medium"]
    assert handler_module.handler(b"\x00garbage") == {"accepted": [], "ignored": [
        {"eventId": None, "eventType": None, "reason": result_reason(b"\x00garbage")}]}


def result_reason(payload) -> str:
    from image_repair.control.triggers.events import split_delivery
    return split_delivery(payload)[0][1]


def test_the_cli_substitutes_the_registered_image_into_every_event():
    from image_repair.cli.events import event_image_ids, substitute_image
    payload = json.dumps([ACTIONTRAIL_CREATE, custom(), {"type": "other", "data": {}}]).encode()
    assert event_image_ids(payload) == [IMAGE, IMAGE]
    replaced = substitute_image(payload, "m-bp1registereddisk01")
    assert IMAGE not in replaced.decode() and event_image_ids(replaced) == ["m-bp1registereddisk01"] * 2


SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "events"
# Samples whose documented outcome is a logged refusal (docs/events.md "CopyImage"), and why.
REFUSED_SAMPLES = {
    "actiontrail-copy-image-cross-region.json": "but this deployment repairs cn-hangzhou",
    "actiontrail-copy-image-referenced-resources.json": "the copy's region is unknown",
}


def sample_names():
    return sorted(p.name for p in SAMPLES.glob("*.json"))


def test_every_event_name_has_a_sample_in_every_documented_shape():
    names = sample_names()
    for call in ("create-image", "import-image", "copy-image"):
        for shape in ("", "-referenced-resources", "-request-parameters", "-resource-name"):
            assert "actiontrail-%s%s.json" % (call, shape) in names
    assert "actiontrail-copy-image-cross-region.json" in names and "custom-repair-requested.json" in names


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_says_its_source_and_whether_it_was_captured(name):
    event = json.loads((SAMPLES / name).read_text())
    source = event["samplesource"]              # a CloudEvents extension attribute: lowercase letters
    if name.startswith("custom"):
        assert "docs/events.md" in source
    else:
        assert source.startswith("BUILT from documented structure, not captured")
        assert "https://www.alibabacloud.com/help/" in source
    assert name in (SAMPLES.parent / "events.md").read_text()          # and docs/events.md lists it


@pytest.mark.parametrize("form", ["cloudevent", "raw-object"])
@pytest.mark.parametrize("name", sample_names())
def test_each_sample_starts_exactly_one_repair_or_a_logged_refusal_and_redelivery_nothing(env, caplog, name, form):
    """Issue 10 point 5: every documented shape of CreateImage, ImportImage and CopyImage."""
    event = json.loads((SAMPLES / name).read_text())
    payload = event if form == "cloudevent" else event["data"]
    with caplog.at_level(logging.WARNING, logger="image_repair.control.triggers.events"):
        first = env(json.dumps(payload).encode())
        again = env(json.dumps(payload).encode())
    if name in REFUSED_SAMPLES:
        assert first.accepted == [] == again.accepted and REFUSED_SAMPLES[name] in first.ignored[0].reason
        logged = [r for r in caplog.records if r.getMessage() == "events.ignored"]
        assert [r.reason for r in logged] == [first.ignored[0].reason] * 2
        assert env.store.list_executions() == [] and env.flow.calls == []
        return
    assert first.ignored == [] and len(first.accepted) == 1, first
    accepted = first.accepted[0]
    assert accepted.imageId == "m-bp1exampleimage0001"
    assert accepted.created and accepted.started
    assert [(a.executionId, a.created, a.started) for a in again.accepted] == [(accepted.executionId, False, False)]
    assert [e.execution_id for e in env.store.list_executions()] == [accepted.executionId]
    assert list(env.flow.executions) == [accepted.executionId]
