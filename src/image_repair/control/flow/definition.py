"""CloudFlow spec v1 definitions: parsed once into typed states, rejected at load time when wrong.

Supported: Task (``FC:InvokeFunction``, ``RequestComplete``, ``invocationType: Sync``), Pass, Wait,
Choice, Succeed, Fail. Parallel and Map are refused with a clear message (the repair flow does not
use them; a runner that ran them wrongly would be worse than one that says so).
"""
import re
from pathlib import Path as FilePath
from typing import Any, Collection, Optional, Union

import yaml

from .errors import DefinitionError, ExpressionError
from .expressions import compile_constructor, condition_paths, parse_condition, parse_path
from .states import (CatchRule, ChoiceBranch, ChoiceState, FailState, FlowDefinition, PassState, RetryRule, State,
                     SucceedState, TaskState, WaitState)

MIN_WAIT_S, MAX_WAIT_S = 1, 300          # Standard mode: longer waits are Choice/Wait loops
ARN = re.compile(r"^acs:fc:[^:]+:[^:]+:(?:services/[^/]+/)?functions/([^/]+)(?:/[^/]+)?$")

COMMON_KEYS = {"Name", "Type", "Description", "InputConstructor", "OutputConstructor"}
FLOW_KEYS = {"Next", "End"}
ALLOWED_KEYS = {
    "Task": COMMON_KEYS | FLOW_KEYS | {"Action", "TaskMode", "Parameters", "Retry", "Catch", "Timeout"},
    "Pass": COMMON_KEYS | FLOW_KEYS,
    "Wait": COMMON_KEYS | FLOW_KEYS | {"Seconds", "Seconds.$"},
    "Choice": COMMON_KEYS | {"Branches", "Default"},
    "Succeed": COMMON_KEYS,
    "Fail": COMMON_KEYS | {"Code", "Detail"},
}
UNSUPPORTED_TYPES = ("Parallel", "Map")
RETRY_KEYS = {"Errors", "Description", "MaxAttempts", "IntervalSeconds", "BackoffRate", "MaxBackoffSeconds"}
CATCH_KEYS = {"Errors", "Description", "Next", "OutputConstructor"}
PARAMETER_KEYS = {"resourceArn", "invocationType", "body"}
INPUT_ROOTS = ("$Input", "$Context")
OUTPUT_ROOTS = ("$Input", "$Output", "$Context")


def function_name_of(arn: Any) -> Optional[str]:
    """``acs:fc:<region>:<account>:functions/<name>[/<qualifier>]`` (or the FC 2.0 form with
    ``services/<service>/``) -> ``<name>``; anything else -> None."""
    match = ARN.match(arn) if isinstance(arn, str) else None
    return match.group(1) if match else None


def load_definition_file(path: Union[str, FilePath], functions: Collection[str]) -> FlowDefinition:
    with open(path, encoding="utf-8") as handle:
        return parse_definition(handle.read(), functions, source=str(path))


def parse_definition(document: Union[str, dict], functions: Collection[str], source: str = "definition") -> FlowDefinition:
    """Parse and validate; ``functions`` are the function names Task states may invoke (the
    handler mapping, or the names deployed by s.yaml). Raises DefinitionError listing every problem."""
    if isinstance(document, str):
        try:
            document = yaml.safe_load(document)
        except yaml.YAMLError as error:
            raise DefinitionError(["%s: not valid YAML: %s" % (source, error)])
    return _Loader(set(functions)).load(document)


class _Loader:
    def __init__(self, functions: set):
        self.functions = functions
        self.problems: list = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append("%s: %s" % (where, message))

    def load(self, document: Any) -> FlowDefinition:
        if not isinstance(document, dict):
            raise DefinitionError(["the definition must be a mapping (Type, SpecVersion, StartAt, States)"])
        if document.get("Type") != "StateMachine":
            self.problem("Type", "must be StateMachine, found %r" % document.get("Type"))
        if document.get("SpecVersion") != "v1":
            self.problem("SpecVersion", "must be v1, found %r" % document.get("SpecVersion"))
        raw_states = document.get("States")
        if not isinstance(raw_states, list) or not raw_states:
            self.problem("States", "must be a non-empty list of states")
            raw_states = []
        states = {}
        for index, raw in enumerate(raw_states):
            state = self.state(raw, index)
            if state is None:
                continue
            if state.name in states:
                self.problem("state %r" % state.name, "duplicate state name")
                continue
            states[state.name] = state
        start_at = document.get("StartAt")
        if not isinstance(start_at, str) or not start_at:
            self.problem("StartAt", "missing")
        elif raw_states and start_at not in states:
            self.problem("StartAt", "names %r, which is not a state" % start_at)
        self.check_targets(states)
        if self.problems:
            raise DefinitionError(self.problems)
        return FlowDefinition(name=str(document.get("Name") or "flow"), start_at=start_at, states=states)

    def check_targets(self, states: dict) -> None:
        for state in states.values():
            targets = [("Next", state.next)]
            if isinstance(state, ChoiceState):
                targets += [("Default", state.default)] + [("Branches[%d].Next" % i, b.next)
                                                            for i, b in enumerate(state.branches)]
            if isinstance(state, TaskState):
                targets += [("Catch[%d].Next" % i, c.next) for i, c in enumerate(state.catch)]
            for where, target in targets:
                if target and target not in states:
                    self.problem("state %r" % state.name, "%s names %r, which is not a state" % (where, target))

    def constructor(self, raw: dict, key: str, where: str, roots: tuple) -> Any:
        if key not in raw:
            return None
        if not isinstance(raw[key], dict):
            self.problem(where, "%s must be a mapping" % key)
            return None
        try:
            return compile_constructor(raw[key], key, roots)
        except ExpressionError as error:
            self.problem(where, str(error))
            return None

    def state(self, raw: Any, index: int) -> Optional[State]:
        if not isinstance(raw, dict):
            self.problem("States[%d]" % index, "must be a mapping")
            return None
        name, kind = raw.get("Name"), raw.get("Type")
        if not isinstance(name, str) or not name:
            self.problem("States[%d]" % index, "has no Name")
            return None
        where = "state %r" % name
        if kind in UNSUPPORTED_TYPES:
            self.problem(where, "type %s is not supported by the local runner" % kind)
            return None
        if kind not in ALLOWED_KEYS:
            self.problem(where, "unknown Type %r (expected one of %s)" % (kind, ", ".join(ALLOWED_KEYS)))
            return None
        unknown = sorted(set(raw) - ALLOWED_KEYS[kind])
        if unknown:
            self.problem(where, "unknown field(s) for a %s state: %s" % (kind, ", ".join(unknown)))
        common = dict(name=name, type=kind,
                      input_constructor=self.constructor(raw, "InputConstructor", where, INPUT_ROOTS),
                      output_constructor=self.constructor(raw, "OutputConstructor", where, OUTPUT_ROOTS))
        if kind in ("Task", "Pass", "Wait"):
            common.update(self.transition(raw, where))
        builder = getattr(self, "build_" + kind.lower())
        return builder(raw, where, common)

    def transition(self, raw: dict, where: str) -> dict:
        next_state, end = raw.get("Next"), raw.get("End", False)
        if end not in (True, False):
            self.problem(where, "End must be true or false")
        if next_state is not None and end is True:
            self.problem(where, "has both Next and End")
        elif next_state is None and end is not True:
            self.problem(where, "needs Next or End: true")
        elif next_state is not None and not isinstance(next_state, str):
            self.problem(where, "Next must be a state name")
            next_state = None
        return {"next": next_state, "end": end is True}

    def build_pass(self, raw, where, common):
        return PassState(**common)

    def build_succeed(self, raw, where, common):
        return SucceedState(**common)

    def build_fail(self, raw, where, common):
        return FailState(code=str(raw.get("Code", "")), detail=str(raw.get("Detail", "")), **common)

    def build_wait(self, raw, where, common):
        if ("Seconds" in raw) == ("Seconds.$" in raw):
            self.problem(where, "needs exactly one of Seconds or Seconds.$")
            return WaitState(**common)
        if "Seconds.$" in raw:
            try:
                path = parse_path(str(raw["Seconds.$"]))
            except ExpressionError as error:
                self.problem(where, "Seconds.$: %s" % error)
                return WaitState(**common)
            if path.root == "$Output":
                self.problem(where, "Seconds.$: $Output is not available in a Wait state")
            return WaitState(seconds_path=path, **common)
        seconds = raw["Seconds"]
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            self.problem(where, "Seconds must be a number, found %r" % (seconds,))
        elif not MIN_WAIT_S <= seconds <= MAX_WAIT_S:
            self.problem(where, "Seconds is %s; a Wait lasts %d to %d s in Standard mode (use a Choice/Wait loop)"
                         % (seconds, MIN_WAIT_S, MAX_WAIT_S))
        else:
            return WaitState(seconds=float(seconds), **common)
        return WaitState(**common)

    def build_choice(self, raw, where, common):
        branches = []
        raw_branches = raw.get("Branches")
        if not isinstance(raw_branches, list) or not raw_branches:
            self.problem(where, "a Choice needs a non-empty Branches list")
            raw_branches = []
        for i, branch in enumerate(raw_branches):
            if not isinstance(branch, dict) or set(branch) - {"Condition", "Next", "Description"} \
                    or "Condition" not in branch or not isinstance(branch.get("Next"), str):
                self.problem(where, "Branches[%d] must have Condition and Next (and nothing else)" % i)
                continue
            try:
                node = parse_condition(branch["Condition"])
            except ExpressionError as error:
                self.problem(where, "Branches[%d]: %s" % (i, error))
                continue
            if any(path.root == "$Output" for path in condition_paths(node)):
                self.problem(where, "Branches[%d]: $Output is not available in a condition" % i)
            branches.append(ChoiceBranch(node, branch["Condition"], branch["Next"]))
        default = raw.get("Default")
        if not isinstance(default, str) or not default:
            self.problem(where, "a Choice needs a Default")
            default = ""
        return ChoiceState(branches=tuple(branches), default=default, **common)

    def build_task(self, raw, where, common):
        if raw.get("Action") != "FC:InvokeFunction":
            self.problem(where, "Action must be FC:InvokeFunction (the only integration the runner has), found %r"
                         % raw.get("Action"))
        if raw.get("TaskMode", "RequestComplete") != "RequestComplete":
            self.problem(where, "TaskMode %r is not supported (RequestComplete only)" % raw.get("TaskMode"))
        parameters = raw.get("Parameters")
        function = None
        if not isinstance(parameters, dict):
            self.problem(where, "Parameters (resourceArn, invocationType, body) missing")
            parameters = {}
        else:
            unknown = sorted(set(parameters) - PARAMETER_KEYS)
            if unknown:
                self.problem(where, "unknown Parameters: %s" % ", ".join(unknown))
            function = function_name_of(parameters.get("resourceArn"))
            if function is None:
                self.problem(where, "resourceArn %r is not acs:fc:<region>:<account>:functions/<name>[/<qualifier>]"
                             % parameters.get("resourceArn"))
            elif function not in self.functions:
                self.problem(where, "resourceArn names function %r, which is not among the known functions (%s)"
                             % (function, ", ".join(sorted(self.functions)) or "none"))
            if parameters.get("invocationType", "Sync") != "Sync":
                self.problem(where, "invocationType must be Sync (the state reads the function's result)")
            if "body" in parameters and not isinstance(parameters["body"], dict):
                self.problem(where, "Parameters.body must be a mapping")
        try:
            compiled = compile_constructor(parameters, "Parameters", INPUT_ROOTS)
        except ExpressionError as error:
            self.problem(where, str(error))
            compiled = {}
        timeout = raw.get("Timeout")
        if timeout is not None:
            try:
                timeout = float(timeout)
                if timeout <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                self.problem(where, "Timeout must be a positive number of seconds, found %r" % (raw.get("Timeout"),))
                timeout = None
        return TaskState(function=function or "", parameters=compiled, retry=tuple(self.retries(raw, where)),
                         catch=tuple(self.catches(raw, where)), timeout_s=timeout, **common)

    def description(self, rule: dict, where: str) -> None:
        # CloudFlow's error-handling page marks Description as required in Retry and Catch rules
        # (help doc 2500862, 2026; an older version said optional): CreateFlow may refuse a rule without.
        if not isinstance(rule.get("Description"), str) or not rule["Description"].strip():
            self.problem(where, "needs a Description (required by CloudFlow's error handling)")

    def errors_of(self, rule: dict, where: str) -> tuple:
        errors = rule.get("Errors")
        if not isinstance(errors, list) or not errors or not all(isinstance(e, str) and e for e in errors):
            self.problem(where, "Errors must be a non-empty list of error names")
            return ()
        return tuple(errors)

    def retries(self, raw: dict, where: str) -> list:
        rules = []
        for i, rule in enumerate(raw.get("Retry") or []):
            here = "%s Retry[%d]" % (where, i)
            if not isinstance(rule, dict):
                self.problem(here, "must be a mapping")
                continue
            if set(rule) - RETRY_KEYS:
                self.problem(here, "unknown field(s): %s" % ", ".join(sorted(set(rule) - RETRY_KEYS)))
            self.description(rule, here)
            numbers = {}
            for key, default, minimum in (("MaxAttempts", 3, 0), ("IntervalSeconds", 1, 0), ("BackoffRate", 1.0, 1.0),
                                          ("MaxBackoffSeconds", None, 0)):
                value = rule.get(key, default)
                if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                          or value < minimum):
                    self.problem(here, "%s must be a number >= %s, found %r" % (key, minimum, value))
                    value = default
                numbers[key] = value
            if not isinstance(numbers["MaxAttempts"], int):
                self.problem(here, "MaxAttempts must be an integer")
                numbers["MaxAttempts"] = 3
            rules.append(RetryRule(errors=self.errors_of(rule, here), max_attempts=numbers["MaxAttempts"],
                                   interval_s=float(numbers["IntervalSeconds"]), backoff_rate=float(numbers["BackoffRate"]),
                                   max_backoff_s=None if numbers["MaxBackoffSeconds"] is None
                                   else float(numbers["MaxBackoffSeconds"])))
        return rules

    def catches(self, raw: dict, where: str) -> list:
        rules = []
        for i, rule in enumerate(raw.get("Catch") or []):
            here = "%s Catch[%d]" % (where, i)
            if not isinstance(rule, dict):
                self.problem(here, "must be a mapping")
                continue
            if set(rule) - CATCH_KEYS:
                self.problem(here, "unknown field(s): %s" % ", ".join(sorted(set(rule) - CATCH_KEYS)))
            self.description(rule, here)
            if not isinstance(rule.get("Next"), str):
                self.problem(here, "needs Next")
                continue
            rules.append(CatchRule(errors=self.errors_of(rule, here), next=rule["Next"],
                                   output_constructor=self.constructor(rule, "OutputConstructor", here, INPUT_ROOTS)))
        return rules
