"""Fault injection: what a test can make the emulated cloud do wrong.

- ``fail_next(action, code, times)``: the next ``times`` calls of ``action`` get ``code``
  (Throttling.User, ServiceUnavailable, InternalError, QuotaExceed.*...), nothing committed.
- ``lose_response(action, times, mode)``: the call is committed, then its response is lost:
  the client sees ``InternalError`` (mode "error") or a dropped connection (mode "timeout").
- ``stick(resource_id, status)``: the resource never leaves ``status``.
- ``end_in(resource_id, status)``: an instance, disk or snapshot ends in ``status`` at once, its
  steps ahead dropped (a snapshot ``failed``, as ECS reports one that could not be made).
- ``fail_command(match, exit_code, output)`` / ``timeout_command(match)``: commands whose name
  or content contains ``match`` fail with that exit code, or run past their Timeout.
- ``cloud_assistant_down(instance_id)``: the instance's Cloud Assistant agent is not running.
"""
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional

from .errors import ApiError, error


@dataclass
class CommandFault:
    match: str
    exit_code: Optional[int]  # None: times out
    output: str = ""


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._errors: Dict[str, List[str]] = {}
        self._lost: Dict[str, List[str]] = {}
        self.stuck: Dict[str, str] = {}
        self.ending: Dict[str, str] = {}
        self.command_faults: List[CommandFault] = []
        self.assistant_down: set = set()

    def reset(self) -> None:
        self.__init__()

    def fail_next(self, action: str, code: str, times: int = 1) -> None:
        with self._lock:
            self._errors.setdefault(action, []).extend([code] * times)

    def lose_response(self, action: str, times: int = 1, mode: str = "timeout") -> None:
        if mode not in ("timeout", "error"):
            raise ValueError("mode is 'timeout' or 'error'")
        with self._lock:
            self._lost.setdefault(action, []).extend([mode] * times)

    def stick(self, resource_id: str, status: str) -> None:
        self.stuck[resource_id] = status

    def end_in(self, resource_id: str, status: str) -> None:
        self.ending[resource_id] = status

    def fail_command(self, match: str, exit_code: int = 1, output: str = "") -> None:
        self.command_faults.append(CommandFault(match, exit_code, output))

    def timeout_command(self, match: str) -> None:
        self.command_faults.append(CommandFault(match, None))

    def cloud_assistant_down(self, instance_id: str) -> None:
        self.assistant_down.add(instance_id)

    # Used by the backend's dispatcher.
    def take_error(self, action: str) -> Optional[ApiError]:
        with self._lock:
            queue = self._errors.get(action)
            return error(queue.pop(0)) if queue else None

    def take_lost(self, action: str) -> Optional[str]:
        with self._lock:
            queue = self._lost.get(action)
            return queue.pop(0) if queue else None

    def command_fault(self, name: str, content: str) -> Optional[CommandFault]:
        for fault in self.command_faults:
            if fault.match in name or fault.match in content:
                return fault
        return None
