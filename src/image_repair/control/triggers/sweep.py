"""The scheduled sweep: find the account's images whose check says they need a repair, start those
repairs, up to a concurrency cap.

Interface (the timer handler, ``image-repair sweep`` and the bench call this)::

    sweep(ecs, store, launcher, policy=None, *, dry_run=False, max_starts=None, defaults=None) -> SweepReport

* ``ecs``: a ``clients.ecs.EcsPort`` (real API or an emulator); ``store``: a ``StateStore``;
  ``launcher``: anything with ``launch(execution_id) -> bool`` and ``idempotent``
  (``launchers.CloudFlowLauncher``, ``launchers.FcAsyncLauncher``, a test's recorder);
* ``policy``: ``SweepPolicy`` or a dict of its fields (which repair items, which risk levels, the
  concurrency cap); ``defaults``: the start parameters every repair gets besides the image and the
  items (zoneId, vSwitchId, securityGroupId, instanceType...; seed names);
* ``dry_run``: decide and report, start nothing; ``max_starts``: at most this many starts this run.

Selection, per image (DescribeImages ImageOwnerAlias=self OSType=linux Status=Available, 100 a page):
a repair's own product (tagged image-repair:execution) -> skipped; not repairable
(``policy.refusal``: Windows, encrypted, no system disk...) -> skipped; check not
Finished -> skipped; no repairable item at risk within the policy -> healthy; tagged
image-repair:repaired-by or a SUCCEEDED execution in the store -> already repaired; a RUNNING
execution or a held lock -> in flight; its repair (deterministic execution id) already FAILED ->
failed before (not retried automatically); otherwise it needs a repair: started while the cap has
room (RUNNING executions count against it), else deferred to a later sweep.
"""
import logging
import time
from typing import Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ...agent.items import ITEM_NAMES
from ..launchers import start_execution
from ..models import InvalidRequest, parse_request
from ..policy import TAG_EXECUTION, TAG_REPAIRED_BY, at_risk_items, refusal
from ..store import ExecutionStatus
from .inventory import own_linux_image_pages, tags_of
from .janitor import MAX_TTL_HOURS, MIN_TTL_HOURS

log = logging.getLogger(__name__)

DEFAULT_MAX_CONCURRENT = 10
# A RUNNING execution not updated for this long (the image lock's TTL) is presumed dead (its flow
# was lost): it still keeps its image "in flight", but no longer holds a place under the cap.
STALE_RUNNING_S = 24 * 3600
MAX_STARTS = 10000


class SweepPolicy(BaseModel):
    """Which images a sweep repairs, and how many repairs may run at once. Typed strictly (a
    number given as a string is refused, not converted); unknown fields are refused."""
    model_config = ConfigDict(extra="forbid", strict=True)

    items: Optional[List[str]] = Field(default=None, max_length=32)   # repair items acted on (None: every item)
    riskLevels: List[Literal["High", "Medium"]] = Field(default_factory=lambda: ["High"], min_length=1,
                                                        max_length=2)
    maxConcurrent: int = Field(default=DEFAULT_MAX_CONCURRENT, ge=1, le=1000)

    @field_validator("items")
    @classmethod
    def _known_items(cls, value):
        if value is not None:
            unknown = [v for v in value if v not in ITEM_NAMES]
            if unknown:
                raise ValueError("unknown repair items %s (known: %s)" % (unknown, ", ".join(ITEM_NAMES)))
        return value


class SweepPayload(BaseModel):
    """The timer's payload (handlers/sweep.py): what one scheduled run does. Strict: booleans are
    JSON booleans ("false" is refused, not true), numbers are JSON numbers within bounds."""
    model_config = ConfigDict(extra="forbid", strict=True)

    dryRun: bool = False
    maxStarts: Optional[int] = Field(default=None, ge=0, le=MAX_STARTS)
    policy: SweepPolicy = Field(default_factory=SweepPolicy)
    janitor: bool = True
    janitorTtlHours: Optional[float] = Field(default=None, ge=MIN_TTL_HOURS, le=MAX_TTL_HOURS, allow_inf_nan=False)


class SweepDecision(BaseModel):
    imageId: str
    imageName: str = ""
    action: Literal["started", "would_start", "deferred", "skipped"]
    reason: str = ""
    items: List[str] = Field(default_factory=list)
    executionId: Optional[str] = None


class SweepReport(BaseModel):
    dryRun: bool
    pages: int = 0
    imagesSeen: int = 0
    inFlightBefore: int = 0          # RUNNING executions (not stale) when the sweep began
    maxConcurrent: int
    maxStarts: Optional[int] = None
    needRepair: List[SweepDecision] = Field(default_factory=list)   # started, would_start or deferred
    skipped: List[SweepDecision] = Field(default_factory=list)      # at risk, but repaired / in flight / failed
    skippedCounts: Dict[str, int] = Field(default_factory=dict)     # every skip reason, counted
    seconds: float = 0.0

    def ids(self, *actions: str) -> List[str]:
        return [d.imageId for d in self.needRepair if not actions or d.action in actions]


def classify(image: dict, policy: SweepPolicy) -> tuple:
    """-> (skip reason or "", repair items) from the image's own shape (no store, no calls)."""
    tags = tags_of(image)
    if TAG_EXECUTION in tags:
        return "repair product", []
    if refusal(image):
        return "not repairable", []
    if (image.get("DetectionOptions") or {}).get("Status") != "Finished":
        return "check not finished", []
    items = at_risk_items(image, policy)
    if not items:
        return "healthy", []
    if TAG_REPAIRED_BY in tags:
        return "already repaired", items
    return "", items


def repaired(execution) -> bool:
    """A SUCCEEDED execution that made a new image. A watched image that ended healthy also
    SUCCEEDED, under the event policy, which may be narrower than this sweep's: not a repair."""
    return execution.status == ExecutionStatus.SUCCEEDED and bool((execution.report or {}).get("newImageId"))


class _StoreView:
    """What the store says about the images, read once per sweep (one scan of executions)."""

    def __init__(self, store):
        self.store = store
        self.running: Dict[str, str] = {}
        self.succeeded: Dict[str, str] = {}
        self.counted = 0        # RUNNING executions that count against the cap (not stale)
        stale_before = store.now_ms() - STALE_RUNNING_S * 1000
        for execution in store.list_executions():
            if execution.status == ExecutionStatus.RUNNING:
                self.running[execution.source_image_id] = execution.execution_id
                self.counted += execution.updated_at_ms >= stale_before
            elif repaired(execution):
                self.succeeded[execution.source_image_id] = execution.execution_id

    def skip_reason(self, image_id: str, execution_id: str) -> str:
        if image_id in self.succeeded:
            return "already repaired"
        if image_id in self.running:
            return "in flight"
        lock = self.store.get_lock(image_id)
        if lock is not None and not lock.is_expired(self.store.now_ms()):
            return "in flight"
        previous = self.store.get_execution(execution_id)
        if previous is not None and previous.status == ExecutionStatus.FAILED:
            return "failed before"
        if previous is not None and repaired(previous):
            return "already repaired"
        return ""


def sweep(ecs, store, launcher, policy=None, *, dry_run: bool = False, max_starts: Optional[int] = None,
          defaults: Optional[dict] = None) -> SweepReport:
    """See the module's docstring. Raises InvalidRequest when ``defaults`` cannot make a valid
    start request (checked on the first image needing repair, before anything is started)."""
    started_at = time.monotonic()
    policy = policy if isinstance(policy, SweepPolicy) else SweepPolicy.model_validate(policy or {})
    view = _StoreView(store)
    report = SweepReport(dryRun=dry_run, maxConcurrent=policy.maxConcurrent, maxStarts=max_starts,
                         inFlightBefore=view.counted)
    room = max(0, policy.maxConcurrent - view.counted)
    if max_starts is not None:
        room = min(room, max(0, max_starts))
    base = dict(defaults or {})
    base.setdefault("regionId", ecs.region)
    counts: Dict[str, int] = {}
    starts = 0
    for page in own_linux_image_pages(ecs):
        report.pages += 1
        for image in page:
            report.imagesSeen += 1
            image_id, name = image["ImageId"], image.get("ImageName", "")
            reason, items = classify(image, policy)
            execution_id = None
            if not reason:
                raw = dict(base, repairImageId=image_id, repairItems=items)
                execution_id = parse_request(raw).execution_id()    # InvalidRequest: bad defaults
                reason = view.skip_reason(image_id, execution_id)
            if reason:
                counts[reason] = counts.get(reason, 0) + 1
                if items:   # at risk, but not to be started: worth listing
                    report.skipped.append(SweepDecision(imageId=image_id, imageName=name, action="skipped",
                                                        reason=reason, items=items, executionId=execution_id))
                continue
            decision = SweepDecision(imageId=image_id, imageName=name, action="deferred", items=items,
                                     executionId=execution_id, reason="concurrency cap")
            if starts < room:
                starts += 1
                if dry_run:
                    decision.action, decision.reason = "would_start", "dry run"
                else:
                    decision = _start(store, launcher, raw, decision)
            report.needRepair.append(decision)
            log.info("sweep.image_selected", extra={"image_id": image_id, "execution_id": execution_id,
                                                    "action": decision.action, "reason": decision.reason,
                                                    "items": items})
    report.skippedCounts = dict(sorted(counts.items()))
    report.seconds = round(time.monotonic() - started_at, 3)
    log.info("sweep.finished", extra={"dry_run": dry_run, "pages": report.pages, "images": report.imagesSeen,
                                      "need_repair": len(report.needRepair),
                                      "started": len(report.ids("started")), "skipped": report.skippedCounts,
                                      "seconds": report.seconds})
    return report


def _start(store, launcher, raw: dict, decision: SweepDecision) -> SweepDecision:
    """Record and launch through the one entry (launchers.start_execution). A sweep racing us may
    have recorded the same deterministic execution first: then it launched it, not us."""
    try:
        launched = start_execution(store, launcher, raw)
    except InvalidRequest as error:
        decision.action, decision.reason = "skipped", "invalid request: %s" % error
        return decision
    decision.executionId = launched.execution_id
    if launched.started:
        decision.action, decision.reason = "started", "new" if launched.created else "relaunched"
    else:
        decision.action, decision.reason = "skipped", "started by another sweep (%s)" % launched.status
    return decision
