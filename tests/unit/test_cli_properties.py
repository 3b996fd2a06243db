"""No traceback reaches a user (issue 11 point 11): hypothesis drives every ``image-repair`` command
(enumerated from the parser tree, cli.build_parser) with malformed arguments and JSON payloads,
and the start function with malformed bodies. A control-plane command answers exit status 2 and
one line on stderr; the start function ``HandlerError("InvalidInput")`` with one short line.

Known exceptions, asserted as they are: the agent's check-disk/repair-disk write a progress
warning before their error line (two lines); a delivery to ``events deliver`` is data, not an
argument: its ignored events are reported one line each (exit 2 when none is accepted). The events
and sweep functions have their own property tests (tests/unit/test_trigger_edges_property.py); the
step functions the flow calls are driven here too.
"""
import argparse
import contextlib
import io
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from image_repair.agent.items import ITEM_NAMES
from image_repair.cli import DELEGATED, build_parser, commands, main
from image_repair.control.handlers.fc import use_ports
from image_repair.control.steps import runner

TREE = build_parser()
COMMANDS = [parser for parser, _help in commands(TREE)]
CONTROL = [parser for parser in COMMANDS if parser.prog.split()[1] not in dict(DELEGATED)]
AGENT = ("check-disk", "repair-disk")
# Types that accept almost any text (a path to create, a file to read): driven by examples below.
PERMISSIVE = ("output_path", "readable_file_or_stdin", "folder")
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much,
                                           HealthCheck.too_slow])

NASTY = st.sampled_from([
    "", " ", "-1", "0", "-0.0", "nan", "inf", "-inf", "1e999", "99999999999999999999", "1.5", "0x10",
    "{", "}", "[1,2]", "{oops", "null", '"x"', "true", "{}", "[]", "\x00", "a\nb", "a\rb\x1b[31m",
    "\udcff\udcfe", "é" * 10, "/nonexistent/x", "/", "/dev/null", "/proc/self/mem", "[" * 20_000,
    "x" * 200_000, '{"a": ' * 64 + "1" + "}" * 64, '{"zoneId": "' + "z" * 100_000 + '"}',
])
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=4),
                           max_leaves=20)
MALFORMED = st.one_of(NASTY, st.text(max_size=60),
                      st.binary(max_size=40).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
                      JSON_VALUES.map(json.dumps))


def typed_actions(parser: argparse.ArgumentParser):
    """(action, how to pass a value) for every argument with a type or choices."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or (action.type is None and not action.choices):
            continue
        if getattr(action.type, "__name__", "") in PERMISSIVE:
            continue
        found.append(action)
    return found


ACTIONS = [(parser, action) for parser in CONTROL for action in typed_actions(parser)]


def refuses(action, value: str) -> bool:
    if action.type is not None:
        try:
            value = action.type(value)
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            return True
    return action.choices is not None and value not in action.choices


def argv_for(parser, action, value: str) -> list:
    prefix = parser.prog.split()[1:]
    if action.option_strings:
        return prefix + ["%s=%s" % (action.option_strings[-1], value)]
    return prefix + ["--", value]     # a positional, even when it starts with "-"


@pytest.fixture
def quiet_env(tmp_path, monkeypatch):
    """A store and a cloud folder no refused command may create; no credentials anywhere."""
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "IMAGE_REPAIR_ECS_ENDPOINT",
                 "IMAGE_REPAIR_FLOW_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    use_ports(None)
    yield tmp_path
    use_ports(None)


def run_cli(argv: list):
    """``image-repair ARGV`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as done:
            code = done.code
    return code, out.getvalue(), err.getvalue()


def assert_refused(code, err: str, lines: int = 1) -> None:
    assert code == 2, err[-2000:]
    assert "Traceback" not in err and 1 <= len(err.splitlines()) <= lines, err[-2000:]
    assert all(len(line) < 1000 for line in err.splitlines()), err[:2000]


def test_the_tree_names_every_command():
    names = {" ".join(parser.prog.split()[1:]) for parser in COMMANDS}
    assert names == {"check-disk", "repair-disk", "repair", "status", "list", "sweep", "janitor", "events deliver",
                     "pool status", "build-agent", "emulator"}
    assert len(ACTIONS) >= 20        # every typed option of the control plane is driven below


@SETTINGS
@given(data=st.data())
def test_every_typed_argument_refuses_malformed_values_in_one_line(quiet_env, data):
    parser, action = data.draw(st.sampled_from(ACTIONS), label="argument")
    value = data.draw(MALFORMED, label="value")
    assume(refuses(action, value))
    code, out, err = run_cli(argv_for(parser, action, value))
    assert_refused(code, err)
    assert out == "" and not (quiet_env / "state.db").exists()


@SETTINGS
@given(command=st.sampled_from(COMMANDS), option=st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=30))
def test_every_command_refuses_an_unknown_option(quiet_env, command, option):
    argv = command.prog.split()[1:] + ["--zz-%s" % option]
    code, _out, err = run_cli(argv)
    assert_refused(code, err)


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(["zoneId", "instanceType", "repairItems", "retry", "policy",
                                               "engine", "bogus", "x" * 300, "regionId", "dryRun"]),
                              st.one_of(JSON_VALUES, st.text(min_size=129, max_size=2000)), min_size=1, max_size=5)
       .filter(lambda p: any(v is not None and (k in ("bogus", "x" * 300) or (
           isinstance(v, str) and len(v) > 128 and k in ("zoneId", "instanceType", "regionId", "engine")))
           for k, v in p.items())))     # a null parameter means "not given"; "000...0" is a fine retry
def test_repair_refuses_bad_start_parameters_in_one_line(quiet_env, params):
    from image_repair.emulator.seed import DEFAULT_SEED
    from image_repair.control.models import InvalidRequest, parse_request
    from image_repair.cli.cloud_target import emulator_defaults
    with pytest.raises(InvalidRequest):     # the strategy's own check: a valid request would run a repair
        parse_request(dict(emulator_defaults(DEFAULT_SEED), **params, repairImageId="m-bp1emulatorbrokenimg01"))
    """Valid JSON objects with a parameter RepairRequest refuses: exit 2 before anything is recorded
    (the dead endpoint is never reached: the emulator's keys make the client, nothing calls it)."""
    code, _out, err = run_cli(["repair", "m-bp1emulatorbrokenimg01", "--endpoint", "127.0.0.1:9",
                               "--params", json.dumps(params)])
    assert_refused(code, err)
    assert "invalid repair parameters" in err


@SETTINGS
@given(policy=st.fixed_dictionaries({}, optional={"items": JSON_VALUES, "maxConcurrent": st.integers(1, 1000)})
       .flatmap(lambda rest: st.one_of(
           JSON_VALUES.filter(lambda v: v is not None and (
               not isinstance(v, list) or any(level not in ("High", "Medium") for level in v)))
           .map(lambda levels: dict(rest, riskLevels=levels)),
           st.lists(st.text(max_size=300).filter(lambda t: t not in ITEM_NAMES), min_size=1, max_size=3)
           .map(lambda items: dict(rest, items=items))))
       )
def test_sweep_and_events_refuse_a_bad_policy_in_one_line(quiet_env, policy):
    """Policies with no valid risk level or an unknown item (unknown keys are refused by the
    events' WatchPolicy only: SweepPolicy, triggers/sweep.py, ignores them)."""
    (quiet_env / "delivery.json").write_text("[]")
    for argv in (["sweep", "--dry-run", "--policy", json.dumps(policy)],
                 ["events", "deliver", str(quiet_env / "delivery.json"), "--endpoint", "127.0.0.1:9",
                  "--policy", json.dumps(policy)]):
        code, _out, err = run_cli(argv)
        assert_refused(code, err)
        assert "bad --policy" in err


@SETTINGS
@given(payload=st.one_of(st.binary(max_size=300), JSON_VALUES.map(lambda v: json.dumps(v).encode()),
                         st.sampled_from([b"\xff\xfe", b"{oops", b"[]", b"[1, 2, 3]", b'"x"', b"{}" * 50,
                                          b"[" * 100 + b"]" * 100])))
@example(payload=b"\x00" * 10_000)
def test_events_deliver_answers_a_malformed_delivery_without_a_traceback(quiet_env, payload):
    """Nothing accepted: exit 2, each ignored event on a bounded line of its own."""
    delivery = quiet_env / "delivery.bin"
    delivery.write_bytes(payload)
    code, _out, err = run_cli(["events", "deliver", str(delivery), "--endpoint", "127.0.0.1:9"])
    assert code == 2 and "Traceback" not in err, err[-2000:]
    assert all(len(line) < 1000 for line in err.splitlines())


@pytest.mark.parametrize("argv", [
    ["repair", "--image-file", "{w}/disk.img", "--output=", "--force"],
    ["repair", "--image-file", "{w}/disk.img", "--output", "{w}"],
    ["repair", "--image-file", "{w}/disk.img", "--output", "{w}/no/such/folder/x.img"],
    ["repair", "--image-file", "{w}/disk.img", "--cloud-dir", "{w}/disk.img"],
    ["events", "deliver", "{w}"],
    ["events", "deliver", "{w}/missing.json"],
    ["repair", "--image-file", "{w}/disk.img", "--output", "{w}/x" + "y" * 5000],
])
def test_path_arguments_refuse_in_one_line(quiet_env, argv):
    (quiet_env / "disk.img").write_bytes(b"\0" * 512)
    code, _out, err = run_cli([a.replace("{w}", str(quiet_env)) for a in argv])
    assert_refused(code, err)


@SETTINGS
@given(value=MALFORMED)
def test_the_agent_commands_refuse_malformed_params_without_a_traceback(quiet_env, value):
    """check-disk / repair-disk are the agent's: exit 2, no traceback (a warning line, then the error).
    Not generated: --params nested deeper than the recursion limit, which still raises
    RecursionError in agent/cli.merge_params (reported to the lead: the agent is not this file's)."""
    assume(value.count("[") + value.count("{") < 500)
    for command in AGENT:
        code, _out, err = run_cli([command, "--params", value, "/nonexistent.img"])
        assert code == 2 and "Traceback" not in err, err[-2000:]
        assert len(err.splitlines()) <= 2


# ---- the start function ----------------------------------------------------------------------
BODIES = st.one_of(
    st.binary(max_size=500),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.integers(1, 200).map(lambda n: b"[" * n * 100),                      # deep nesting
    st.integers(1, 40).map(lambda n: b'{"payload": "' + b"[" * n * 100 + b'"}'),
    st.integers(65, 300).map(lambda k: b'{"zoneId": "' + b"z" * k * 1024 + b'"}'),   # huge
    JSON_VALUES.map(lambda v: json.dumps({"payload": json.dumps(v)}).encode()),
)


@SETTINGS
@given(body=BODIES)
@example(body=b"\xff")
@example(body=b'{"zoneId": "' + b"a" * 100_000 + b'"}')
def test_the_start_function_answers_invalid_input_in_one_short_line(quiet_env, body):
    from image_repair.control.handlers.start import handler
    with pytest.raises(runner.HandlerError) as info:
        handler(body, None)
    assert info.value.code == "InvalidInput"
    message = str(info.value)
    assert "\n" not in message and len(message) < 2000
    assert not (quiet_env / "state.db").exists()


# ---- the step functions the flow invokes -----------------------------------------------------------
@SETTINGS
@given(body=BODIES, step=st.sampled_from(sorted(__import__("image_repair.control.steps", fromlist=["STEP_MODULES"]).STEP_MODULES)))
def test_every_step_function_answers_a_malformed_body_with_invalid_input(quiet_env, body, step):
    """A body that is not a flow event never reaches the step: InvalidInput, one short line, no store."""
    try:
        event = json.loads(body)
        assume(not (isinstance(event, dict) and isinstance(event.get("executionId"), str)
                    and 0 < len(event["executionId"]) <= 128))
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    handler = __import__("image_repair.control.handlers." + step, fromlist=["handler"]).handler
    with pytest.raises(runner.HandlerError) as info:
        handler(body, None)
    assert info.value.code == "InvalidInput"
    assert "\n" not in str(info.value) and len(str(info.value)) < 2000
    assert not (quiet_env / "state.db").exists()


# ---- a few through the real entry point: a process, its argv as bytes ---------------------------
@pytest.mark.parametrize("argv", [
    [b"repair", b"--params", b"{oops"],
    [b"repair", b"--params", b"[1,2]"],
    [b"repair", b"--image-file", b"/nonexistent.img", b"--time-scale", b"-1"],
    [b"repair", b"--zone=\xff\xfe"],                         # not UTF-8: Python decodes it surrogateescape
    [b"status", b"x" * 100_000],
    [b"sweep", b"--defaults", b"{bad"],
    [b"events", b"deliver", b"-", b"--defaults", b"{bad"],
    [b"janitor", b"--ttl", b"nan"],
    [b"emulator", b"serve", b"--port", b"-5"],
])
def test_the_command_itself_answers_in_one_line(quiet_env, argv):
    env = dict(os.environ)
    done = subprocess.run([sys.executable.encode(), b"-m", b"image_repair"] + argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, timeout=120)
    err = done.stderr.decode("utf-8", "replace")
    assert_refused(done.returncode, err)
