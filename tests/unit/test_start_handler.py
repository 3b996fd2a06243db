"""The start function refuses every malformed body with InvalidInput, one short line, before the
store or CloudFlow is touched (issue 11 points 11 and 12; docs/workflow.md "Start parameters")."""
import json

import pytest

from image_repair.control.handlers.fc import use_ports
from image_repair.control.steps import runner
from image_repair.control.handlers.start import handler

MAX_START_BODY = 64 * 1024      # handlers/start.py (kept here so the test runs against older code too)

GOOD = {"zoneId": "cn-hangzhou-h", "repairImageId": "m-bp1emulatorbrokenimg01", "instanceType": "ecs.g7.large",
        "securityGroupId": "sg-bp1emulator0000000000", "vSwitchId": "vsw-bp1emulator00000000h"}


@pytest.fixture
def start_env(tmp_path, monkeypatch):
    """A store path that must stay untouched, and no CloudFlow configuration at all: a refused
    body must not get as far as building either."""
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    monkeypatch.delenv("IMAGE_REPAIR_FLOW_NAME", raising=False)
    use_ports(None)
    yield tmp_path
    use_ports(None)
    assert not (tmp_path / "state.db").exists()


BODIES = [
    (b"\xff\xfe\x00{", "not UTF-8"),                                    # issue 11 point 11: non-UTF-8
    (b"{oops", "not JSON"),                                             # non-JSON
    ("{oops", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'"text"', "JSON object"),
    (b"[" * 5000, "nested deeper"),                                     # RecursionError before
    (json.dumps({"payload": "{oops"}).encode(), "timer's payload is not JSON"),
    (json.dumps({"payload": "[" * 5000}).encode(), "nested deeper"),
    (b" " * (MAX_START_BODY + 1), "more than"),                         # the whole body bounded
    (json.dumps(dict(GOOD, zoneId="cn-" + "a" * 100_000)).encode(), "more than"),
    (json.dumps(dict(GOOD, zoneId="cn-" + "a" * 1000)).encode(), "zoneId"),          # point 12
    (json.dumps(dict(GOOD, instanceType="ecs." + "g" * 10_000 + ".x")).encode(), "instanceType"),
    (json.dumps(dict(GOOD, repairImageId="m-" + "x" * 30_000)).encode(), "repairImageId"),
    (json.dumps({"x" * 50_000: 1}).encode(), "unknown parameter"),
]


@pytest.mark.parametrize("body, message", BODIES, ids=range(len(BODIES)))
def test_a_malformed_body_is_invalid_input_in_one_short_line(start_env, body, message):
    """Issue 11 points 11-12: the docs promise InvalidInput; no UnicodeDecodeError, RecursionError
    or a message echoing the whole body."""
    with pytest.raises(runner.HandlerError) as info:
        handler(body, None)
    assert info.value.code == "InvalidInput"
    text = str(info.value)
    assert message in text and "\n" not in text and len(text) < 1000


def test_a_valid_body_gets_past_validation(start_env):
    """The bounds do not refuse a good request: it reaches the CloudFlow configuration (absent here)."""
    with pytest.raises(Exception) as info:
        handler(json.dumps(GOOD).encode(), None)
    assert getattr(info.value, "code", None) != "InvalidInput"
    (start_env / "state.db").unlink(missing_ok=True)
