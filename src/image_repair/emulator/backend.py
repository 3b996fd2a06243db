"""The emulated ECS region: state, clock, faults, ClientToken memory and the API call log.

``EcsBackend.handle(action, flat_params)`` is the one entry point; the wire layer (HTTP, V3 and
RPC signatures) and both transports (``responses`` in-process, the threaded server) call it.
Actions are methods found by name (see ``actions/``); the backend itself is usable without HTTP.
"""
import copy
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .actions.commands import CommandActions
from .actions.images import ImageActions
from .actions.instances import InstanceActions
from .actions.storage import StorageActions
from .actions.tags import TagActions
from .clock import LatencyModel, Progress, VirtualClock
from .errors import ApiError, error
from .faults import Faults
from .params import Params
from .resources import (CheckItem, Command, Disk, Image, Instance, Invocation, Network,
                        Snapshot, new_id, request_id)

# Actions taking a ClientToken (ECS API reference).
TOKEN_ACTIONS = {"RunInstances", "CreateSnapshot", "CreateDisk", "CreateImage", "RunCommand",
                 "InvokeCommand", "SendFile"}
# Cloud Assistant reports ClientToken errors with its own codes and statuses.
CLOUD_ASSISTANT = {"RunCommand", "InvokeCommand", "SendFile"}


@dataclass
class CallRecord:
    action: str
    params: Dict[str, str]
    time: float
    error_code: Optional[str] = None
    lost: Optional[str] = None
    access_key_id: Optional[str] = None
    style: str = "direct"  # direct | V3 | RPC


@dataclass
class CallResult:
    body: dict
    lost: Optional[str] = None  # "timeout" | "error": committed, but the client must not see it


@dataclass
class Account:
    access_key_id: str
    access_key_secret: str
    account_id: str


class EcsBackend(ImageActions, InstanceActions, StorageActions, CommandActions, TagActions):
    """One account's view of one ECS region."""

    def __init__(self, region: str = "cn-hangzhou", latency: Optional[LatencyModel] = None,
                 seed: Optional[int] = 0):
        self.region = region
        self.latency = latency or LatencyModel.named("immediate")
        self.clock = VirtualClock(speed=self.latency.speed)
        self.faults = Faults()
        self.lock = threading.RLock()
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
        self._tokens: Dict[Tuple[str, str], Tuple[tuple, dict]] = {}
        # Hooks: what a finished image check reports, and what a command does.
        self.detector: Callable[["EcsBackend", Image], List[CheckItem]] = default_detector
        self.command_handlers: List[Callable] = []
        self.local = None  # the disk-backed mode (localcloud.LocalCloud) when attached
        self.seed_data: Optional[dict] = None  # what reset() restores (set by seed.build_backend)
        # How DescribeImages spells check item names: "prefixed" or "bare" (seed check_item_names)
        self.check_item_spelling = "prefixed"

    # --- dispatch -------------------------------------------------------------------------
    @classmethod
    def actions(cls) -> List[str]:
        return sorted(name for name in dir(cls) if getattr(getattr(cls, name), "is_ecs_action", False))

    def handle(self, action: str, flat: Dict[str, str], access_key_id: Optional[str] = None,
               style: str = "direct") -> CallResult:
        """Run one action; raises ApiError for API errors (already logged)."""
        with self.lock:
            record = CallRecord(action, dict(flat), self.clock.now(), access_key_id=access_key_id,
                                style=style)
            self.calls.append(record)
            try:
                body = self._run(action, Params(flat))
            except ApiError as err:
                record.error_code = err.code
                raise
            record.lost = self.faults.take_lost(action)
            return CallResult(body, record.lost)

    def _run(self, action: str, params: Params) -> dict:
        method = getattr(self, action, None)
        if method is None or not getattr(method, "is_ecs_action", False):
            raise error("InvalidAction.NotFound")
        injected = self.faults.take_error(action)
        if injected is not None:
            raise injected
        self.settle()
        region = params.str("RegionId")
        if region is not None and region != self.region:
            raise error("InvalidRegionId.NotFound")
        token = params.str("ClientToken") if action in TOKEN_ACTIONS else None
        if token is not None:
            assistant = action in CLOUD_ASSISTANT
            if len(token) > 64 or not token.isascii():
                raise error("InvalidClientToken.Malformed" if assistant else "InvalidClientToken.ValueNotSupported")
            remembered = self._tokens.get((action, token))
            if remembered is not None:
                fingerprint, body = remembered
                if fingerprint != params.fingerprint():
                    mismatch = error("IdempotentParameterMismatch")
                    if assistant:
                        mismatch.status = 403
                        mismatch.message = "The specified parameter has changed while using an already used clientToken."
                    raise mismatch
                return dict(copy.deepcopy(body), RequestId=request_id())
        body = method(params)
        body["RequestId"] = request_id()
        if token is not None:
            self._tokens[(action, token)] = (params.fingerprint(), copy.deepcopy(body))
        return body

    # --- time -----------------------------------------------------------------------------
    def settle(self) -> None:
        """Bring every resource's status up to the clock (lazy, so replies match the state)."""
        with self.lock:
            now = self.clock.now()
            self.release_expired_instances()
            for kind in (self.instances, self.disks, self.snapshots):
                for res in kind.values():
                    if not res.progress.steps:
                        continue
                    res.progress.stuck_in = self.faults.stuck.get(res.id)
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
            image.check.schedule(image.progress.since, "image.check", [self.latency.image_check])
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

    def new_progress(self, lifecycle: str, durations: List[float]) -> Progress:
        progress = Progress("", 0.0)
        progress.schedule(self.clock.now(), lifecycle, durations)
        return progress

    def new_id(self, prefix: str) -> str:
        return new_id(prefix, self.rng, self.region)

    # --- inspection for tests ---------------------------------------------------------------
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
        """Back to the seeded state: every resource, call, token and fault is forgotten, then the
        seed this backend was built from (``seed_data``) is applied again."""
        with self.lock:
            for store in (self.images, self.instances, self.disks, self.snapshots,
                          self.commands, self.invocations):
                store.clear()
            self.calls.clear()
            self._tokens.clear()
            self.faults.reset()
            if self.seed_data is not None:
                from .seed import apply_seed
                apply_seed(self, self.seed_data)


def default_detector(backend: EcsBackend, image: Image) -> List[CheckItem]:
    """Without a disk behind the image the emulator cannot inspect it: the check reports the
    image's informational items and no risk. Tests set ``backend.detector`` to decide risks
    (the disk-backed mode runs the agent's check-disk instead)."""
    return [CheckItem("Platform", image.platform), CheckItem("Architecture", image.architecture),
            CheckItem("BootMode", image.boot_mode or "BIOS"), CheckItem("SystemImage", "Supported")]
