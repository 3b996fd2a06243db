"""Issue 12: the records a Function Compute step reads on its first invocation are dataclasses
checked by control/records.py, not pydantic models. Bad and oversized input still gets one clear
line naming the field (issue 11), in pydantic's wording, and records survive the store's JSON."""
import json

import pytest

from image_repair.control.models import FlowEvent, FlowState, Invalid, WatchPolicy, describe_validation_error
from image_repair.control.records import MAX_JSON_TEXT
from image_repair.control.steps.runner import HandlerError, run_step
from image_repair.control.store import Execution, ExecutionStatus, Lock, StepRecord, StepResult, StepStatus


def problem_line(error: Invalid) -> str:
    return describe_validation_error(error, "bad")


@pytest.mark.parametrize("raw, expected", [
    ({}, "executionId: missing (required)"),
    ({"executionId": ""}, "executionId: String should have at least 1 character"),
    ({"executionId": "e" * 129}, "(129 characters) is too long (at most 128 characters)"),
    ({"executionId": 7}, "executionId: Input should be a valid string"),
    ({"executionId": "e1", "attempt": -1}, "attempt: Input should be greater than or equal to 0"),
    ({"executionId": "e1", "retries": 10_001}, "retries: Input should be less than or equal to 10000"),
    ({"executionId": "e1", "attempt": "many"}, "attempt: Input should be a valid integer"),
    ({"executionId": "e1", "attempt": True}, "attempt: Input should be a valid integer"),
    ({"executionId": "e1", "errorDetail": "x" * 65_537}, "(65537 characters) is too long (at most 65536"),
    ({"executionId": "e1", "caught": "perhaps"}, "caught: Input should be a valid boolean"),
    ([1, 2], "parameters: Input should be a valid dictionary"),
])
def test_a_bad_flow_event_is_one_short_line_naming_the_field(raw, expected):
    with pytest.raises(Invalid) as caught:
        FlowEvent.model_validate(raw)
    line = problem_line(caught.value)
    assert expected in line, line
    assert "\n" not in line and len(line) < 400


def test_a_flow_event_ignores_unknown_names_and_takes_lax_numbers():
    event = FlowEvent.model_validate({"executionId": "e1", "attempt": "3", "retries": 2.0, "ready": False,
                                      "whatever": {"nested": 1}, "errorCode": None})
    assert (event.attempt, event.retries, event.errorCode, event.caught) == (3, 2, None, False)


def test_every_problem_is_named_at_once():
    with pytest.raises(Invalid) as caught:
        FlowEvent.model_validate({"executionId": "", "attempt": -1, "retries": "x"})
    assert [p["loc"] for p in caught.value.errors()] == [("executionId",), ("attempt",), ("retries",)]


def test_a_bad_event_is_invalid_input_before_any_port_is_built():
    built = []
    with pytest.raises(HandlerError) as caught:
        run_step("finish", b'{"executionId": "", "attempt": -3}', lambda: built.append(1))
    assert caught.value.code == "InvalidInput" and built == []
    assert str(caught.value).startswith("InvalidInput: bad event for finish: executionId: String should have at least")
    assert "attempt: Input should be greater than or equal to 0" in str(caught.value)


def test_the_flow_state_refuses_a_bad_execution_id_and_dumps_plain_json():
    with pytest.raises(ValueError, match="executionId"):
        FlowState(executionId="")
    state = FlowState(executionId="e1", itemsAtRiskBefore=["grub"]).model_copy(update={"step": "finish"})
    assert state.step == "finish" and json.loads(state.model_dump_json())["itemsAtRiskBefore"] == ["grub"]


def execution() -> Execution:
    return Execution(execution_id="repair-m-1", source_image_id="m-1", params={"regionId": "cn-hangzhou"},
                     created_at_ms=1, updated_at_ms=2,
                     steps={"check_source_image": StepResult(result={"itemsAtRisk": ["grub"]}, finished_at_ms=3)})


def test_an_execution_survives_the_stores_json_and_a_deep_copy_is_independent():
    original = execution()
    again = Execution.model_validate_json(original.model_dump_json())
    assert again == original and again.status is ExecutionStatus.RUNNING
    assert isinstance(again.steps["check_source_image"], StepResult)
    copied = original.model_copy(deep=True)
    copied.steps["check_source_image"].result["itemsAtRisk"].append("fstab")
    assert original.steps["check_source_image"].result["itemsAtRisk"] == ["grub"]
    assert "version" not in json.loads(original.model_dump_json(exclude={"version"}))


@pytest.mark.parametrize("change, expected", [
    ({"status": "LOST"}, "status: Input should be 'RUNNING', 'SUCCEEDED' or 'FAILED'"),
    ({"created_at_ms": -5}, "created_at_ms: Input should be greater than or equal to 0"),
    ({"created_at_ms": 2 ** 70}, "created_at_ms: Input should be less than or equal to"),
    ({"execution_id": "e" * 5000}, "(5000 characters) is too long (at most 1024"),
    ({"params": [1]}, "params: Input should be a valid dictionary"),
    ({"steps": {"x": {"result": {}}}}, "steps.x.finished_at_ms: missing (required)"),
    ({"source_image_id": None}, "source_image_id: Input should be a valid string"),
])
def test_a_tampered_stored_execution_is_a_clear_error(change, expected):
    raw = dict(json.loads(execution().model_dump_json()), **change)
    with pytest.raises(Invalid) as caught:
        Execution.model_validate(raw)
    assert expected in problem_line(caught.value)


def test_stored_json_is_bounded_and_must_parse():
    with pytest.raises(Invalid, match="Execution"):
        Execution.model_validate_json("{not json")
    with pytest.raises(Invalid) as caught:
        Execution.model_validate_json(" " * (MAX_JSON_TEXT + 1))
    assert "over %d characters" % MAX_JSON_TEXT in caught.value.errors()[0]["msg"]


def test_step_records_and_locks_round_trip_with_their_enums():
    record = StepRecord(execution_id="e1", step="finish", status=StepStatus.INPROGRESS, expires_at_ms=5, owner="o")
    again = StepRecord.model_validate_json(record.model_dump_json())
    assert again == record and again.status is StepStatus.INPROGRESS and again.is_expired(5)
    lock = Lock(resource="m-1", owner="o", acquired_at_ms=1, expires_at_ms=9)
    assert Lock.model_validate_json(lock.model_dump_json()) == lock
    with pytest.raises(Invalid):
        StepRecord.model_validate(dict(record.model_dump(), status="DONE"))


@pytest.mark.parametrize("raw, expected", [
    ({"items": ["grub", "warp"]}, "items: unknown repair items"),
    ({"riskLevels": []}, "riskLevels: List should have at least 1 item"),
    ({"riskLevels": ["Low"]}, "riskLevels.0: Input should be 'High' or 'Medium'"),
    ({"items": ["grub"] * 65}, "items: List should have at most 64 items"),
    ({"items": ["q" * 500_000]}, "(500000 characters) is too long (at most 128"),
    ({"colour": "red"}, "colour: unknown parameter"),
])
def test_a_bad_watch_policy_is_named(raw, expected):
    with pytest.raises(Invalid) as caught:
        WatchPolicy.model_validate(raw)
    line = problem_line(caught.value)
    assert expected in line and len(line) < 600, line


def test_the_default_watch_policy_is_high_risk_over_every_item():
    assert WatchPolicy.model_validate({}) == WatchPolicy() == WatchPolicy(items=None, riskLevels=["High"])
