"""The events function within bounds (issue 11 points 7 and 12): nothing in a delivery makes it
raise, each event is judged alone, event fields are bounded, reasons quote a short prefix."""
import json
import logging

from image_repair.control.triggers import events as events_module
from image_repair.control.triggers.events import MAX_DELIVERY_CHARS, MAX_EVENT_DEPTH, MAX_REASON_CHARS

from .test_events import ACTIONTRAIL_CREATE, DEFAULTS, IMAGE, actiontrail, custom, env  # noqa: F401 (env: a fixture)


def deep(levels: int, leaf="x") -> str:
    return "[" * levels + json.dumps(leaf) + "]" * levels


def assert_nothing_started(env):
    assert env.store.list_executions() == [] and env.flow.calls == []


def test_a_2kb_delivery_nested_1000_deep_is_ignored_with_a_reason(env):
    """Pins issue 11 point 7: this raised RecursionError, and EventBridge redelivered it forever."""
    for payload in (("[" * 1000 + "]" * 1000).encode(), ('{"a":' * 1000 + "1" + "}" * 1000).encode()):
        summary = env(payload)
        assert summary.accepted == [] and len(summary.ignored) == 1
        assert "nested deeper than %d levels" % MAX_EVENT_DEPTH in summary.ignored[0].reason
    assert_nothing_started(env)


def test_one_valid_event_with_a_1000_deep_field_does_not_stop_the_good_ones(env):
    """Pins issue 11 point 7: one bad event raised for the whole batch; now it alone is ignored."""
    bad = actiontrail(additionalEventData="DEEP")
    text = json.dumps([bad, ACTIONTRAIL_CREATE]).replace('"DEEP"', deep(1000))
    summary = env(text.encode())
    assert [a.imageId for a in summary.accepted] == [IMAGE]
    assert len(summary.ignored) == 1 and "nested deeper" in summary.ignored[0].reason
    alone = env(json.dumps(bad).replace('"DEEP"', deep(1000)).encode())      # alone: ignored too
    assert alone.accepted == [] and "nested deeper" in alone.ignored[0].reason


def test_deep_python_values_are_ignored_too(env):
    """The local runner and tests pass parsed values: walked without recursion."""
    value = "leaf"
    for _ in range(5000):
        value = [value]
    summary = env([dict(ACTIONTRAIL_CREATE, extra=value), ACTIONTRAIL_CREATE])
    assert [a.imageId for a in summary.accepted] == [IMAGE] and "nested deeper" in summary.ignored[0].reason


def test_a_delivery_over_the_size_bound_is_one_reason(env):
    summary = env(b" " * (MAX_DELIVERY_CHARS + 1))
    assert summary.ignored[0].reason == "the delivery is %d bytes (at most %d)" % (MAX_DELIVERY_CHARS + 1,
                                                                                   MAX_DELIVERY_CHARS)
    assert_nothing_started(env)


def test_a_string_encoded_again_and_again_is_refused(env):
    text = json.dumps(ACTIONTRAIL_CREATE)
    for _ in range(6):
        text = json.dumps(text)
    assert "encoded more than" in env(text).ignored[0].reason


def test_huge_ids_give_short_reasons_and_log_lines(env, caplog):
    """Pins issue 11 point 12: a 2 MB id gave a 2 MB log line; now a reason quotes a short prefix."""
    huge = "m-" + "a" * 200_000
    with caplog.at_level(logging.WARNING, logger="image_repair.control.triggers.events"):
        summary = env([actiontrail(responseElements={"ImageId": huge}),
                       dict(ACTIONTRAIL_CREATE, id="e" * 200_000),
                       custom(imageId=huge)])
    assert len(summary.ignored) == 3
    for ignored in summary.ignored:
        assert len(ignored.reason) <= MAX_REASON_CHARS and "a" * 100 not in ignored.reason
        assert ignored.eventId is None or len(ignored.eventId) <= 128
    assert "(200002 chars)" in summary.ignored[0].reason
    assert all(len(r.reason) <= MAX_REASON_CHARS for r in caplog.records if r.getMessage() == "events.ignored")
    assert_nothing_started(env)


def test_a_long_start_parameter_in_a_custom_event_is_refused_not_recorded(env):
    """Pins issue 11 point 12: a 100 KB zoneId (or instanceType) matched its pattern and was
    recorded and sent to RunInstances; an event's start parameter is at most 128 characters."""
    for field, value in (("zoneId", "cn-hangzhou-" + "h" * 100_000), ("instanceType", "ecs.g7." + "x" * 100_000)):
        summary = env(custom(**{field: value}))
        assert summary.accepted == [] and "is longer than 128 characters" in summary.ignored[0].reason
        assert "%s: '%s" % (field, value[:10]) in summary.ignored[0].reason
    summary = env(custom(repairItems=["virtio"] * 40))
    assert "repairItems: 40 entries (at most 32)" in summary.ignored[0].reason
    assert_nothing_started(env)


def test_a_defect_met_by_one_event_is_that_events_reason(env, monkeypatch, caplog):
    """Whatever goes wrong judging one event stays with it: no raise, the others go on."""
    real = events_module.judge

    def judge(event, *args):
        if event.get("id") == "boom":
            raise TypeError("a defect")
        return real(event, *args)
    monkeypatch.setattr(events_module, "judge", judge)
    summary = env([dict(ACTIONTRAIL_CREATE, id="boom"), ACTIONTRAIL_CREATE])
    assert [a.imageId for a in summary.accepted] == [IMAGE]
    assert summary.ignored[0].reason == "the event could not be read (TypeError)"


def test_the_handler_answers_a_deep_delivery(env, monkeypatch):
    """Pins issue 11 point 7 at the FC handler: it returns, so EventBridge does not redeliver."""
    from image_repair.control.handlers import events as handler_module
    from image_repair.control.handlers import fc
    from image_repair.control.steps.common import Ports
    monkeypatch.setattr(fc, "_PORTS", Ports(store=env.store, ecs=None))
    monkeypatch.setattr(handler_module, "cloudflow_starter", lambda settings: env.flow)
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    monkeypatch.setenv("IMAGE_REPAIR_EVENT_DEFAULTS", json.dumps(DEFAULTS))
    good = json.dumps(ACTIONTRAIL_CREATE)
    result = handler_module.handler(("[" + good + "," + deep(1000) + "]").encode())
    assert [a["imageId"] for a in result["accepted"]] == [IMAGE]
    assert "nested deeper" in result["ignored"][0]["reason"]
