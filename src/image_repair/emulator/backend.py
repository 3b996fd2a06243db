"""The emulated ECS region: state, clock, transitions, faults and the API call log.

``EcsBackend`` is moto's backend: its typed methods (models/: ``run_instances``,
``create_image``...) change state with plain Python values and are what tests and the
disk-backed mode call directly. ``handle(action, flat_params)`` is the wire's entry point: the
gateway (HTTP, V3 and RPC signatures, wire.py) and both transports (``responses`` in-process,
the threaded server) call it; it finds the action's wire method by name (dispatch.py).
"""
import random
import threading
from collections import Counter
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from .clock import LatencyModel, Progress, VirtualClock
from .dispatch import CallRecord, CallResult, EcsResponses
from .faults import Faults
from .models.commands import CommandBackend
from .models.disks import DiskBackend
from .models.images import ImageBackend
from .models.instance_types import InstanceTypeBackend
from .models.instances import InstanceBackend
from .models.storage import StorageBackend
from .models.tags import TagBackend
from .ratelimit import RateLimits
from .resources import (Account, CheckItem, Command, Disk, Image, Instance, Invocation, Network,
                        Snapshot, new_id)
from .transitions import Transitions, lifecycle_keys, lifecycles_of, retime

__all__ = ["EcsBackend", "CallRecord", "CallResult", "Account", "default_detector"]


class EcsBackend(ImageBackend, InstanceBackend, InstanceTypeBackend, StorageBackend, DiskBackend, CommandBackend,
                 TagBackend):
    """One account's view of one ECS region."""

    def __init__(self, region: str = "cn-hangzhou", latency: Optional[LatencyModel] = None,
                 seed: Optional[int] = 0):
        self.region = region
        self.latency = latency or LatencyModel.named("immediate")
        self.clock = VirtualClock(speed=self.latency.speed)
        self.faults = Faults()
        self.rate_limits = RateLimits()  # API flow control (ratelimit.py): off until configured
        self.transitions = Transitions()
        self.lock = threading.RLock()
        self._depth = 0  # operations in progress on this thread (under the lock): settle once
        self.rng = random.Random(seed)
        self.accounts: Dict[str, Account] = {}
        self.network = Network([], {}, {}, [])
        self.images: Dict[str, Image] = {}
        self.instances: Dict[str, Instance] = {}
        self.disks: Dict[str, Disk] = {}
        self.snapshots: Dict[str, Snapshot] = {}
        self.commands: Dict[str, Command] = {}
        self.invocations: Dict[str, Invocation] = {}
        self.calls: List[CallRecord] = []
        self.responses = EcsResponses(self)  # the wire methods, ClientToken and paging memory
        # Hooks: what a finished image check reports, and what a command does.
        self.detector: Callable[["EcsBackend", Image], List[CheckItem]] = default_detector
        self.command_handlers: List[Callable] = []
        self.local = None  # the disk-backed mode (localcloud.LocalCloud) when attached
        # The seed this backend was built from, and how reset() applies it again (both set by
        # seed.build_backend, so that this module needs nothing from seed.py).
        self.seed_data: Optional[dict] = None
        self.reseed: Optional[Callable[["EcsBackend"], None]] = None
        # How DescribeImages spells check item names: "prefixed" or "bare" (seed check_item_names)
        self.check_item_spelling = "prefixed"

    # --- the wire's entry point -----------------------------------------------------------------
    @classmethod
    def actions(cls) -> List[str]:
        """The API actions the emulator answers."""
        return EcsResponses.actions()

    def handle(self, action: str, flat: Dict[str, str], access_key_id: Optional[str] = None,
               style: str = "direct") -> CallResult:
        """Run one action from its flat wire parameters; raises ApiError for API errors (already
        logged)."""
        return self.responses.handle(action, flat, access_key_id, style)

    def log_rejected(self, action: str, error_code: str) -> None:
        """A request the gateway refused before any action ran (signature, timestamp...)."""
        with self.lock:
            self.calls.append(CallRecord(action, {}, self.clock.now(), error_code=error_code, style="rejected"))

    @contextmanager
    def operation(self) -> Iterator[None]:
        """Hold the lock for one operation; the outermost one first settles every status (so a
        typed method called from a wire method, or from another typed method, settles once)."""
        with self.lock:
            if self._depth == 0:
                self.settle()
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1

    # --- time -----------------------------------------------------------------------------------
    def settle(self) -> None:
        """Bring every resource's status up to the clock (lazy, so replies match the state)."""
        with self.lock:
            now = self.clock.now()
            self.release_expired_instances()
            for kind in (self.instances, self.disks, self.snapshots):
                for res in list(kind.values()):
                    ended = self.faults.ending.pop(res.id, None)
                    if ended is not None:                 # a fault: the resource ends there, now
                        res.progress.status, res.progress.steps = ended, []
                    if not res.progress.steps:
                        continue
                    res.progress.stuck_in = self.faults.stuck.get(res.id)
                    if kind is self.disks:
                        self.settle_disk(res, now)      # a detach ends off the instance
                    else:
                        res.progress.settle(now)
            for image in self.images.values():
                # a settled image (no step ahead, check included) cannot change: skip it, so a call
                # on an account of 10,000 images does not pay for every image (the sweep's bench)
                if image.progress.steps or image.check.steps:
                    self._settle_image(image, now)
            for invocation in list(self.invocations.values()):
                for rec in invocation.records:
                    self._settle_record(invocation, rec, now)

    def _settle_image(self, image: Image, now: float) -> None:
        image.progress.stuck_in = self.faults.stuck.get(image.id)
        entered = image.progress.settle(now)
        if "Available" in entered and image.detection_strategy == "Standard":
            self.schedule(image.check, image.id + "/check", "image.check", [self.latency.image_check],
                          start=image.progress.since)
            if self.local is not None:
                self.local.check_started(image)
        image.check.stuck_in = self.faults.stuck.get(image.id + "/check")

        def on_check(status: str) -> None:
            if status == "Finished":
                image.check_items = self.detector(self, image)
        image.check.settle(now, on_check)

    def advance(self, seconds: float) -> None:
        """Move the virtual clock and settle (tests)."""
        self.clock.advance(seconds)
        self.settle()

    def schedule(self, progress: Progress, resource_key: str, lifecycle: str, durations: List[float],
                 start: Optional[float] = None) -> None:
        """Start ``lifecycle`` on ``progress`` (now, or at ``start``): the latency model's
        ``durations`` with the transition overrides for the resource, lifecycle or kind."""
        stays, manual = self.transitions.plan(resource_key, lifecycle, durations)
        progress.schedule(self.clock.now() if start is None else start, lifecycle, stays)
        progress.manual, progress.granted = manual, 0

    def new_progress(self, lifecycle: str, durations: List[float], resource_key: str) -> Progress:
        progress = Progress("", 0.0)
        self.schedule(progress, resource_key, lifecycle, durations)
        return progress

    def new_id(self, prefix: str) -> str:
        return new_id(prefix, self.rng, self.region)

    # --- transition overrides (transitions.py) ------------------------------------------------------
    def set_transition(self, key: str, seconds: Optional[Mapping[str, float]] = None,
                       manual: Optional[bool] = None) -> None:
        """Override the stays (``seconds={status: stay}``) or freeze the progression
        (``manual=True``) of one resource (its ID, or ``<image ID>/check``), one lifecycle
        (``"instance.create"``) or one resource kind (``"instance"``). ValueError when the key
        names nothing or a status it does not wait in."""
        with self.lock:
            self.settle()
            lifecycles, progresses = self._transition_subject(key)
            override = self.transitions.set(key, lifecycles, seconds, manual)
            now = self.clock.now()
            for progress in progresses:
                retime(progress, override, now)
            self.settle()

    def step(self, resource_id: str, times: int = 1) -> List[str]:
        """Take the next ``times`` steps of a resource now, whatever their stays (a manual
        progression moves only this way); returns its status(es) afterwards. ValueError when the
        steps cannot all be taken (none ahead, stuck by a fault, or held by real work)."""
        if times < 1:
            raise ValueError("step(%r): times must be at least 1" % resource_id)
        with self.lock:
            self.settle()
            _, progresses = self._transition_subject(resource_id)
            if not progresses:
                raise ValueError("step(%r): give a resource ID (or <image ID>/check), not a lifecycle or kind"
                                 % resource_id)
            for progress in progresses:
                progress.granted += times
            self.settle()
            untaken = sum(progress.granted for progress in progresses)
            for progress in progresses:
                progress.granted = 0
            if untaken:
                raise ValueError("step(%r): %d of the %d steps asked could not be taken (status %s: no step "
                                 "ahead, stuck or held)" % (resource_id, untaken, times * len(progresses),
                                                            ", ".join(p.status or '""' for p in progresses)))
            return [progress.status for progress in progresses]

    def _transition_subject(self, key: str) -> Tuple[List[str], List[Progress]]:
        """(lifecycles, progresses) of a transition key: a lifecycle or kind (no progress: it
        applies to lifecycles scheduled later), else a resource and its progress(es)."""
        lifecycles = lifecycles_of(key)
        if lifecycles:
            return lifecycles, []
        if key.endswith("/check") and key[:-len("/check")] in self.images:
            return ["image.check"], [self.images[key[:-len("/check")]].check]
        for kind, store in (("instance", self.instances), ("disk", self.disks), ("snapshot", self.snapshots)):
            if key in store:
                return lifecycles_of(kind), [store[key].progress]
        if key in self.images:
            return ["image.create"], [self.images[key].progress]
        if key in self.invocations:
            return ["invocation.run"], [record.progress for record in self.invocations[key].records]
        raise ValueError("%r is neither a resource of this backend, nor a lifecycle or kind (%s)"
                         % (key, ", ".join(lifecycle_keys())))

    # --- inspection for tests -----------------------------------------------------------------------
    @property
    def access_key_id(self) -> str:
        """The first seeded account's AccessKey ID (what a test's client signs with)."""
        return next(iter(self.accounts))

    @property
    def access_key_secret(self) -> str:
        return self.accounts[self.access_key_id].access_key_secret

    def call_counts(self) -> Counter:
        return Counter(call.action for call in self.calls)

    def resources_by_tag(self, key: str, value: Optional[str] = None) -> List[Tuple[str, str]]:
        """Live resources carrying tag ``key`` (=``value``): [(resource type, id)]."""
        self.settle()
        found = []
        for kind, store in (("instance", self.instances), ("disk", self.disks),
                            ("snapshot", self.snapshots), ("image", self.images)):
            for res in store.values():
                if key in res.tags and (value is None or res.tags[key] == value):
                    found.append((kind, res.id))
        return found

    def reset(self) -> None:
        """Back to the seeded state: every resource, call, token, fault and transition override
        is forgotten, then ``reseed`` (set by seed.build_backend) applies the seed again."""
        with self.lock:
            for store in (self.images, self.instances, self.disks, self.snapshots,
                          self.commands, self.invocations):
                store.clear()
            self.calls.clear()
            self.responses = EcsResponses(self)
            self.faults.reset()
            self.transitions.reset()
            self.rate_limits.refill()
            if self.reseed is not None:
                self.reseed(self)


def default_detector(backend: EcsBackend, image: Image) -> List[CheckItem]:
    """Without a disk behind the image the emulator cannot inspect it: the check reports the
    image's informational items and no risk. Tests set ``backend.detector`` to decide risks
    (the disk-backed mode runs the agent's check-disk instead)."""
    return [CheckItem("Platform", image.platform), CheckItem("Architecture", image.architecture),
            CheckItem("BootMode", image.boot_mode or "BIOS"), CheckItem("SystemImage", "Supported")]
