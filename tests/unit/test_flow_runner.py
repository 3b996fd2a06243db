"""The local CloudFlow runner on small definitions, on a virtual clock (no real waiting)."""
import json
import textwrap

import pytest

from image_repair.control.flow import MAX_DATA_BYTES, FlowRunner, FunctionKilled, VirtualClock, parse_definition
from image_repair.control.flow.runner import FUNCTION_ERROR_NAMINGS

ARN = "acs:fc:cn-hangzhou:123456789:functions/%s/LATEST"


def CodedError(code, message=""):
    """An exception whose class is named ``code``: Function Compute passes on only an exception's
    class name (errorType) and message (errorMessage); these runners name it FC.<errorType>."""
    return type(code, (Exception,), {"code": "never transmitted"})(message or code)


def definition(text, functions):
    return parse_definition(textwrap.dedent(text), functions)


def fc_handler(function):
    """Adapt ``function(body: dict) -> dict`` to Function Compute's ``handler(event: bytes, context)``,
    recording every call."""
    calls = []

    def handler(event, context):
        assert isinstance(event, bytes)
        body = json.loads(event)
        calls.append({"body": body, "function": context.function.name, "request_id": context.request_id})
        return json.dumps(function(body))
    handler.calls = calls
    return handler


WAIT_LOOP = """\
    Type: StateMachine
    Name: wait-loop
    SpecVersion: v1
    StartAt: Start
    States:
      - Name: Start
        Type: Pass
        InputConstructor:
          resourceId.$: $Context.Execution.Input.resourceId
          attempt: 0
        Next: CheckReady
      - Name: CheckReady
        Type: Task
        Action: FC:InvokeFunction
        TaskMode: RequestComplete
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:123456789:functions/check-ready/LATEST
          invocationType: Sync
          body:
            resourceId.$: $Input.resourceId
            attempt.$: $Input.attempt
        OutputConstructor:
          resourceId.$: $Input.resourceId
          ready.$: $Output.Body.ready
          attempt.$: $Output.Body.attempt
          waitSeconds.$: $Output.Body.waitSeconds
        Next: IsReady
      - Name: IsReady
        Type: Choice
        Branches:
          - Condition: $Input.ready == true
            Next: Ready
          - Condition: $Input.attempt >= 6
            Next: GaveUp
        Default: WaitABit
      - Name: WaitABit
        Type: Wait
        Seconds.$: $Input.waitSeconds
        Next: CheckReady
      - Name: Ready
        Type: Succeed
      - Name: GaveUp
        Type: Fail
        Code: ResourceNotReady
        Detail: still not ready after 6 checks
    """


def wait_loop_handler(ready_at_attempt):
    def check(body):
        attempt = body["attempt"] + 1
        # Growing intervals, capped at the 300 s a single Wait may last.
        return {"ready": attempt >= ready_at_attempt, "attempt": attempt, "waitSeconds": min(5 * 4 ** (attempt - 1), 300)}
    return fc_handler(check)


def test_choice_wait_loop_with_growing_intervals_until_ready():
    clock, check = VirtualClock(), wait_loop_handler(ready_at_attempt=4)
    runner = FlowRunner(definition(WAIT_LOOP, {"check-ready"}), {"check-ready": check}, clock=clock)
    result = runner.run({"resourceId": "i-1"}, name="exec-1")
    assert result.status == "Succeeded", result.error_detail
    assert result.output == {"resourceId": "i-1", "ready": True, "attempt": 4, "waitSeconds": 300}
    assert [event.detail["seconds"] for event in result.events("Waited")] == [5, 20, 80]
    assert clock.sleeps == [5, 20, 80] and result.stopped_at - result.started_at == 105
    assert [call["body"]["attempt"] for call in check.calls] == [0, 1, 2, 3]
    assert result.visited == ["Start"] + ["CheckReady", "IsReady", "WaitABit"] * 3 + ["CheckReady", "IsReady", "Ready"]


def test_choice_wait_loop_gives_up_after_bounded_attempts():
    clock, check = VirtualClock(), wait_loop_handler(ready_at_attempt=99)
    result = FlowRunner(definition(WAIT_LOOP, {"check-ready"}), {"check-ready": check}, clock=clock).run(
        {"resourceId": "i-1"})
    assert (result.status, result.error_code, result.error_detail) == (
        "Failed", "ResourceNotReady", "still not ready after 6 checks")
    assert len(check.calls) == 6
    assert clock.sleeps == [5, 20, 80, 300, 300]         # capped by the handler at the Wait limit
    assert result.output is None and result.history[-1].type == "ExecutionFailed"


RETRY_CATCH = """\
    Type: StateMachine
    Name: retry-catch
    SpecVersion: v1
    StartAt: Launch
    States:
      - Name: Launch
        Type: Task
        Action: FC:InvokeFunction
        TaskMode: RequestComplete
        Timeout: 60
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:123456789:functions/launch/LATEST
          invocationType: Sync
          body:
            executionId.$: $Context.Execution.Input.executionId
            retryCount.$: $Context.Current.RetryCount
        Retry:
          - Errors: [FC.Throttling, FC.Unknown]
            Description: throttled, or timed out
            MaxAttempts: 4
            IntervalSeconds: 2
            BackoffRate: 2
            MaxBackoffSeconds: 10
          - Errors: [FnF.ALL]
            Description: anything else, once
            MaxAttempts: 1
            IntervalSeconds: 1
        Catch:
          - Errors: [FnF.ALL]
            Description: clean up
            Next: Cleanup
            OutputConstructor:
              executionId.$: $Context.Execution.Input.executionId
              errorCode.$: $Context.Current.Error.Code
              errorDetail.$: $Context.Current.Error.Detail
        OutputConstructor:
          instanceId.$: $Output.Body.instanceId
        Next: Done
      - Name: Cleanup
        Type: Task
        Action: FC:InvokeFunction
        TaskMode: RequestComplete
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:123456789:functions/cleanup/LATEST
          invocationType: Sync
          body:
            executionId.$: $Input.executionId
            errorCode.$: $Input.errorCode
        Next: Failed
      - Name: Failed
        Type: Fail
        Code: RepairFailed
        Detail: cleaned up after an error
      - Name: Done
        Type: Succeed
    """


def retry_catch(launch, clock=None):
    cleanup = fc_handler(lambda body: {"cleaned": True})
    handlers = {"launch": launch, "cleanup": cleanup}
    runner = FlowRunner(definition(RETRY_CATCH, set(handlers)), handlers, clock=clock or VirtualClock(),
                        function_error_naming="FC.errorType")
    return runner, cleanup


def always(code):
    def fail(body):
        raise CodedError(code, "%s on attempt %d" % (code, body["retryCount"]))
    return fc_handler(fail)


def test_retry_with_backoff_then_catch_to_cleanup_then_fail():
    clock, launch = VirtualClock(), always("Throttling")
    runner, cleanup = retry_catch(launch, clock)
    result = runner.run({"executionId": "e-1"}, name="exec-1")
    assert (result.status, result.error_code) == ("Failed", "RepairFailed")
    assert [c["body"]["retryCount"] for c in launch.calls] == [0, 1, 2, 3, 4]
    retries = result.events("RetryScheduled")
    assert [(e.detail["attempt"], e.detail["delay"], e.detail["rule"]) for e in retries] == [
        (1, 2, 0), (2, 4, 0), (3, 8, 0), (4, 10, 0)]            # 2 * 2^n, capped at 10
    assert clock.sleeps == [2, 4, 8, 10]
    # The first matching rule decides: once exhausted, the FnF.ALL rule does not add a retry.
    assert cleanup.calls[0]["body"] == {"executionId": "e-1", "errorCode": "FC.Throttling"}
    caught = result.events("ErrorCaught")[0]
    assert caught.state == "Launch" and caught.detail == {"code": "FC.Throttling", "next": "Cleanup"}
    assert result.visited == ["Launch", "Cleanup", "Failed"]
    exits = {e.state: e.detail["output"] for e in result.events("StateExited")}
    assert exits["Launch"] == {"executionId": "e-1", "errorCode": "FC.Throttling",
                               "errorDetail": json.dumps({"errorMessage": "Throttling on attempt 4",
                                                          "errorType": "Throttling"})}


@pytest.mark.parametrize("naming, code", [("errorType", "RuntimeError"), ("FC.Unknown", "FC.Unknown"),
                                          ("FC.errorType", "FC.RuntimeError")])
def test_a_function_error_carries_only_what_function_compute_sends(naming, code):
    """errorType (the class name) and errorMessage; an attribute of the exception never travels."""
    def broken(body):
        error = RuntimeError("bug")
        error.code = "Throttled"
        raise error
    cleanup = fc_handler(lambda body: {})
    handlers = {"launch": fc_handler(broken), "cleanup": cleanup}
    runner = FlowRunner(definition(RETRY_CATCH, set(handlers)), handlers, clock=VirtualClock(),
                        function_error_naming=naming)
    result = runner.run({"executionId": "e-1"})
    failed = result.events("TaskFailed")[0]
    assert failed.detail["code"] == code
    assert json.loads(failed.detail["detail"]) == {"errorMessage": "bug", "errorType": "RuntimeError"}
    assert cleanup.calls[0]["body"]["errorCode"] == code
    assert set(FUNCTION_ERROR_NAMINGS) == {"errorType", "FC.Unknown", "FC.errorType"}


def test_function_compute_refusing_an_invocation_is_an_fc_error_code_and_the_function_never_runs():
    refusals = ["FC.ResourceThrottled"]
    launch = fc_handler(lambda body: {"instanceId": "i-1"})
    handlers = {"launch": launch, "cleanup": fc_handler(lambda body: {})}
    text = RETRY_CATCH.replace("Errors: [FC.Throttling, FC.Unknown]", "Errors: [FC.ResourceThrottled]")
    runner = FlowRunner(definition(text, set(handlers)), handlers, clock=VirtualClock(),
                        platform_faults=lambda state, function: refusals.pop() if refusals else None)
    result = runner.run({"executionId": "e-1"})
    assert result.status == "Succeeded" and len(launch.calls) == 1
    assert [e.detail["code"] for e in result.events("TaskFailed")] == ["FC.ResourceThrottled"]


def test_transient_errors_then_success():
    attempts = []

    def flaky(body):
        attempts.append(body["retryCount"])
        if len(attempts) < 3:
            raise CodedError("Throttling")
        return {"instanceId": "i-1", "noise": "x" * 100}
    runner, cleanup = retry_catch(fc_handler(flaky))
    result = runner.run({"executionId": "e-1"})
    assert result.status == "Succeeded" and result.output == {"instanceId": "i-1"}
    assert attempts == [0, 1, 2] and cleanup.calls == []
    assert [e.type for e in result.history if e.state == "Launch"] == [
        "StateEntered", "TaskFailed", "RetryScheduled", "TaskFailed", "RetryScheduled", "TaskSucceeded", "StateExited"]


def test_a_task_over_its_timeout_is_a_timeout_error_and_its_result_is_dropped():
    clock, durations = VirtualClock(), [61, 61, 5]

    def slow(body):
        clock.advance(durations.pop(0))     # the handler's own (virtual) run time
        return {"instanceId": "i-%d" % len(durations)}
    runner, _ = retry_catch(fc_handler(slow), clock)
    result = runner.run({"executionId": "e-1"})
    failed = result.events("TaskFailed")
    assert [e.detail["code"] for e in failed] == ["FC.Unknown", "FC.Unknown"]   # no errorType: the platform's error
    assert json.loads(failed[0].detail["detail"]) == {"errorMessage": "Function timed out after 60.0 seconds"}
    assert result.output == {"instanceId": "i-0"}


def test_a_killed_function_runs_nothing_after_the_kill():
    after = []

    def killed(body):
        try:
            raise FunctionKilled()
        except Exception:          # a handler's own error handling never sees a kill
            after.append("caught")
    runner, cleanup = retry_catch(fc_handler(killed))
    result = runner.run({"executionId": "e-1"})
    assert after == [] and result.events("TaskFailed")[0].detail["code"] == "FC.Unknown"


def test_an_uncaught_error_fails_the_execution_with_its_code():
    text = RETRY_CATCH.replace("        Catch:\n          - Errors: [FnF.ALL]\n", "        Catch:\n          - Errors: [FC.Other]\n")
    handlers = {"launch": always("ImageNotFound"), "cleanup": fc_handler(lambda body: {})}
    result = FlowRunner(definition(text, set(handlers)), handlers, clock=VirtualClock(),
                        function_error_naming="FC.errorType").run({"executionId": "e"})
    assert (result.status, result.error_code) == ("Failed", "FC.ImageNotFound")
    assert "ImageNotFound on attempt 1" in result.error_detail and handlers["cleanup"].calls == []


PASS_FLOW = """\
    Type: StateMachine
    Name: pass
    SpecVersion: v1
    StartAt: Shape
    States:
      - Name: Shape
        Type: Pass
        InputConstructor:
          name.$: $Context.Execution.Name
          image.$: $Input.image
          fixed: {a: [1, 2]}
        OutputConstructor:
          state.$: $Context.Current.Name
          copied.$: $Output.image
          name.$: $Input.name
        Next: Echo
      - Name: Echo
        Type: Task
        Action: FC:InvokeFunction
        Parameters:
          resourceArn: acs:fc:cn-hangzhou:123456789:functions/echo
          body:
            whole.$: $Input
        End: true
    """


def test_constructors_context_and_fc_style_calls():
    echo = fc_handler(lambda body: body)
    runner = FlowRunner(definition(PASS_FLOW, {"echo"}), {"echo": echo}, clock=VirtualClock())
    result = runner.run({"image": "m-1"}, name="exec-7")
    assert result.output == {"Body": {"whole": {"state": "Shape", "copied": "m-1", "name": "exec-7"}}}
    assert echo.calls[0]["function"] == "echo" and echo.calls[0]["request_id"] == "exec-7-0001"


def test_handler_results_may_be_dicts_bytes_text_or_nothing():
    for returned, body in (({"a": 1}, {"a": 1}), (b'{"a": 2}', {"a": 2}), ("plain text", "plain text"), (None, {})):
        handlers = {"echo": lambda event, context, returned=returned: returned}
        result = FlowRunner(definition(PASS_FLOW, {"echo"}), handlers, clock=VirtualClock()).run({"image": "m"})
        assert result.output == {"Body": body}


def test_history_is_complete_and_deterministic():
    def run():
        clock, check = VirtualClock(), wait_loop_handler(ready_at_attempt=2)
        return FlowRunner(definition(WAIT_LOOP, {"check-ready"}), {"check-ready": check}, clock=clock).run(
            {"resourceId": "i-1"}, name="exec-1")
    first, second = run(), run()
    assert first.history == second.history
    assert [(e.type, e.state) for e in first.history] == [
        ("ExecutionStarted", None),
        ("StateEntered", "Start"), ("StateExited", "Start"),
        ("StateEntered", "CheckReady"), ("TaskSucceeded", "CheckReady"), ("StateExited", "CheckReady"),
        ("StateEntered", "IsReady"), ("ChoiceMatched", "IsReady"), ("StateExited", "IsReady"),
        ("StateEntered", "WaitABit"), ("Waited", "WaitABit"), ("StateExited", "WaitABit"),
        ("StateEntered", "CheckReady"), ("TaskSucceeded", "CheckReady"), ("StateExited", "CheckReady"),
        ("StateEntered", "IsReady"), ("ChoiceMatched", "IsReady"), ("StateExited", "IsReady"),
        ("StateEntered", "Ready"), ("StateExited", "Ready"),
        ("ExecutionSucceeded", None)]
    assert first.events("ChoiceMatched")[0].detail == {"branch": None, "next": "WaitABit"}
    assert first.events("ChoiceMatched")[1].detail == {"branch": 0, "condition": "$Input.ready == true", "next": "Ready"}
    waited = first.events("Waited")[0]
    assert waited.detail == {"seconds": 5} and first.events("StateExited")[-1].at == waited.at + 5


def test_state_data_is_limited_to_64_kib():
    def sized(size):
        padding = "x" * (size - len(json.dumps({"Body": {"pad": ""}}, separators=(",", ":"))))
        return fc_handler(lambda body: {"pad": padding})
    at_limit = FlowRunner(definition(PASS_FLOW, {"echo"}), {"echo": sized(MAX_DATA_BYTES)}, clock=VirtualClock())
    assert at_limit.run({"image": "m"}).status == "Succeeded"
    over = FlowRunner(definition(PASS_FLOW, {"echo"}), {"echo": sized(MAX_DATA_BYTES + 1)}, clock=VirtualClock())
    result = over.run({"image": "m"})
    assert (result.status, result.error_code) == ("Failed", "FnF.DataTooLarge")
    assert "the output of state 'Echo' is 65537 bytes" in result.error_detail
    too_big_input = over.run({"image": "m", "pad": "y" * MAX_DATA_BYTES})
    assert too_big_input.error_code == "FnF.DataTooLarge" and "execution input" in too_big_input.error_detail
    assert too_big_input.visited == []


def test_runtime_expression_and_wait_errors_fail_the_execution_clearly():
    result = FlowRunner(definition(PASS_FLOW, {"echo"}), {"echo": fc_handler(dict)}, clock=VirtualClock()).run({})
    assert result.error_code == "FnF.InvalidExpression"
    assert "state 'Shape' InputConstructor: image.$: $Input.image does not exist" in result.error_detail
    bad_wait = fc_handler(lambda body: {"ready": False, "attempt": 1, "waitSeconds": 301})
    result = FlowRunner(definition(WAIT_LOOP, {"check-ready"}), {"check-ready": bad_wait}, clock=VirtualClock()).run(
        {"resourceId": "i"})
    assert result.error_code == "FnF.InvalidWait" and "$Input.waitSeconds is 301, not 1-300 seconds" in result.error_detail


def test_an_unbounded_loop_hits_the_transition_guard():
    text = """\
        Type: StateMachine
        Name: spin
        SpecVersion: v1
        StartAt: Again
        States:
          - Name: Again
            Type: Pass
            Next: Again
        """
    result = FlowRunner(definition(text, set()), {}, clock=VirtualClock(), max_transitions=50).run({})
    assert result.error_code == "FnF.TooManyTransitions" and len(result.visited) == 50


def test_every_function_needs_a_handler():
    with pytest.raises(ValueError, match="no handler for function.s. cleanup"):
        FlowRunner(definition(RETRY_CATCH, {"launch", "cleanup"}), {"launch": always("X")})


def test_the_real_clock_is_the_default():
    result = FlowRunner(definition(PASS_FLOW, {"echo"}), {"echo": fc_handler(dict)}).run({"image": "m"})
    assert result.status == "Succeeded" and result.stopped_at >= result.started_at > 1e9
