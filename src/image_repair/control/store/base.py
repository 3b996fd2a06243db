"""The state store port: one abstract base with all the logic, small backend methods below it.

Backends (SQLite, Tablestore) store flat rows (``StoredRow``, rows.py) and implement five primitives
(and the pool's ``_delete_if_expired``, pool_rows.py):

* ``_get(pk)``
* ``_put_if_absent_or_expired(row, now_ms, owner=None)``: the one conditional insert that settles
  every race: it writes when no row has that key, when the existing row expired
  (``expires_at_ms <= now_ms``), or (with ``owner``) when the existing row belongs to that owner;
* ``_update_if(row, expected_version)``: replace a row only if it still has the version we read;
* ``_delete(pk, owner=None)``: delete a row (only the owner's, when ``owner`` is given);
* ``_scan(kind)``: every row of one kind (listing executions).

Everything else (key hashing, expiry, statuses, optimistic retries, lock and idempotency rules)
lives here once, so both adapters behave the same and one contract test suite covers both.
"""
import hashlib
import json
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

from .models import (NEVER_MS, ConcurrentUpdate, Execution, ExecutionNotFound, ExecutionStatus, Lock,
                     LockHeld, StepClaimLost, StepInProgress, StepPayloadMismatch, StepRecord, StepResult,
                     StepStatus)
from .pool_rows import PoolRows
from .rows import StoredRow, record_key

# Explicit, stable key prefixes (never derived from module paths, which refactors change).
KIND_EXECUTION = "exec"
KIND_STEP = "step"
KIND_LOCK = "lock"

DEFAULT_STEP_TIMEOUT_S = 900.0     # an in-progress step record older than this is a crashed attempt
DEFAULT_LOCK_TTL_S = 6 * 3600.0    # a repair that holds its image longer than this has died
MAX_OPTIMISTIC_ATTEMPTS = 64


@dataclass(frozen=True)
class StepClaim:
    """The answer of ``begin_step``: either run the step (``completed`` False, we own the record)
    or use the result a previous attempt recorded (``completed`` True)."""
    execution_id: str
    step: str
    owner: str
    completed: bool
    result: Optional[dict[str, Any]] = None


def payload_hash(payload: Any) -> Optional[str]:
    if payload is None:
        return None
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class StateStore(PoolRows, ABC):
    """Executions, per-step idempotency records, per-image locks and the repair-host pool's hosts
    and slot leases (PoolRows, pool_rows.py), settled by conditional writes.

    ``clock`` returns epoch seconds (``time.time`` by default); tests inject a virtual one."""

    def __init__(self, clock: Callable[[], float] = time.time,
                 step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S):
        self._clock = clock
        self.step_timeout_s = step_timeout_s

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # ---- backend primitives -------------------------------------------------------------------
    @abstractmethod
    def _get(self, pk: str) -> Optional[StoredRow]: ...

    @abstractmethod
    def _put_if_absent_or_expired(self, row: StoredRow, now_ms: int, owner: Optional[str] = None) -> bool: ...

    @abstractmethod
    def _update_if(self, row: StoredRow, expected_version: int) -> bool: ...

    @abstractmethod
    def _delete(self, pk: str, owner: Optional[str] = None) -> bool: ...

    @abstractmethod
    def _scan(self, kind: str) -> Iterable[StoredRow]: ...

    def close(self) -> None:
        """Release connections; the default has none."""

    # ---- executions ---------------------------------------------------------------------------
    def create_execution(self, execution_id: str, source_image_id: str,
                         params: Optional[dict] = None) -> tuple[Execution, bool]:
        """Record a new execution; if one with this id exists, return it. -> (execution, created)."""
        now = self.now_ms()
        execution = Execution(execution_id=execution_id, source_image_id=source_image_id,
                              params=dict(params or {}), created_at_ms=now, updated_at_ms=now)
        if self._put_if_absent_or_expired(self._execution_row(execution, now), now):
            return execution, True
        existing = self.get_execution(execution_id)
        if existing is None:   # executions never expire nor get deleted: a backend bug
            raise ConcurrentUpdate("execution %s neither created nor found" % execution_id)
        return existing, False

    def get_execution(self, execution_id: str) -> Optional[Execution]:
        row = self._get(record_key(KIND_EXECUTION, execution_id))
        return None if row is None else self._execution_from_row(row)

    def list_executions(self) -> list[Execution]:
        executions = [self._execution_from_row(row) for row in self._scan(KIND_EXECUTION)]
        return sorted(executions, key=lambda e: (e.created_at_ms, e.execution_id))

    def update_execution(self, execution_id: str, change: Callable[[Execution], Optional[Execution]]) -> Execution:
        """Apply ``change`` (a pure function: it may run more than once) with optimistic
        concurrency: read, change, write only if nobody wrote in between, else read again."""
        pk = record_key(KIND_EXECUTION, execution_id)
        for _ in range(MAX_OPTIMISTIC_ATTEMPTS):
            row = self._get(pk)
            if row is None:
                raise ExecutionNotFound(execution_id)
            current = self._execution_from_row(row)
            changed = change(current.model_copy(deep=True)) or current
            now = self.now_ms()
            changed = changed.model_copy(update={"updated_at_ms": now, "version": row.version + 1})
            if self._update_if(self._execution_row(changed, now), row.version):
                return changed
        raise ConcurrentUpdate("execution %s: %d conflicting writes in a row" % (execution_id, MAX_OPTIMISTIC_ATTEMPTS))

    def record_step_result(self, execution_id: str, step: str, result: dict) -> Execution:
        def add(execution: Execution) -> Execution:
            execution.steps[step] = StepResult(result=dict(result), finished_at_ms=self.now_ms())
            return execution
        return self.update_execution(execution_id, add)

    def finish_execution(self, execution_id: str, status: ExecutionStatus, report: Optional[dict] = None,
                         error: Optional[dict] = None) -> Execution:
        def finish(execution: Execution) -> Execution:
            execution.status = status
            if report is not None:
                execution.report = dict(report)
            if error is not None:
                execution.error = dict(error)
            return execution
        return self.update_execution(execution_id, finish)

    # ---- step idempotency ---------------------------------------------------------------------
    def begin_step(self, execution_id: str, step: str, payload: Any = None,
                   timeout_s: Optional[float] = None) -> StepClaim:
        """Claim the step: insert an in-progress record unless a live one exists.

        Completed before -> a claim carrying the stored result (do not run again). In progress
        elsewhere and not expired -> StepInProgress. Expired in-progress records are taken over
        (the attempt that wrote them crashed or timed out)."""
        pk = record_key(KIND_STEP, "%s\n%s" % (execution_id, step))
        digest = payload_hash(payload)
        timeout_ms = int((self.step_timeout_s if timeout_s is None else timeout_s) * 1000)
        for _ in range(MAX_OPTIMISTIC_ATTEMPTS):
            now = self.now_ms()
            record = StepRecord(execution_id=execution_id, step=step, status=StepStatus.INPROGRESS,
                                expires_at_ms=now + timeout_ms, payload_hash=digest, owner=uuid.uuid4().hex)
            if self._put_if_absent_or_expired(self._step_row(pk, record, 1, now), now):
                return StepClaim(execution_id=execution_id, step=step, owner=record.owner, completed=False)
            row = self._get(pk)
            if row is None:
                continue   # a failed attempt deleted its record between our write and our read
            existing = StepRecord.model_validate_json(row.data)
            if existing.payload_hash and digest and existing.payload_hash != digest:
                raise StepPayloadMismatch("step %r of execution %r already ran with another payload"
                                          % (step, execution_id))
            if existing.status == StepStatus.COMPLETED:
                return StepClaim(execution_id=execution_id, step=step, owner=existing.owner,
                                 completed=True, result=existing.result)
            if not existing.is_expired(self.now_ms()):
                raise StepInProgress(existing)
        raise ConcurrentUpdate("step %r of execution %r: no stable record" % (step, execution_id))

    def complete_step(self, claim: StepClaim, result: dict) -> None:
        """Turn our in-progress record into a completed one holding ``result`` (never expires)."""
        pk = record_key(KIND_STEP, "%s\n%s" % (claim.execution_id, claim.step))
        row = self._get(pk)
        if row is None or row.owner != claim.owner or row.status != StepStatus.INPROGRESS.value:
            raise StepClaimLost("step %r of execution %r: our in-progress record was taken over"
                                % (claim.step, claim.execution_id))
        record = StepRecord.model_validate_json(row.data).model_copy(
            update={"status": StepStatus.COMPLETED, "result": dict(result), "expires_at_ms": NEVER_MS})
        if not self._update_if(self._step_row(pk, record, row.version + 1, self.now_ms()), row.version):
            raise StepClaimLost("step %r of execution %r changed while completing" % (claim.step, claim.execution_id))

    def fail_step(self, claim: StepClaim) -> bool:
        """A failed attempt deletes its record so a retry can run. -> False if it was not ours."""
        return self._delete(record_key(KIND_STEP, "%s\n%s" % (claim.execution_id, claim.step)), owner=claim.owner)

    def get_step(self, execution_id: str, step: str) -> Optional[StepRecord]:
        row = self._get(record_key(KIND_STEP, "%s\n%s" % (execution_id, step)))
        return None if row is None else StepRecord.model_validate_json(row.data)

    def run_step(self, execution_id: str, step: str, work: Callable[[], dict], payload: Any = None,
                 timeout_s: Optional[float] = None) -> dict:
        """Run ``work`` at most once per (execution, step) to completion; a repeat returns the
        recorded result; a failure removes the record and re-raises so a retry can run."""
        claim = self.begin_step(execution_id, step, payload=payload, timeout_s=timeout_s)
        if claim.completed:
            return dict(claim.result or {})
        # Exception, not BaseException: an attempt that is killed (the function's timeout, a signal)
        # runs no code at all, so its claim is left to expire; tests simulate kills the same way.
        try:
            result = work()
        except Exception:
            self.fail_step(claim)
            raise
        self.complete_step(claim, result)
        return result

    # ---- locks --------------------------------------------------------------------------------
    def acquire_lock(self, resource: str, owner: str, ttl_s: float = DEFAULT_LOCK_TTL_S) -> Lock:
        """Take the lock on ``resource``: free, expired (stolen) or already ours (refreshed).
        Held by another owner -> LockHeld."""
        pk = record_key(KIND_LOCK, resource)
        for _ in range(MAX_OPTIMISTIC_ATTEMPTS):
            now = self.now_ms()
            lock = Lock(resource=resource, owner=owner, acquired_at_ms=now, expires_at_ms=now + int(ttl_s * 1000))
            row = StoredRow(pk=pk, kind=KIND_LOCK, key=resource, status="HELD", owner=owner,
                            expires_at_ms=lock.expires_at_ms, version=1, data=lock.model_dump_json(),
                            updated_at_ms=now)
            if self._put_if_absent_or_expired(row, now, owner=owner):
                return lock
            current = self.get_lock(resource)
            if current is not None and not current.is_expired(self.now_ms()):
                raise LockHeld(current)
        raise ConcurrentUpdate("lock on %s: no stable record" % resource)

    def release_lock(self, resource: str, owner: str) -> bool:
        """Release only our own lock. -> False when it is not held by ``owner`` (gone or stolen)."""
        return self._delete(record_key(KIND_LOCK, resource), owner=owner)

    def get_lock(self, resource: str) -> Optional[Lock]:
        row = self._get(record_key(KIND_LOCK, resource))
        return None if row is None else Lock.model_validate_json(row.data)

    # ---- row mapping --------------------------------------------------------------------------
    @staticmethod
    def _execution_row(execution: Execution, now_ms: int) -> StoredRow:
        return StoredRow(pk=record_key(KIND_EXECUTION, execution.execution_id), kind=KIND_EXECUTION,
                         key=execution.execution_id, status=execution.status.value, owner="",
                         expires_at_ms=NEVER_MS, version=execution.version,
                         data=execution.model_dump_json(exclude={"version"}), updated_at_ms=now_ms)

    @staticmethod
    def _execution_from_row(row: StoredRow) -> Execution:
        return Execution.model_validate({**json.loads(row.data), "version": row.version})

    @staticmethod
    def _step_row(pk: str, record: StepRecord, version: int, now_ms: int) -> StoredRow:
        return StoredRow(pk=pk, kind=KIND_STEP, key="%s/%s" % (record.execution_id, record.step),
                         status=record.status.value, owner=record.owner, expires_at_ms=record.expires_at_ms,
                         version=version, data=record.model_dump_json(), updated_at_ms=now_ms)
