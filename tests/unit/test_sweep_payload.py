"""The sweep's timer payload typed and bounded at the edge (issue 11 point 8): checked before any
work, strict booleans and numbers, one InvalidInput line, nothing listed, started or deleted."""
import json

import pytest

from image_repair.control.handlers.fc import use_ports
from image_repair.control.steps.runner import HandlerError
from image_repair.control.handlers.sweep import handler, payload_of, sweep_payload
from image_repair.control.steps.common import Ports
from image_repair.control.triggers.janitor import janitor


class RecordingEcs:
    """An ECS port that records every call and answers an empty account."""

    def __init__(self):
        self.calls = []
        self.region = "cn-hangzhou"

    def _call(self, action, request):           # the listing's raw calls (triggers/inventory.py)
        self.calls.append(action)
        return {"TotalCount": 0}

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append(name)
            return [] if name.startswith(("describe", "list")) else None
        return call


class RecordingLauncher:
    idempotent = False

    def __init__(self):
        self.launched = []

    def launch(self, execution_id):
        self.launched.append(execution_id)
        return True


@pytest.fixture
def ports(store, monkeypatch):
    ecs, launcher = RecordingEcs(), RecordingLauncher()
    use_ports(Ports(store=store, ecs=ecs))
    monkeypatch.setattr("image_repair.control.handlers.sweep.fanout_launcher", lambda settings, store: launcher)
    monkeypatch.delenv("IMAGE_REPAIR_JANITOR_TTL_HOURS", raising=False)
    monkeypatch.setenv("IMAGE_REPAIR_SWEEP_DEFAULTS", "{}")
    yield ecs, launcher, store
    use_ports(None)


def timer(payload) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return json.dumps({"triggerTime": "2026-11-25T21:00:00Z", "triggerName": "sweep", "payload": text}).encode()


def refused(event, code="InvalidInput") -> str:
    with pytest.raises(HandlerError) as caught:
        handler(event)
    assert caught.value.code == code
    message = str(caught.value)
    assert "\n" not in message and len(message) <= 400, message
    return message


@pytest.mark.parametrize("payload, says", [
    # pins issue 11 point 8: each of these ran (part of) the sweep or the janitor before
    ({"janitorTtlHours": "abc"}, "janitorTtlHours: Input should be a valid number (got 'abc')"),
    ({"janitor": "false"}, "janitor: Input should be a valid boolean (got 'false')"),
    ({"dryRun": "false"}, "dryRun: Input should be a valid boolean (got 'false')"),
    ({"janitorTtlHours": -1}, "janitorTtlHours: Input should be greater than or equal to 1 (got -1)"),
    ({"maxStarts": "1"}, "maxStarts: Input should be a valid integer (got '1')"),
    # and their neighbours
    ({"janitorTtlHours": 0.01}, "greater than or equal to 1"),
    ({"janitorTtlHours": 1e9}, "less than or equal to 8760"),
    ({"janitorTtlHours": True}, "janitorTtlHours: Input should be a valid number (got True)"),
    ({"maxStarts": -1}, "greater than or equal to 0"),
    ({"maxStarts": 1.5}, "maxStarts: Input should be a valid integer"),
    ({"dryRun": 1}, "dryRun: Input should be a valid boolean (got 1)"),
    ({"policy": {"maxConcurrent": "10"}}, "policy.maxConcurrent: Input should be a valid integer"),
    ({"policy": {"riskLevels": []}}, "policy.riskLevels"),
    ({"policy": {"riskLevel": ["Medium"]}}, "policy.riskLevel: unknown key"),
    ({"policy": None}, "policy: Input should be"),
    ({"dryrun": True}, "dryrun: unknown key"),
    ({"janitorTtlHours": "x" * 100_000}, "(got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'... (100000 chars))"),
    ("[1, 2]", "must be a JSON object"),
    ("{oops", "malformed JSON"),
    ("[" * 1000 + "]" * 1000, "nested deeper than 8 levels"),
], ids=lambda v: json.dumps(v)[:40] if not isinstance(v, str) else v[:40])
def test_a_bad_payload_is_one_clear_error_before_any_work(ports, payload, says):
    """Pins issue 11 point 8: `janitorTtlHours: "abc"` started repairs then raised, `"janitor":
    "false"` ran the janitor, `"dryRun": "false"` was a dry run, a TTL of -1 was accepted,
    `maxStarts: "1"` raised TypeError. Now each is one InvalidInput line and nothing happens."""
    ecs, launcher, store = ports
    message = refused(timer(payload))
    assert says in message, message
    assert ecs.calls == [] and launcher.launched == [] and store.list_executions() == []


@pytest.mark.parametrize("event", [b"\xff\xfe", b"{" * 300_000, b"[" * 1000 + b"]" * 1000, b"42", b'"text"'])
def test_a_bad_event_is_refused_before_any_work(ports, event):
    ecs, launcher, _ = ports
    refused(event)
    assert ecs.calls == [] and launcher.launched == []


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1e9", "nan"])
def test_a_bad_janitor_ttl_setting_is_a_configuration_error_before_any_work(ports, monkeypatch, value):
    """Pins issue 11 point 8 (the TTL from the environment was read only after the sweep)."""
    ecs, launcher, _ = ports
    monkeypatch.setenv("IMAGE_REPAIR_JANITOR_TTL_HOURS", value)
    message = refused(timer({}), "InvalidConfiguration")
    assert message.startswith("InvalidConfiguration: IMAGE_REPAIR_JANITOR_TTL_HOURS: ") and "'%s'" % value in message
    assert ecs.calls == [] and launcher.launched == []


def test_good_payloads_are_typed_with_their_defaults(ports):
    ecs, launcher, _ = ports
    assert payload_of(timer("")) == {"dryRun": False, "maxStarts": None, "janitor": True, "janitorTtlHours": None,
                                     "policy": {"items": None, "riskLevels": ["High"], "maxConcurrent": 10}}
    typed = sweep_payload(timer({"dryRun": True, "maxStarts": 0, "janitor": False, "janitorTtlHours": 2,
                                 "policy": {"items": ["virtio"], "riskLevels": ["High", "Medium"]}}))
    assert typed.dryRun is True and typed.janitor is False and typed.janitorTtlHours == 2.0
    assert sweep_payload({"dryRun": True}).dryRun is True        # invoked by hand: the payload itself
    result = handler(timer({"dryRun": True, "janitor": False}))
    assert "janitor" not in result and result["sweep"]["dryRun"] is True
    assert ecs.calls == ["DescribeImages"] and launcher.launched == []     # one listing, no janitor


def test_the_janitor_refuses_a_ttl_out_of_bounds_before_any_call():
    ecs = RecordingEcs()
    for ttl_s in (-3600, 0, 60, 10 ** 12, float("nan"), True, "6"):
        with pytest.raises(ValueError, match="TTL must be 1 to 8760 hours"):
            janitor(ecs, None, ttl_s=ttl_s)
    assert ecs.calls == []
