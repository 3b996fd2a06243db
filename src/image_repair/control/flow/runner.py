"""Run a parsed CloudFlow definition locally: Task states call Python handlers mapped by function
name (called like Function Compute calls them: ``handler(event_bytes, context)``), waits and
retry backoff go through an injected clock, and every step is kept in a history to assert on.

Data flow of one state (CloudFlow's rules as documented; defaults are ours where it is silent):
raw input -> InputConstructor (``$Input``, ``$Context``) -> the state's work -> raw output
-> OutputConstructor (``$Input``, ``$Output``, ``$Context``) -> the next state's raw input.
Without an OutputConstructor a Task's output is ``{"Body": <function result>}`` and every other
state's output is its input. A caught error goes to the Catch's Next with the Catch's
OutputConstructor (``$Context.Current.Error.Code/Detail`` available), or with the state input.
"""
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Mapping, Optional

from .clock import RealClock
from .definition import MAX_WAIT_S, MIN_WAIT_S
from .states import ChoiceState, FailState, FlowDefinition, PassState, State, SucceedState, TaskState, WaitState
from .errors import ExecutionFailed, ExpressionError, StateError
from .expressions import MISSING, build, evaluate_condition

MAX_DATA_BYTES = 64 * 1024
SUCCEEDED, FAILED = "Succeeded", "Failed"

# How CloudFlow names an error that a function raised (Function Compute answers it with the header
# X-Fc-Error-Type: UnhandledInvocationError and the body {errorMessage, errorType, stackTrace}) is
# not documented: the flow must not depend on it. The runner can name it each plausible way, and
# the workflow's tests run under all of them (docs/flow.md, "Errors").
FUNCTION_ERROR_NAMINGS = {
    "errorType": lambda error_type: error_type or "UnhandledInvocationError",
    "FC.Unknown": lambda error_type: "FC.Unknown",
    "FC.errorType": lambda error_type: "FC.%s" % (error_type or "Unknown"),
}


class FunctionKilled(BaseException):
    """Raised inside a handler to stand for the platform killing the function mid-invocation (its
    timeout, an out-of-memory kill): no code of the function runs after it, not even ``finally``
    clauses that catch Exception; the runner reports it as Function Compute reports a timeout."""


@dataclass(frozen=True)
class HistoryEvent:
    """``type``: ExecutionStarted, StateEntered, TaskSucceeded, TaskFailed, RetryScheduled,
    ErrorCaught, Waited, ChoiceMatched, StateExited, ExecutionSucceeded, ExecutionFailed."""
    type: str
    state: Optional[str]
    at: float
    detail: dict = field(default_factory=dict)


@dataclass
class ExecutionResult:
    name: str
    status: str
    output: Optional[dict]
    error_code: Optional[str]
    error_detail: Optional[str]
    history: list
    started_at: float
    stopped_at: float

    def events(self, event_type: str) -> list:
        return [event for event in self.history if event.type == event_type]

    @property
    def visited(self) -> list:
        """State names in the order they were entered."""
        return [event.state for event in self.events("StateEntered")]


def data_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


class FlowRunner:
    def __init__(self, definition: FlowDefinition, handlers: Mapping[str, Callable], clock=None,
                 region: str = "local", account_id: str = "0", max_transitions: int = 10_000,
                 function_error_naming: str = "errorType",
                 platform_faults: Optional[Callable[[str, str], Optional[str]]] = None):
        """``platform_faults(state, function)`` -> an error name (``FC.ResourceThrottled``...) to
        answer instead of invoking the function, as Function Compute does when it refuses an
        invocation, or None. ``function_error_naming``: a key of FUNCTION_ERROR_NAMINGS."""
        missing = sorted(definition.functions - set(handlers))
        if missing:
            raise ValueError("no handler for function(s) %s" % ", ".join(missing))
        self.definition = definition
        self.handlers = dict(handlers)
        self.clock = clock or RealClock()
        self.region, self.account_id = region, account_id
        self.max_transitions = max_transitions
        self.name_function_error = FUNCTION_ERROR_NAMINGS[function_error_naming]
        self.platform_faults = platform_faults

    def run(self, execution_input: Optional[dict] = None, name: str = "local-execution") -> ExecutionResult:
        execution_input = {} if execution_input is None else execution_input
        run = _Execution(self, name, execution_input)
        return run.execute()


class _Execution:
    """The state of one run (its history, request counter): a runner may run many."""

    def __init__(self, runner: FlowRunner, name: str, execution_input: dict):
        self.runner, self.clock, self.name = runner, runner.clock, name
        self.input = execution_input
        self.history: list = []
        self.requests = 0

    def record(self, event_type: str, state: Optional[str] = None, **detail) -> None:
        self.history.append(HistoryEvent(event_type, state, self.clock.now(), detail))

    def check_size(self, value: Any, what: str) -> None:
        size = data_size(value)
        if size > MAX_DATA_BYTES:
            raise ExecutionFailed("FnF.DataTooLarge", "%s is %d bytes, over the %d-byte limit"
                                  % (what, size, MAX_DATA_BYTES))

    def execute(self) -> ExecutionResult:
        started = self.clock.now()
        self.record("ExecutionStarted", input=self.input)
        output, code, detail = None, None, None
        try:
            if not isinstance(self.input, dict):
                raise ExecutionFailed("FnF.InvalidInput", "the execution input must be a JSON object")
            self.check_size(self.input, "the execution input")
            output = self.loop()
            self.record("ExecutionSucceeded", output=output)
        except StateError as error:
            output, code, detail = None, error.code, error.detail
            self.record("ExecutionFailed", code=code, detail=detail)
        return ExecutionResult(self.name, SUCCEEDED if code is None else FAILED, output, code, detail,
                               self.history, started, self.clock.now())

    def loop(self) -> dict:
        states = self.runner.definition.states
        state, data = states[self.runner.definition.start_at], self.input
        for _ in range(self.runner.max_transitions):
            self.record("StateEntered", state.name, input=data)
            data, next_name = self.run_state(state, data)
            self.record("StateExited", state.name, output=data)
            if next_name is None:
                return data
            state = states[next_name]
        raise ExecutionFailed("FnF.TooManyTransitions", "more than %d state transitions (a loop without a bound?)"
                              % self.runner.max_transitions)

    def run_state(self, state: State, raw_input: dict) -> tuple:
        current = {"Name": state.name, "Input": raw_input, "RetryCount": 0}
        scope = {"$Input": raw_input, "$Context": {"Execution": {"Name": self.name, "Input": self.input},
                                                   "Current": current}}
        state_input = self.construct(state.input_constructor, scope, state, "InputConstructor") \
            if state.input_constructor is not None else raw_input
        self.check_size(state_input, "the input of state %r" % state.name)
        current["Input"] = scope["$Input"] = state_input
        next_name = None if state.end else state.next
        if isinstance(state, TaskState):
            raw_output, caught_next = self.run_task(state, scope, current)
            if caught_next is not None:    # a Catch decides the output and the next state
                self.check_size(raw_output, "the output of state %r" % state.name)
                return raw_output, caught_next
        elif isinstance(state, WaitState):
            self.wait(state, scope)
            raw_output = state_input
        elif isinstance(state, ChoiceState):
            next_name = self.choose(state, scope)
            raw_output = state_input
        elif isinstance(state, FailState):
            raise ExecutionFailed(state.code or "FnF.Fail", state.detail)
        elif isinstance(state, (PassState, SucceedState)):
            raw_output = state_input
        else:   # the loader only builds the types above
            raise ExecutionFailed("FnF.Unsupported", "state type %s" % state.type)
        if state.output_constructor is not None:
            current["Output"] = scope["$Output"] = raw_output
            output = self.construct(state.output_constructor, scope, state, "OutputConstructor")
        else:
            output = raw_output
        self.check_size(output, "the output of state %r" % state.name)
        return output, (None if isinstance(state, SucceedState) else next_name)

    def construct(self, compiled: Any, scope: dict, state: State, what: str) -> Any:
        try:
            return build(compiled, scope)
        except ExpressionError as error:
            raise ExecutionFailed("FnF.InvalidExpression", "state %r %s: %s" % (state.name, what, error))

    def wait(self, state: WaitState, scope: dict) -> None:
        seconds = state.seconds
        if state.seconds_path is not None:
            seconds = state.seconds_path.resolve(scope)
            if seconds is MISSING or isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
                    or not MIN_WAIT_S <= seconds <= MAX_WAIT_S:
                raise ExecutionFailed("FnF.InvalidWait", "state %r: %s is %r, not %d-%d seconds" % (
                    state.name, state.seconds_path.text, None if seconds is MISSING else seconds, MIN_WAIT_S, MAX_WAIT_S))
        self.record("Waited", state.name, seconds=seconds)
        self.clock.sleep(seconds)

    def choose(self, state: ChoiceState, scope: dict) -> str:
        for index, branch in enumerate(state.branches):
            try:
                matched = evaluate_condition(branch.condition, scope)
            except ExpressionError as error:
                raise ExecutionFailed("FnF.InvalidExpression", "state %r Branches[%d]: %s" % (state.name, index, error))
            if matched:
                self.record("ChoiceMatched", state.name, branch=index, condition=branch.text, next=branch.next)
                return branch.next
        self.record("ChoiceMatched", state.name, branch=None, next=state.default)
        return state.default

    def run_task(self, state: TaskState, scope: dict, current: dict) -> tuple:
        """-> (raw output, None) on success, (catch output, catch Next) when caught; raises otherwise."""
        retries_by_rule = [0] * len(state.retry)
        while True:
            parameters = self.construct(state.parameters, scope, state, "Parameters")
            try:
                body = self.invoke(state, parameters.get("body", {}))
                self.record("TaskSucceeded", state.name, function=state.function, retry_count=current["RetryCount"])
                return {"Body": body}, None
            except ExecutionFailed:
                raise
            except StateError as error:
                self.record("TaskFailed", state.name, function=state.function, code=error.code, detail=error.detail,
                            retry_count=current["RetryCount"])
                # The first rule that matches decides; once it is exhausted the error goes to Catch.
                index = next((i for i, rule in enumerate(state.retry) if rule.matches(error.code)), None)
                if index is not None and retries_by_rule[index] < state.retry[index].max_attempts:
                    delay = state.retry[index].delay(retries_by_rule[index])
                    retries_by_rule[index] += 1
                    current["RetryCount"] += 1
                    self.record("RetryScheduled", state.name, code=error.code, rule=index,
                                attempt=current["RetryCount"], delay=delay)
                    self.clock.sleep(delay)
                    continue
                catch = next((rule for rule in state.catch if rule.matches(error.code)), None)
                if catch is None:
                    raise
                current["Error"] = {"Code": error.code, "Detail": error.detail}
                output = scope["$Input"] if catch.output_constructor is None else \
                    self.construct(catch.output_constructor, scope, state, "Catch OutputConstructor")
                self.record("ErrorCaught", state.name, code=error.code, next=catch.next)
                return output, catch.next

    def invoke(self, state: TaskState, body: Any) -> Any:
        self.requests += 1
        refused = self.runner.platform_faults(state.name, state.function) if self.runner.platform_faults else None
        if refused:
            raise StateError(refused, "Function Compute refused the invocation of %s" % state.function)
        context = SimpleNamespace(request_id="%s-%04d" % (self.name, self.requests), region=self.runner.region,
                                  account_id=self.runner.account_id,
                                  function=SimpleNamespace(name=state.function, handler=state.function,
                                                           timeout=state.timeout_s))
        started = self.clock.now()
        try:
            result = self.runner.handlers[state.function](json.dumps(body).encode("utf-8"), context)
        except FunctionKilled:
            raise self.function_error(None, self.timed_out(state))
        except Exception as error:   # an unhandled exception, as Function Compute passes it on
            raise self.function_error(type(error).__name__, str(error))
        elapsed = self.clock.now() - started
        if state.timeout_s is not None and elapsed > state.timeout_s:
            # The platform would have killed the function: its result never arrives.
            raise self.function_error(None, self.timed_out(state))
        if result is None:
            return {}
        if isinstance(result, (bytes, bytearray)):
            result = result.decode("utf-8")
        if isinstance(result, str):
            try:
                return json.loads(result)
            except ValueError:
                return result
        return result

    @staticmethod
    def timed_out(state: TaskState) -> str:
        return "Function timed out after %s seconds" % (state.timeout_s,)

    def function_error(self, error_type: Optional[str], message: str) -> StateError:
        """The error a failed invocation raises in the state: its code under the runner's naming,
        its detail the body Function Compute answers (errorMessage, and errorType when known)."""
        body = {"errorMessage": message}
        if error_type:
            body["errorType"] = error_type
        return StateError(self.runner.name_function_error(error_type), json.dumps(body))
