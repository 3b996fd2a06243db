"""The state store's public records and errors (pydantic models at the edges).

Every timestamp is an integer count of milliseconds since the epoch (``*_ms``): one unit for
every field, so expiry is a plain comparison. Expiry itself is never stored as a status: a record
is expired when ``expires_at_ms <= now_ms``.
"""
from enum import Enum
from typing import Any, Optional

from pydantic import BaseModel, Field

# "Never expires": far in the future but still a signed 64-bit integer (Tablestore INTEGER).
NEVER_MS = 2 ** 62


class ExecutionStatus(str, Enum):
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class StepStatus(str, Enum):
    INPROGRESS = "INPROGRESS"
    COMPLETED = "COMPLETED"


class StepResult(BaseModel):
    """What one workflow step produced, as recorded on its execution."""
    result: dict[str, Any] = Field(default_factory=dict)
    finished_at_ms: int


class Execution(BaseModel):
    execution_id: str
    source_image_id: str
    params: dict[str, Any] = Field(default_factory=dict)
    status: ExecutionStatus = ExecutionStatus.RUNNING
    created_at_ms: int
    updated_at_ms: int
    steps: dict[str, StepResult] = Field(default_factory=dict)
    report: Optional[dict[str, Any]] = None
    error: Optional[dict[str, Any]] = None
    # Optimistic-concurrency version: every update must name the version it read.
    version: int = 1


class StepRecord(BaseModel):
    """Idempotency record of one step of one execution."""
    execution_id: str
    step: str
    status: StepStatus
    expires_at_ms: int
    payload_hash: Optional[str] = None
    result: Optional[dict[str, Any]] = None
    owner: str

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_at_ms <= now_ms


class Lock(BaseModel):
    """The lock on one resource (a source image): held by ``owner`` until ``expires_at_ms``."""
    resource: str
    owner: str
    acquired_at_ms: int
    expires_at_ms: int

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
