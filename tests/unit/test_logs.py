"""JSON logs: one object per line with the execution id and step, and never a credential."""
import io
import json
import logging

import pytest

from image_repair.control import logs
from image_repair.control.settings import Settings, SettingsError
from image_repair.control.steps.runner import HandlerError, run_step

SECRET = "s3cr3tVALUEthatMustNeverAppear"
KEY_ID = "LTAI5tAbCdEfGhIjKlMnOpQr"


@pytest.fixture
def captured():
    stream = io.StringIO()
    logs.configure_logging("DEBUG", stream=stream)
    yield stream
    logs.reset_logging()


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_event_fields_and_extras(captured):
    log = logging.getLogger("image_repair.control.triggers.sweep")
    log.info("sweep.image_selected", extra={"execution_id": "repair-m-1", "step": "sweep", "image_id": "m-1",
                                            "items": ["virtio"]})
    log.warning("sweep.page %d of %d", 2, 7)
    first, second = lines(captured)
    assert first["event"] == "sweep.image_selected" and first["level"] == "INFO"
    assert first["logger"] == "image_repair.control.triggers.sweep"
    assert first["execution_id"] == "repair-m-1" and first["step"] == "sweep"
    assert first["image_id"] == "m-1" and first["items"] == ["virtio"]
    assert first["time"].endswith("Z") and "T" in first["time"]
    assert second["event"] == "sweep.page %d of %d" and second["message"] == "sweep.page 2 of 7"
    assert second["execution_id"] is None


def test_exceptions_are_one_string_field(captured):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("image_repair.x").exception("x.crashed")
    (entry,) = lines(captured)
    assert "RuntimeError: boom" in entry["exception"] and "Traceback" in entry["exception"]
    assert len(captured.getvalue().splitlines()) == 1


def test_no_credential_appears_in_extra_message_nested_fields_or_tracebacks(captured, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
    log = logging.getLogger("image_repair.control.clients")
    log.info("call", extra={"access_key_secret": SECRET, "AccessKeyId": KEY_ID, "Authorization": "ACS3 " + SECRET,
                            "request": {"Signature": "abc123", "SecurityToken": "CAIS" + SECRET,
                                        "params": [{"password": "hunter22"}]},
                            "detail": "key %s used" % KEY_ID})
    log.info("message with the secret %s inside", SECRET)
    log.info("raw key " + KEY_ID + " and secret " + SECRET)
    try:
        raise ValueError("bad signature for " + SECRET)
    except ValueError:
        log.exception("failed")
    text = captured.getvalue()
    for needle in (SECRET, KEY_ID, "abc123", "hunter22"):
        assert needle not in text
    first = lines(captured)[0]
    assert first["access_key_secret"] == logs.REDACTED and first["request"]["Signature"] == logs.REDACTED
    assert first["request"]["params"][0]["password"] == logs.REDACTED
    assert first["detail"] == "key LTAI*** used"           # the rest of a value stays readable


def test_level_from_settings_and_bad_level_is_an_error():
    stream = io.StringIO()
    level = Settings.from_env({"IMAGE_REPAIR_LOG_LEVEL": "warning"}).log_level
    try:
        logs.configure_logging(level, stream=stream)
        logging.getLogger("image_repair.a").info("hidden")
        logging.getLogger("image_repair.a").warning("shown")
        assert [e["event"] for e in lines(stream)] == ["shown"]
        logs.configure_logging(level, stream=stream)        # idempotent: still one handler
        assert len(logging.getLogger("image_repair").handlers) == 1
        with pytest.raises(SettingsError, match="IMAGE_REPAIR_LOG_LEVEL"):
            Settings.from_env({"IMAGE_REPAIR_LOG_LEVEL": "LOUD"})
        with pytest.raises(ValueError, match="LOUD"):
            logs.configure_logging("LOUD", stream=stream)
    finally:
        logs.reset_logging()


def test_configure_for_function_only_inside_function_compute():
    logs.configure_for_function(Settings.from_env({}))
    assert logging.getLogger("image_repair").handlers == []
    inside = Settings.from_env({"FC_FUNCTION_NAME": "image-repair-finish"})
    try:
        logs.configure_for_function(inside)
        logs.configure_for_function(inside)
        (handler,) = logging.getLogger("image_repair").handlers
        assert isinstance(handler.formatter, logs.JsonFormatter) and handler.stream is __import__("sys").stderr
    finally:
        logs.reset_logging()


def test_step_runner_logs_started_and_failed_with_execution_and_duration(captured):
    class NoPorts:                                         # the step fails before any cloud call
        store = ecs = options = progress = None
    with pytest.raises(Exception):
        run_step("finish", {"executionId": "repair-m-abc"}, ports=NoPorts())
    started, failed, not_recorded = lines(captured)
    assert started["event"] == "step.started" and failed["event"] == "step.failed"
    # the cause could not go to the store (there is none here): said, and the step's error still raised
    assert not_recorded["event"] == "step.cause_not_recorded"
    assert started["execution_id"] == failed["execution_id"] == "repair-m-abc"
    assert started["step"] == failed["step"] == "finish"
    assert isinstance(failed["duration_ms"], int) and failed["error_code"]
    with pytest.raises(HandlerError):
        run_step("finish", b"[1, 2]", ports=NoPorts())
    assert lines(captured)[-1]["error_code"] == "InvalidInput"


def test_step_runner_logs_finished_with_the_flow_state(captured, monkeypatch):
    import sys
    import types

    from image_repair.control.models import FlowState
    step = types.ModuleType("image_repair.control.steps.logged_step")
    step.run = lambda ports, event: FlowState(executionId=event.executionId, ready=False, waitingFor="image check")
    monkeypatch.setitem(sys.modules, "image_repair.control.steps.logged_step", step)
    state = run_step("logged_step", json.dumps({"executionId": "repair-m-def"}).encode(), ports=object(),
                     request_id="req-1")
    assert state["ready"] is False
    started, finished = lines(captured)
    assert finished["event"] == "step.finished" and finished["execution_id"] == "repair-m-def"
    assert finished["step"] == "logged_step" and finished["request_id"] == "req-1"
    assert finished["waiting_for"] == "image check" and finished["duration_ms"] >= 0
