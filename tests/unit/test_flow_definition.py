"""Load-time validation of CloudFlow spec v1 definitions: every rejection names the problem."""
import textwrap

import pytest

from image_repair.control.flow import DefinitionError, function_name_of, load_definition_file, parse_definition
from image_repair.control.flow.states import ChoiceState, TaskState, WaitState

ARN = "acs:fc:cn-hangzhou:123456789:functions/%s/LATEST"
FUNCTIONS = {"launch", "cleanup"}


def task(name, function="launch", **extra):
    state = {"Name": name, "Type": "Task", "Action": "FC:InvokeFunction", "TaskMode": "RequestComplete",
             "Parameters": {"resourceArn": ARN % function, "invocationType": "Sync",
                            "body": {"executionId.$": "$Context.Execution.Input.executionId"}}}
    state.update(extra)
    return state


def flow(*states, start="First"):
    return {"Type": "StateMachine", "Name": "t", "SpecVersion": "v1", "StartAt": start, "States": list(states)}


def problems(document, functions=FUNCTIONS):
    with pytest.raises(DefinitionError) as raised:
        parse_definition(document, functions)
    return raised.value.problems


def test_a_valid_definition_parses_into_typed_states(tmp_path):
    text = textwrap.dedent("""\
        Type: StateMachine
        Name: demo
        SpecVersion: v1
        StartAt: Launch
        States:
          - Name: Launch
            Type: Task
            Action: FC:InvokeFunction
            TaskMode: RequestComplete
            Parameters:
              resourceArn: acs:fc:cn-hangzhou:123456789:functions/launch/LATEST
              invocationType: Sync
              body:
                executionId.$: $Context.Execution.Input.executionId
            Timeout: "30"
            Retry:
              - Errors: [FC.Throttling]
                Description: a rule
                MaxAttempts: 4
                IntervalSeconds: 2
                BackoffRate: 2
                MaxBackoffSeconds: 10
            Catch:
              - Errors: [FnF.ALL]
                Description: a rule
                Next: Cleanup
            OutputConstructor:
              instanceId.$: $Output.Body.instanceId
            Next: Ready?
          - Name: Ready?
            Type: Choice
            Branches:
              - Condition: $Input.instanceId != null
                Next: Pause
            Default: Cleanup
          - Name: Pause
            Type: Wait
            Seconds: 300
            End: true
          - Name: Cleanup
            Type: Task
            Action: FC:InvokeFunction
            Parameters:
              resourceArn: acs:fc:cn-hangzhou:123456789:services/repair/functions/cleanup
            Next: Failed
          - Name: Failed
            Type: Fail
            Code: RepairFailed
            Detail: see the report
        """)
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    definition = load_definition_file(path, FUNCTIONS)
    assert definition.name == "demo" and definition.start_at == "Launch"
    assert list(definition.states) == ["Launch", "Ready?", "Pause", "Cleanup", "Failed"]
    launch = definition.states["Launch"]
    assert isinstance(launch, TaskState) and launch.function == "launch" and launch.timeout_s == 30
    assert launch.retry[0].delay(0) == 2 and launch.retry[0].delay(2) == 8 and launch.retry[0].delay(3) == 10
    assert launch.catch[0].next == "Cleanup" and launch.catch[0].matches("FC.Anything")
    assert isinstance(definition.states["Ready?"], ChoiceState) and definition.states["Ready?"].default == "Cleanup"
    assert isinstance(definition.states["Pause"], WaitState) and definition.states["Pause"].end
    assert definition.functions == {"launch", "cleanup"}


@pytest.mark.parametrize("arn, name", [
    ("acs:fc:cn-hangzhou:123:functions/check-source/LATEST", "check-source"),
    ("acs:fc:cn-hangzhou:123:functions/check-source", "check-source"),
    ("acs:fc:cn-hangzhou:123:services/svc/functions/f/prod", "f"),
    ("acs:ecs:cn-hangzhou:123:instance/i-1", None), ("functions/f", None), (None, None),
])
def test_function_names_from_resource_arns(arn, name):
    assert function_name_of(arn) == name


@pytest.mark.parametrize("document, message", [
    (flow(task("First", Next="Nowhere")), "state 'First': Next names 'Nowhere', which is not a state"),
    (flow({"Name": "First", "Type": "Choice", "Branches": [{"Condition": "$Input.a == 1", "Next": "First"}]}),
     "state 'First': a Choice needs a Default"),
    (flow({"Name": "First", "Type": "Choice", "Branches": [{"Condition": "$Input.a == 1", "Next": "First"}],
           "Default": "Gone"}), "state 'First': Default names 'Gone', which is not a state"),
    (flow({"Name": "First", "Type": "Choice", "Branches": [{"Condition": "$Input.a == 1", "Next": "Gone"}],
           "Default": "First"}), "state 'First': Branches[0].Next names 'Gone', which is not a state"),
    (flow({"Name": "First", "Type": "Choice", "Branches": [], "Default": "First"}), "non-empty Branches"),
    (flow({"Name": "First", "Type": "Choice", "Branches": [{"Condition": "$Input.a = 1", "Next": "First"}],
           "Default": "First"}), "Branches[0]: condition '$Input.a = 1': unexpected"),
    (flow({"Name": "First", "Type": "Wait", "Seconds": 301, "End": True}),
     "state 'First': Seconds is 301; a Wait lasts 1 to 300 s in Standard mode (use a Choice/Wait loop)"),
    (flow({"Name": "First", "Type": "Wait", "Seconds": 0.5, "End": True}), "Seconds is 0.5; a Wait lasts 1 to 300 s"),
    (flow({"Name": "First", "Type": "Wait", "Seconds": "10", "End": True}), "Seconds must be a number"),
    (flow({"Name": "First", "Type": "Wait", "End": True}), "needs exactly one of Seconds or Seconds.$"),
    (flow({"Name": "First", "Type": "Wait", "Seconds.$": "$Output.x", "End": True}), "$Output is not available"),
    (flow({"Name": "First", "Type": "Succeed"}, start="Second"), "StartAt: names 'Second', which is not a state"),
    ({"Type": "StateMachine", "SpecVersion": "v1", "States": [{"Name": "A", "Type": "Succeed"}]}, "StartAt: missing"),
    (flow(task("First", End=True), {"Name": "First", "Type": "Succeed"}), "state 'First': duplicate state name"),
    (flow(task("First", function="deleteEverything", End=True)),
     "resourceArn names function 'deleteEverything', which is not among the known functions (cleanup, launch)"),
    (flow(task("First", End=True, Parameters={"resourceArn": "acs:ecs:cn-hangzhou:1:instance/i-1"})),
     "is not acs:fc:<region>:<account>:functions/<name>[/<qualifier>]"),
    (flow(task("First", End=True, Action="ECS:DescribeInstances")), "Action must be FC:InvokeFunction"),
    (flow(task("First", End=True, TaskMode="WaitForCustomCallback")), "TaskMode 'WaitForCustomCallback'"),
    (flow(task("First", End=True, Parameters={"resourceArn": ARN % "launch", "invocationType": "Async"})),
     "invocationType must be Sync"),
    (flow(task("First", Nxt="Second", End=True)), "unknown field(s) for a Task state: Nxt"),
    (flow(task("First")), "state 'First': needs Next or End: true"),
    (flow(task("First", Next="First", End=True)), "state 'First': has both Next and End"),
    (flow({"Name": "First", "Type": "Parallel", "Branches": [], "End": True}),
     "type Parallel is not supported by the local runner"),
    (flow({"Name": "First", "Type": "Sleep", "End": True}), "unknown Type 'Sleep'"),
    (flow({"Name": "First", "Type": "Pass", "End": True, "Retry": []}), "unknown field(s) for a Pass state: Retry"),
    (flow(task("First", End=True, Retry=[{"Errors": [], "MaxAttempts": 2}])), "Errors must be a non-empty list"),
    (flow(task("First", End=True, Retry=[{"Errors": ["FnF.ALL"], "BackoffRate": 0.5}])), "BackoffRate must be a number >= 1.0"),
    (flow(task("First", End=True, Retry=[{"Errors": ["FnF.ALL"], "MaxAttempts": 2.5}])), "MaxAttempts must be an integer"),
    (flow(task("First", End=True, Catch=[{"Errors": ["FnF.ALL"]}])), "Catch[0]: needs Next"),
    (flow(task("First", End=True, Catch=[{"Errors": ["FnF.ALL"], "Next": "Gone"}])),
     "Catch[0].Next names 'Gone', which is not a state"),
    (flow(task("First", End=True, Timeout="soon")), "Timeout must be a positive number of seconds"),
    (flow(task("First", End=True, Retry=[{"Errors": ["FC.ResourceThrottled"], "MaxAttempts": 2}])),
     "Retry[0]: needs a Description"),
    (flow(task("First", End=True, Catch=[{"Errors": ["FnF.ALL"], "Next": "First"}])), "Catch[0]: needs a Description"),
    (flow(task("First", End=True, InputConstructor={"x.$": "$Output.Body"})),
     "InputConstructor.x.$: $Output is not available here"),
    (flow(task("First", End=True, Parameters={"resourceArn": ARN % "launch", "body": {"id.$": "$Input.a b"}})),
     "Parameters.body.id.$: '$Input.a b' is not a path"),
    (flow({"Name": "First", "Type": "Pass", "End": True}) | {"Type": "Flow"}, "Type: must be StateMachine"),
    (flow({"Name": "First", "Type": "Pass", "End": True}) | {"SpecVersion": "v1beta1"}, "SpecVersion: must be v1"),
    (flow() | {"States": []}, "States: must be a non-empty list"),
    (flow({"Type": "Pass", "End": True}), "States[0]: has no Name"),
])
def test_invalid_definitions_are_rejected_with_a_clear_message(document, message):
    found = problems(document)
    assert any(message in problem for problem in found), found


def test_every_problem_is_reported_at_once():
    found = problems(flow(task("First", Next="Gone"), {"Name": "W", "Type": "Wait", "Seconds": 900, "End": True},
                          {"Name": "C", "Type": "Choice", "Branches": [{"Condition": "$Input.x", "Next": "W"}]}))
    assert len(found) == 3
    assert str(DefinitionError(found)).startswith("invalid flow definition:\n  - state 'W': Seconds is 900")


def test_yaml_errors_are_definition_errors():
    with pytest.raises(DefinitionError, match="not valid YAML"):
        parse_definition("States: [unclosed", FUNCTIONS)
    with pytest.raises(DefinitionError, match="must be a mapping"):
        parse_definition("- just\n- a list\n", FUNCTIONS)
