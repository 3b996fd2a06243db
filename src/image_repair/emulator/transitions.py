"""Per-resource transition overrides, in the style of moto's ``set_transition``.

The latency model (clock.LatencyModel) times every lifecycle of every resource alike. A test can
override that for one resource, one lifecycle or one resource kind:

    backend.set_transition(instance_id, seconds={"Starting": 120})   # this instance: 120 s Starting
    backend.set_transition("image.check", manual=True)                # every image check waits...
    backend.step(image_id + "/check")                                 # ...until the test steps it
    backend.set_transition("snapshot", seconds={"progressing": 0})    # every snapshot at once

Keys, from the most to the least specific (the most specific one that names a status wins):
- a resource ID (``i-...``, ``d-...``, ``s-...``, ``m-...``, ``t-...``), or ``<image ID>/check`` for
  an image's check (the names ``faults.stick`` uses);
- a lifecycle, a key of ``clock.LIFECYCLES`` (``instance.create``, ``instance.reboot``...);
- a resource kind: what comes before the dot in a lifecycle (``instance``, ``image``...).

``seconds`` maps a status to its stay (the statuses a lifecycle waits in: every one but its last);
statuses it does not name keep the model's figure. ``manual=True`` freezes the progression: a
resource takes a step only when ``backend.step(resource_id)`` grants it. An override applies to
every lifecycle scheduled after it is set and, when set for a resource ID, at once to the steps
that resource still has ahead (a stay is counted from when the resource entered its status).

An invocation's Running stay is its command's run time (the command's behaviour, a fault, or the
real run in the disk-backed mode): it cannot be overridden (``manual`` still holds it there).
"""
import threading
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Tuple

from .clock import LIFECYCLES, Progress

# Stays decided elsewhere, refused as overrides: (lifecycle, status).
FIXED_STAYS = {("invocation.run", "Running"): "the Running stay of an invocation is its command's run time"}


def kind_of(lifecycle: str) -> str:
    return lifecycle.split(".", 1)[0]


def waiting_statuses(lifecycles: List[str]) -> List[str]:
    """The statuses with a stay in any of ``lifecycles`` (each one's statuses but its last)."""
    return [status for name in lifecycles for status in LIFECYCLES[name][:-1]]


def lifecycles_of(key: str) -> List[str]:
    """The lifecycles a lifecycle or kind key covers ([] when ``key`` is neither)."""
    if key in LIFECYCLES:
        return [key]
    return [name for name in LIFECYCLES if kind_of(name) == key]


def lifecycle_keys() -> List[str]:
    """Every lifecycle and kind key, sorted (for error messages)."""
    return sorted(set(LIFECYCLES) | {kind_of(name) for name in LIFECYCLES})


@dataclass
class Transition:
    """One override: stays by status, and whether the progression waits for ``step``."""
    seconds: Dict[str, float] = field(default_factory=dict)
    manual: Optional[bool] = None  # None: not said (a less specific key or the default decides)


class Transitions:
    """The overrides a test set, by key (see the module's docstring)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_key: Dict[str, Transition] = {}

    def reset(self) -> None:
        with self._lock:
            self._by_key.clear()

    def set(self, key: str, lifecycles: List[str], seconds: Optional[Mapping[str, float]] = None,
            manual: Optional[bool] = None) -> Transition:
        """Record an override for ``key``, whose resources walk ``lifecycles``; it is merged with
        what was set before for the same key. Refuses (ValueError) a status none of the
        lifecycles waits in, a fixed stay, a negative or non-number stay, or nothing to set."""
        if seconds is None and manual is None:
            raise ValueError("set_transition(%r): give seconds={status: stay} or manual=True|False" % key)
        stays: Dict[str, float] = {}
        for status, value in (seconds or {}).items():
            if status not in waiting_statuses(lifecycles):
                raise ValueError("set_transition(%r): %r is not a status it waits in (%s)"
                                 % (key, status, ", ".join(waiting_statuses(lifecycles))))
            for name in lifecycles:
                if (name, status) in FIXED_STAYS:
                    raise ValueError("set_transition(%r): %s" % (key, FIXED_STAYS[(name, status)]))
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError("set_transition(%r): the stay in %s must be seconds >= 0, not %r"
                                 % (key, status, value))
            stays[status] = float(value)
        with self._lock:
            override = self._by_key.setdefault(key, Transition())
            override.seconds.update(stays)
            if manual is not None:
                override.manual = manual
            return Transition(dict(override.seconds), override.manual)

    def plan(self, resource_key: str, lifecycle: str, durations: List[float]) -> Tuple[List[float], bool]:
        """The stays and the manual flag for ``lifecycle`` started for ``resource_key``: the
        model's ``durations`` with the overrides of the kind, the lifecycle, then the resource."""
        states = LIFECYCLES[lifecycle]
        stays = dict(zip(states, durations))
        manual = False
        with self._lock:
            for key in (kind_of(lifecycle), lifecycle, resource_key):
                override = self._by_key.get(key)
                if override is None:
                    continue
                stays.update((s, v) for s, v in override.seconds.items() if s in stays)
                if override.manual is not None:
                    manual = override.manual
        return [stays[state] for state in states[:-1]], manual


def retime(progress: Progress, override: Transition, now: float) -> None:
    """Apply a resource's new override to the steps it still has ahead: each named status's stay
    is replaced; leaving manual mode restarts the current stay now (the time spent frozen
    does not count)."""
    if override.seconds:
        progress.steps = [(override.seconds.get(status, stay), nxt)
                          for status, (stay, nxt) in zip(progress.stays(), progress.steps)]
    if override.manual is not None:
        if progress.manual and not override.manual:
            progress.since = now
        progress.manual = override.manual
