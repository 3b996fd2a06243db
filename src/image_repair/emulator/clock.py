"""The emulator's virtual clock, its latency models, and state transitions kept as data.

Every resource status change is a *step* scheduled on the virtual clock: "stay N seconds in the
current status, then enter the next one". The backend settles steps lazily, before each call,
against ``clock.now()``; a reply and the stored state can therefore never disagree.

Progression modes (``--latency``):
- ``immediate``: every step lasts 0 s, the next read sees the final status; no deletion guard.
- ``manual``: realistic durations, but the clock only moves when a test calls ``advance()``.
- ``realistic``: realistic durations on a clock running at wall-clock speed.
- ``fast``: realistic durations on a clock running ``FAST_SPEED`` times faster than the wall
  clock (a 60 s protection window passes in 0.1 s), for end-to-end scripts and servers.
"""
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Callable, Dict, List, Optional, Tuple

FAST_SPEED = 600.0

# Lifecycles: the statuses a resource walks through, as data. Each consecutive pair is one
# transition; its duration comes from the latency model (LatencyModel.stay).
LIFECYCLES: Dict[str, List[str]] = {
    "instance.create": ["Pending", "Starting", "Running"],
    "instance.reboot": ["Stopping", "Starting", "Running"],
    "instance.stop": ["Stopping", "Stopped"],
    "disk.create": ["Creating", "In_use"],
    "disk.detach": ["Detaching", "Available"],  # DetachDisk, or its instance released without it
    "disk.provision": ["Creating", "Available"],  # CreateDisk: a disk on no instance
    "disk.attach": ["Attaching", "In_use"],  # AttachDisk
    "snapshot.create": ["progressing", "accomplished"],
    "image.create": ["Creating", "Available"],
    "image.check": ["Processing", "Finished"],  # before it starts the status is ""
    "invocation.run": ["Pending", "Running", "Finished"],
}


@dataclass
class LatencyModel:
    """Durations in virtual seconds. The realistic figures are typical observed values for ECS
    (cn-hangzhou, ESSD PL0, 20 GiB system disk), not guarantees:

    - an instance is Pending ~5 s, Starting ~25 s: Running about 30 s after RunInstances;
    - stop ~10 s, reboot ~30 s;
    - a new disk attaches while its instance boots (In_use when the instance is Starting);
    - a disk detaches (DetachDisk, or its instance released while DeleteWithInstance is false) in
      ~60 s: Detaching, then Available (DetachDisk's documented "approximately 1 minute"; for a
      release no figure is published, the same is assumed);
    - CreateDisk: Creating ~10 s, then Available; AttachDisk: Attaching ~5 s, then In_use (both
      asynchronous; no figure is published: assumed, docs/cloud-contracts.md "Disks for the pool");
    - a first full snapshot: ~20 s of setup, then ~100 MiB/s of the data written (a disk or
      seeded snapshot says how much with ``data_gib``; else its whole size: 20 GiB ~4 minutes);
    - CreateImage from an accomplished snapshot: ~60 s + ~3 s per GiB (20 GiB: ~2 minutes);
    - the image check (DetectionStrategy=Standard) runs ~5 minutes after the image is Available;
    - Cloud Assistant delivers an invocation in ~1 s; a command runs ``command_seconds`` unless
      its behaviour says otherwise;
    - DeleteInstance answers IncorrectInstanceStatus.Initializing for 60 s after creation.
    """
    instance_pending: float = 5.0
    instance_starting: float = 25.0
    instance_stopping: float = 10.0
    instance_reboot_starting: float = 20.0
    disk_detach: float = 60.0
    disk_create: float = 10.0
    disk_attach: float = 5.0
    snapshot_setup: float = 20.0
    snapshot_mib_per_second: float = 100.0
    image_base: float = 60.0
    image_per_gib: float = 3.0
    image_check: float = 300.0
    invocation_delivery: float = 1.0
    command_seconds: float = 5.0
    delete_protection: float = 60.0
    speed: float = 1.0  # virtual seconds per wall-clock second; 0 = manual

    @classmethod
    def named(cls, name: str) -> "LatencyModel":
        if name == "immediate":
            zero = {f.name: 0.0 for f in fields(cls) if f.name != "snapshot_mib_per_second"}
            zero["snapshot_mib_per_second"] = float("inf")
            return cls(**zero)
        if name == "manual":
            return cls(speed=0.0)
        if name == "realistic":
            return cls()
        if name == "fast":
            return cls(speed=FAST_SPEED)
        raise ValueError("unknown latency model %r (immediate, manual, realistic, fast)" % name)

    @classmethod
    def from_dict(cls, data: dict) -> "LatencyModel":
        """A named base (``model``: immediate|manual|realistic|fast) with figures overridden."""
        data = dict(data)
        model = cls.named(data.pop("model", "realistic"))
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError("unknown latency figures: %s" % ", ".join(sorted(unknown)))
        for key, value in data.items():
            setattr(model, key, float(value))
        return model

    def snapshot_seconds(self, size_gib: int) -> float:
        return self.snapshot_setup + size_gib * 1024.0 / self.snapshot_mib_per_second

    def image_seconds(self, size_gib: int) -> float:
        return self.image_base + self.image_per_gib * size_gib


class VirtualClock:
    """Epoch seconds that start at the wall clock and run at ``speed`` (0: only ``advance``)."""

    def __init__(self, speed: float = 1.0, start: Optional[float] = None):
        self._lock = threading.Lock()
        self._base = time.time() if start is None else start
        self._wall0 = time.monotonic()
        self._speed = speed
        self._offset = 0.0

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> float:
        with self._lock:
            return self._base + self._offset + (time.monotonic() - self._wall0) * self._speed

    def advance(self, seconds: float) -> float:
        """Move virtual time forward (tests, manual mode); returns the new now()."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()


@dataclass
class Progress:
    """A resource's status and the steps still ahead: [(seconds to stay, next status), ...].

    A step is taken when its stay is over on the virtual clock, or at once when a test grants it
    (``granted``, see ``EcsBackend.step``); a ``manual`` progress takes granted steps only
    (transitions.py). ``stuck_in`` (a fault) and ``held`` (real work in the disk-backed mode)
    stop it whatever the clock or the grants say."""
    status: str
    since: float
    steps: List[Tuple[float, str]] = field(default_factory=list)
    stuck_in: Optional[str] = None  # fault injection: never leave this status
    held: bool = False  # real work in progress (disk-backed mode): stay until released
    lifecycle: str = ""  # the LIFECYCLES key last scheduled ("" for a seeded, settled status)
    manual: bool = False  # steps are taken only when granted, never by the clock
    granted: int = 0  # steps a test asked for that are still to take, now, whatever their stay

    def schedule(self, now: float, lifecycle: str, durations: List[float]) -> None:
        """Start ``lifecycle`` (a LIFECYCLES key) now; ``durations[i]`` is the stay in state i."""
        states = LIFECYCLES[lifecycle]
        if len(durations) != len(states) - 1:
            raise ValueError("%s needs %d durations" % (lifecycle, len(states) - 1))
        self.status, self.since, self.lifecycle = states[0], now, lifecycle
        self.steps = list(zip(durations, states[1:]))

    def stays(self) -> List[str]:
        """The statuses whose stays are still ahead, in order: the current one, then each next
        status but the last (``steps[i][0]`` is the stay in ``stays()[i]``)."""
        return [self.status] + [status for _, status in self.steps[:-1]]

    def settle(self, now: float, on_enter: Optional[Callable[[str], None]] = None) -> List[str]:
        """Take every step whose time has come (or that was granted); returns the statuses
        entered, in order. ``on_enter(status)`` runs as each status is entered and may rewrite
        the steps ahead (a command's run time is known only once it starts)."""
        entered = []
        while self.steps and self.status != self.stuck_in and not self.held:
            stay, nxt = self.steps[0]
            if self.granted > 0:
                self.granted -= 1
                self.since = now
            elif self.manual or now < self.since + stay:
                break
            else:
                self.since += stay
            self.steps.pop(0)
            self.status = nxt
            entered.append(nxt)
            if on_enter is not None:
                on_enter(nxt)
        return entered

    def fraction(self, now: float) -> float:
        """How far through the current step (0..1); 1 when nothing is pending."""
        if not self.steps:
            return 1.0
        stay = self.steps[0][0]
        return 1.0 if stay <= 0 else max(0.0, min(1.0, (now - self.since) / stay))
