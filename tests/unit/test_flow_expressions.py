"""Expressions of the local CloudFlow runner: paths, constructors and conditions (no eval)."""
import pytest

from image_repair.control.flow.errors import ExpressionError
from image_repair.control.flow.expressions import (MISSING, build, compile_constructor, evaluate_condition, parse_condition,
                                           parse_path)

SCOPE = {
    "$Input": {"status": "Running", "attempt": 3, "ready": True, "idle": False, "size": 2.5, "none": None,
               "disks": [{"type": "system"}, {"type": "data", "id": "d-2"}], "dash-key": "x"},
    "$Context": {"Execution": {"Name": "exec-1", "Input": {"executionId": "e-1"}},
                 "Current": {"Name": "S", "RetryCount": 2, "Error": {"Code": "FC.Throttling", "Detail": "slow down"}}},
}


def holds(text):
    return evaluate_condition(parse_condition(text), SCOPE)


@pytest.mark.parametrize("text, expected", [
    ('$Input.status == "Running"', True),
    ("$Input.status == 'Running'", True),
    ('$Input.status != "Running"', False),
    ("$Input.attempt < 5", True), ("$Input.attempt <= 3", True), ("$Input.attempt > 3", False),
    ("$Input.attempt >= 3", True), ("$Input.size > 2", True), ("$Input.attempt == 3.0", True),
    ("$Input.ready", True), ("!$Input.ready", False), ("!$Input.idle", True), ("!!$Input.ready", True),
    ("$Input.ready == true", True), ("$Input.idle == false", True),
    ("$Input.ready && $Input.attempt < 5", True), ("$Input.idle || $Input.attempt > 5", False),
    ("$Input.idle || $Input.attempt > 5 || $Input.status == \"Running\"", True),
    ("$Input.ready && ($Input.idle || $Input.attempt == 3)", True),
    ("!($Input.attempt == 3) && $Input.ready", False),
    ('$Input.disks[1].type == "data"', True), ('$Input.disks[5].type == "data"', False),
    ("$Input.missing == null", True), ("$Input.none == null", True), ("$Input.missing", False),
    ("$Input.missing < 3", False), ('$Input.status < 3', False),      # mixed types never order
    ("$Input.attempt == true", False), ("$Input.ready == 1", False),  # booleans are not numbers
    ('$Context.Current.Error.Code == "FC.Throttling"', True), ("$Context.Current.RetryCount >= 2", True),
    ('$Context.Execution.Input.executionId == "e-1"', True), ('$Input.dash-key == "x"', True),
    ('"b" > "a"', True), ("-1 < 0", True), ("1e2 == 100", True), ('"a\\"b" == \'a"b\'', True),
])
def test_conditions(text, expected):
    assert holds(text) is expected


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("$Input.a ==", "unexpected end"),
    ("$Input.a = 1", "unexpected"),
    ("($Input.a == 1", "expected '\\)'"),
    ("$Input.a == 1 2", "unexpected '2'"),
    ("__import__('os').system('true')", "unexpected"),
    ("$Inputs.a == 1", "unexpected"),
    ("$Context.Foo.Bar == 1", "\\$Context has Execution and Current"),
    ("$Context.Current.Secret == 1", "\\$Context.Current has"),
    ("$Input.a + 1 > 2", "unexpected"),
])
def test_invalid_conditions_are_rejected_when_parsed(text, message):
    with pytest.raises(ExpressionError, match=message):
        parse_condition(text)


def test_logical_operators_need_booleans():
    with pytest.raises(ExpressionError, match="not a boolean"):
        holds("$Input.attempt && $Input.ready")
    with pytest.raises(ExpressionError, match="not a boolean"):
        holds("$Input.status")


def test_short_circuit_skips_the_right_side():
    assert holds("$Input.idle && $Input.attempt") is False   # the number is never looked at
    assert holds("$Input.ready || $Input.attempt") is True


def test_paths():
    assert parse_path("$Input.disks[1].id").resolve(SCOPE) == "d-2"
    assert parse_path("$Input").resolve(SCOPE) is SCOPE["$Input"]
    assert parse_path("$Input.disks[9]").resolve(SCOPE) is MISSING
    assert parse_path("$Input.status.deeper").resolve(SCOPE) is MISSING
    with pytest.raises(ExpressionError, match="not available"):
        parse_path("$Output.Body").resolve(SCOPE)
    for bad in ("Input.a", "$Input.", "$Input..a", "$Input[x]", "$Input.a b"):
        with pytest.raises(ExpressionError, match="not a path"):
            parse_path(bad)


def test_constructors_build_objects_from_expressions():
    template = {"executionId.$": "$Context.Execution.Input.executionId", "static": {"n": 1, "list": [1, "a"]},
                "nested": {"diskId.$": "$Input.disks[1].id", "retries.$": "$Context.Current.RetryCount"},
                "literal$": "$Input.status"}
    compiled = compile_constructor(template, "InputConstructor", ("$Input", "$Context"))
    assert build(compiled, SCOPE) == {"executionId": "e-1", "static": {"n": 1, "list": [1, "a"]},
                                      "nested": {"diskId": "d-2", "retries": 2}, "literal$": "$Input.status"}


def test_constructor_errors():
    with pytest.raises(ExpressionError, match=r"OutputConstructor.x.\$: \$Output is not available here"):
        compile_constructor({"x.$": "$Output.Body"}, "OutputConstructor", ("$Input", "$Context"))
    with pytest.raises(ExpressionError, match="must be an expression string"):
        compile_constructor({"x.$": 3}, "C", ("$Input",))
    with pytest.raises(ExpressionError, match="not a path"):
        compile_constructor({"a": [{"x.$": "1 + 2"}]}, "C", ("$Input",))
    compiled = compile_constructor({"x.$": "$Input.nope"}, "C", ("$Input",))
    with pytest.raises(ExpressionError, match=r"x.\$: \$Input.nope does not exist"):
        build(compiled, SCOPE)
