"""Fault injection for the Tablestore emulator, like the ECS emulator's (docs/store.md, "Faults").

    faults.fail_next("PutRow", "OTSServerBusy", times=2)   # answered instead of running: the write is not applied
    faults.fail_next("*", "OTSInternalServerError")       # "*": the next call of any operation
    faults.lose_response("PutRow", "drop")    # applied, then the connection closes without an answer
    faults.lose_response("PutRow", "hold")    # applied, then no answer until the client gives up (its socket timeout)
    faults.lose_response("PutRow", "error")   # applied, then 500 OTSInternalServerError
    faults.lose_response("PutRow", "timeout") # applied, then 503 OTSTimeout
    faults.lose_response("PutRow", "stall")   # no answer; applied only after the client gave up (a late write)
    faults.interleave("PutRow", lambda backend: ...)   # another writer acts just before this call is applied

Faults are queued per operation, first planned first used; a call takes its operation's queue
before the "*" queue.
"""
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, Optional

from .errors import CATALOGUE

LOST_MODES = ("drop", "hold", "error", "timeout", "stall")


@dataclass(frozen=True)
class Fault:
    kind: str                       # "fail", "interleave" or one of LOST_MODES
    code: Optional[str] = None      # with "fail": the error answered
    message: Optional[str] = None
    action: Optional[Callable[[Any], None]] = None   # with "interleave": run on the backend first


class TablestoreFaults:
    def __init__(self):
        self._queues: Dict[str, Deque[Fault]] = {}
        self._lock = threading.Lock()

    def fail_next(self, operation: str, code: str, times: int = 1, message: Optional[str] = None) -> None:
        if code not in CATALOGUE:
            raise ValueError("unknown Tablestore error code %r" % code)
        self._plan(operation, Fault("fail", code, message), times)

    def lose_response(self, operation: str, mode: str = "drop", times: int = 1) -> None:
        if mode not in LOST_MODES:
            raise ValueError("mode must be one of %s, not %r" % (", ".join(LOST_MODES), mode))
        self._plan(operation, Fault(mode), times)

    def interleave(self, operation: str, action: Callable[[Any], None], times: int = 1) -> None:
        """Run ``action(backend)`` right before the next call of ``operation`` is applied (a
        concurrent writer, deterministically between two of our calls)."""
        self._plan(operation, Fault("interleave", action=action), times)

    def take(self, operation: str) -> Optional[Fault]:
        """The fault this call meets, if any (consumed)."""
        with self._lock:
            for key in (operation, "*"):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
        return None

    def pending(self) -> int:
        with self._lock:
            return sum(len(queue) for queue in self._queues.values())

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()

    def _plan(self, operation: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queues.setdefault(operation, deque()).extend([fault] * times)
