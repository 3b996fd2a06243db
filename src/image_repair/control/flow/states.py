"""Typed states of a parsed CloudFlow definition (built by ``definition``, run by ``runner``)."""
from dataclasses import dataclass, field
from typing import Any, Optional

from .expressions import Node, Path

ALL_ERRORS = "FnF.ALL"


@dataclass(frozen=True)
class RetryRule:
    errors: tuple
    max_attempts: int = 3
    interval_s: float = 1.0
    backoff_rate: float = 1.0
    max_backoff_s: Optional[float] = None

    def matches(self, code: str) -> bool:
        return ALL_ERRORS in self.errors or code in self.errors

    def delay(self, retries_done: int) -> float:
        """Seconds before retry number ``retries_done + 1``: interval * rate^n, capped."""
        delay = self.interval_s * self.backoff_rate ** retries_done
        return delay if self.max_backoff_s is None else min(delay, self.max_backoff_s)


@dataclass(frozen=True)
class CatchRule:
    errors: tuple
    next: str
    output_constructor: Any = None

    def matches(self, code: str) -> bool:
        return ALL_ERRORS in self.errors or code in self.errors


@dataclass(frozen=True, kw_only=True)
class State:
    name: str
    type: str
    next: Optional[str] = None
    end: bool = False
    input_constructor: Any = None
    output_constructor: Any = None


@dataclass(frozen=True, kw_only=True)
class TaskState(State):
    function: str
    parameters: dict
    retry: tuple = ()
    catch: tuple = ()
    timeout_s: Optional[float] = None


@dataclass(frozen=True, kw_only=True)
class PassState(State):
    pass


@dataclass(frozen=True, kw_only=True)
class WaitState(State):
    seconds: Optional[float] = None
    seconds_path: Optional[Path] = None


@dataclass(frozen=True)
class ChoiceBranch:
    condition: Node
    text: str
    next: str


@dataclass(frozen=True, kw_only=True)
class ChoiceState(State):
    branches: tuple = ()
    default: str = ""


@dataclass(frozen=True, kw_only=True)
class SucceedState(State):
    pass


@dataclass(frozen=True, kw_only=True)
class FailState(State):
    code: str = ""
    detail: str = ""


@dataclass(frozen=True)
class FlowDefinition:
    name: str
    start_at: str
    states: dict = field(default_factory=dict)   # name -> State, in definition order

    @property
    def functions(self) -> set:
        return {s.function for s in self.states.values() if isinstance(s, TaskState)}
