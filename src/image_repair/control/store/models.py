"""The state store's public records and errors: dataclasses checked by ``records.Fields`` when
read back from a row (typed and bounded at the store's edge, without pydantic on the functions'
cold path: records.py says why).

Every timestamp is an integer count of milliseconds since the epoch (``*_ms``): one unit for
every field, so expiry is a plain comparison. Expiry itself is never stored as a status: a record
is expired when ``expires_at_ms <= now_ms``.
"""
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Dict, Optional

from ..records import Fields, Record

# "Never expires": far in the future but still a signed 64-bit integer (Tablestore INTEGER).
NEVER_MS = 2 ** 62
MAX_KEY = 1024          # an execution id, a step name, a resource, an owner (ours are under 200)
MAX_HASH = 128


class ExecutionStatus(str, Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class StepStatus(str, Enum):
    INPROGRESS = "INPROGRESS"
    COMPLETED = "COMPLETED"


def _time(fields: Fields, name: str) -> int:
    return fields.integer(name, ge=0, le=NEVER_MS)


@dataclass
class StepResult(Record):
    """What one workflow step produced, as recorded on its execution."""
    finished_at_ms: int
    result: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        return {"result": fields.mapping("result", {}), "finished_at_ms": _time(fields, "finished_at_ms")}


@dataclass
class Execution(Record):
    execution_id: str
    source_image_id: str
    created_at_ms: int
    updated_at_ms: int
    params: Dict[str, Any] = field(default_factory=dict)
    status: ExecutionStatus = ExecutionStatus.RUNNING
    steps: Dict[str, StepResult] = field(default_factory=dict)
    report: Optional[Dict[str, Any]] = None
    error: Optional[Dict[str, Any]] = None
    # Optimistic-concurrency version: every update must name the version it read.
    version: int = 1

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        steps = fields.mapping("steps", {}) or {}
        checked_steps = {name: _step_result(fields, name, value) for name, value in steps.items()}
        return {"execution_id": fields.text("execution_id", max_length=MAX_KEY),
                "source_image_id": fields.text("source_image_id", max_length=MAX_KEY),
                "params": fields.mapping("params", {}),
                "status": fields.choice("status", tuple(ExecutionStatus), ExecutionStatus.RUNNING),
                "created_at_ms": _time(fields, "created_at_ms"), "updated_at_ms": _time(fields, "updated_at_ms"),
                "steps": checked_steps, "report": fields.mapping("report", None, optional=True),
                "error": fields.mapping("error", None, optional=True),
                "version": fields.integer("version", 1, ge=0, le=NEVER_MS)}


def _step_result(fields: Fields, name: str, value: Any) -> Optional[StepResult]:
    nested = Fields("StepResult", value, loc=("steps", name))
    values = StepResult.check(nested)
    fields.problems += nested.problems
    return None if nested.problems else StepResult(**values)


@dataclass
class StepRecord(Record):
    """Idempotency record of one step of one execution."""
    execution_id: str
    step: str
    status: StepStatus
    expires_at_ms: int
    owner: str
    payload_hash: Optional[str] = None
    result: Optional[Dict[str, Any]] = None

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        return {"execution_id": fields.text("execution_id", max_length=MAX_KEY),
                "step": fields.text("step", max_length=MAX_KEY),
                "status": fields.choice("status", tuple(StepStatus)),
                "expires_at_ms": _time(fields, "expires_at_ms"),
                "payload_hash": fields.text("payload_hash", None, optional=True, max_length=MAX_HASH),
                "result": fields.mapping("result", None, optional=True),
                "owner": fields.text("owner", max_length=MAX_KEY)}

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_at_ms <= now_ms


@dataclass
class Lock(Record):
    """The lock on one resource (a source image): held by ``owner`` until ``expires_at_ms``."""
    resource: str
    owner: str
    acquired_at_ms: int
    expires_at_ms: int

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        return {"resource": fields.text("resource", max_length=MAX_KEY), "owner": fields.text("owner", max_length=MAX_KEY),
                "acquired_at_ms": _time(fields, "acquired_at_ms"), "expires_at_ms": _time(fields, "expires_at_ms")}

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_at_ms <= now_ms


class StoreError(Exception):
    """Base of the store's errors."""


class StoreConfigError(StoreError):
    """The store configuration (IMAGE_REPAIR_STORE and friends) is invalid."""


class ExecutionNotFound(StoreError):
    pass


class ConcurrentUpdate(StoreError):
    """An optimistic update kept losing to other writers."""


class StepInProgress(StoreError):
    """Another attempt of this step holds an unexpired in-progress record."""

    def __init__(self, record: StepRecord):
        self.record = record
        super().__init__("step %r of execution %r is already in progress (owner %s, expires at %d ms)"
                         % (record.step, record.execution_id, record.owner, record.expires_at_ms))


class StepPayloadMismatch(StoreError):
    """The step already ran for this execution with a different payload."""


class StepClaimLost(StoreError):
    """Our in-progress record expired and another attempt took it over: our result is not kept."""


class StoreUnavailable(StoreError):
    """The store kept failing (throttled, 5xx, lost responses, timeouts) through the adapter's
    retries: a transient failure, the flow calls the step again later. ``kind`` is "Throttled" or
    "Transient"; ``service_code`` the last error's code (``NetworkError`` without an answer)."""

    def __init__(self, kind: str, service_code: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.service_code = service_code


class LockHeld(StoreError):
    def __init__(self, lock: Lock):
        self.lock = lock
        super().__init__("%s is locked by %s until %d ms" % (lock.resource, lock.owner, lock.expires_at_ms))
