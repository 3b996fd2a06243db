"""Property: the events and sweep functions' edges hold whatever arrives (issue 11 points 7, 8, 12).

* events: nothing in a delivery makes ``handle_delivery`` raise; every event comes out accepted or
  ignored with a short, one-line reason; garbage starts nothing; a good event in a batch of
  garbage still starts, once;
* sweep: a malformed timer payload is one ``HandlerError`` InvalidInput with a one-line message,
  and nothing is listed, started or deleted.

Malformed inputs are malformed by construction (random JSON, random bytes, deep nesting, wrong
types, huge strings), so the assertions do not lean on the code under test to say what is bad.
The examples are derandomized: CI runs the same ones every time."""
import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from image_repair.control.steps.runner import HandlerError
from image_repair.control.triggers.events import MAX_ID_CHARS, MAX_REASON_CHARS

from .test_events import ACTIONTRAIL_CREATE, IMAGE, env  # noqa: F401 (env: a fixture)
from .test_sweep_payload import ports, timer  # noqa: F401 (ports: a fixture)

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
huge_strings = st.integers(min_value=129, max_value=300_000).map(lambda n: "m-" + "a" * n)


@st.composite
def deep_texts(draw) -> str:
    levels = draw(st.integers(min_value=33, max_value=3000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return opener * levels + "1" + closer * levels


@st.composite
def garbage_deliveries(draw):
    """Deliveries that hold no usable event (as text or bytes)."""
    kind = draw(st.sampled_from(["json", "bytes", "deep", "huge"]))
    if kind == "json":
        text = json.dumps(draw(json_values))
    elif kind == "bytes":
        return draw(st.binary(max_size=200))
    elif kind == "deep":
        text = draw(deep_texts())
    else:
        text = json.dumps({"type": draw(huge_strings), "data": {}})
    return text.encode() if draw(st.booleans()) else text


FIELDS = ["id", "type", "source", "data", "data.eventName", "data.acsRegion", "data.serviceName", "data.errorCode",
          "data.responseElements", "data.responseElements.ImageId", "data.requestParameters",
          "data.referencedResources", "data.resourceName"]


@st.composite
def mutated_events(draw) -> str:
    """The good event with one field replaced by a wrong type, a huge string or a deep value."""
    event = copy.deepcopy(ACTIONTRAIL_CREATE)
    path = draw(st.sampled_from(FIELDS)).split(".")
    target = event
    for key in path[:-1]:
        target = target[key]
    replacement = draw(st.sampled_from(["json", "huge", "deep"]))
    target[path[-1]] = "REPLACED" if replacement == "deep" else (
        draw(json_values) if replacement == "json" else draw(huge_strings))
    return json.dumps(event).replace('"REPLACED"', draw(deep_texts()))


def check_summary(summary, events: int = None):
    outcomes = len(summary.accepted) + len(summary.ignored)
    assert outcomes >= 1 if events is None else outcomes == events
    for ignored in summary.ignored:
        assert ignored.reason and len(ignored.reason) <= MAX_REASON_CHARS and "\n" not in ignored.reason
        assert ignored.eventId is None or len(ignored.eventId) <= MAX_ID_CHARS
    for accepted in summary.accepted:           # only the one real image can ever be accepted
        assert accepted.imageId == IMAGE


@SETTINGS
@given(payload=garbage_deliveries())
def test_events_garbage_is_reported_and_starts_nothing(env, payload):
    summary = env(payload)
    check_summary(summary)
    assert summary.accepted == [] and env.store.list_executions() == [] and env.flow.calls == []


@SETTINGS
@given(payload=mutated_events())
def test_events_one_bad_field_never_raises(env, payload):
    check_summary(env(payload), events=1)


@SETTINGS
@given(garbage=st.lists(json_values | deep_texts() | huge_strings, min_size=1, max_size=4),
       position=st.integers(min_value=0, max_value=4))
def test_events_a_good_event_survives_a_batch_of_garbage(env, garbage, position):
    elements = [json.dumps(g) if not (isinstance(g, str) and g.startswith(("[", '{"a":'))) else g for g in garbage]
    elements.insert(min(position, len(elements)), json.dumps(ACTIONTRAIL_CREATE))
    summary = env(("[" + ",".join(elements) + "]").encode())
    check_summary(summary, events=len(elements))
    assert [a.imageId for a in summary.accepted if not a.duplicate] == [IMAGE]
    assert len(env.store.list_executions()) == 1


# --- the sweep -----------------------------------------------------------------------------------------
GOOD = {"dryRun": True, "maxStarts": 5, "policy": {"riskLevels": ["High"]}, "janitor": True, "janitorTtlHours": 6}
not_bool = json_values.filter(lambda v: not isinstance(v, bool))
bad_values = {
    "dryRun": not_bool,
    "janitor": not_bool,
    "maxStarts": json_values.filter(lambda v: v is not None and not (type(v) is int and 0 <= v <= 10000)),
    "janitorTtlHours": json_values.filter(
        lambda v: v is not None and not (type(v) in (int, float) and math.isfinite(v) and 1 <= v <= 8760)),
    "policy": json_values.filter(lambda v: not isinstance(v, dict)),
}


@st.composite
def malformed_payloads(draw):
    """A timer event (bytes) whose payload is wrong by construction."""
    kind = draw(st.sampled_from(["field", "unknown key", "not an object", "deep", "huge", "bytes"]))
    payload = dict(GOOD)
    if kind == "field":
        field = draw(st.sampled_from(sorted(bad_values)))
        payload[field] = draw(bad_values[field])
    elif kind == "unknown key":
        payload[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in GOOD))] = draw(json_values)
    elif kind == "not an object":
        return timer(json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict) and v is not None))))
    elif kind == "deep":
        return timer(draw(deep_texts()))
    elif kind == "huge":
        payload[draw(st.sampled_from(sorted(bad_values)))] = draw(huge_strings)
    else:
        event = draw(st.binary(max_size=300))
        try:
            # an object is a payload of its own, and an empty event is no payload: neither is bad
            if not event.strip() or isinstance(json.loads(event), dict):
                event = b"\xff" + event
        except ValueError:
            pass
        return event
    return timer(payload)


@SETTINGS
@given(event=malformed_payloads())
def test_sweep_a_malformed_payload_is_one_line_and_nothing_happens(ports, event):
    from image_repair.control.handlers.sweep import handler
    ecs, launcher, store = ports
    with pytest.raises(HandlerError) as caught:
        handler(event)
    assert caught.value.code == "InvalidInput"
    message = str(caught.value)
    assert message and "\n" not in message and len(message) <= 400, message
    assert ecs.calls == [] and launcher.launched == [] and store.list_executions() == []
