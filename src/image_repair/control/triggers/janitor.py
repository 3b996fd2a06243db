"""The janitor: delete what repairs left behind (run after each sweep, and ``image-repair janitor``).

Interface::

    janitor(ecs, store, *, ttl_s=JANITOR_TTL_S, dry_run=False, now=None) -> JanitorReport

It looks only at resources tagged ``image-repair:execution`` (the tag every resource a repair
creates carries: instance, its disks, snapshots, images); an untagged resource is never listed,
so never touched. A tagged resource is a leak, and deleted, when both:

* its execution is finished (SUCCEEDED/FAILED) or unknown to the store (RUNNING: the execution's
  own clean-up owns it), and
* it is older than ``ttl_s`` (CreationTime), so a resource a step has just created, before the
  store recorded it, is left alone.

Never deleted: the new image of a SUCCEEDED execution (its report's ``newImageId``) and the
snapshots that image uses. Order: instances (Force; disks with DeleteWithInstance go with them),
images, then snapshots (a snapshot an image uses can only go after the image), then detached disks
(a repaired disk that outlived its repair host, tagged like the host; one still Detaching from an
instance, deleted in this run or before, answers "not yet" and is left to the next run).
A delete that fails (e.g. an instance still in its creation protection window) is reported and
retried by the next run. What it deletes (or would, in a dry run) is logged, one
``janitor.deleted`` line per resource, and returned in the report: the janitor keeps no store
record of its own (the FC invocation's result and its logs are the record).
"""
import calendar
import logging
import time
from typing import List, Literal, Optional

from pydantic import BaseModel, Field

from ..cloud_errors import CloudError
from ..policy import TAG_EXECUTION
from ..store import ExecutionStatus
from .inventory import resource_id, tagged_resources, tags_of

log = logging.getLogger(__name__)

# DeleteDisk's answers for a disk that is not Available yet (Detaching from its released instance)
DISK_NOT_YET = ("IncorrectDiskStatus", "DiskStillAttached", "DiskCreatingSnapshot")
JANITOR_TTL_S = 6 * 3600      # longer than any step's create-then-record window, short enough to bill little
# A TTL under an hour could delete what a step created but has not recorded yet; over a year, nothing.
MIN_TTL_HOURS, MAX_TTL_HOURS = 1, 24 * 365


class JanitorAction(BaseModel):
    kind: Literal["instance", "disk", "snapshot", "image"]
    resourceId: str
    executionId: str
    executionStatus: str              # SUCCEEDED | FAILED | RUNNING | UNKNOWN
    ageSeconds: int
    action: Literal["deleted", "would_delete", "kept", "failed", "gone_with_instance"]
    reason: str = ""


class JanitorReport(BaseModel):
    dryRun: bool
    ttlSeconds: int
    deleted: List[JanitorAction] = Field(default_factory=list)     # deleted / would_delete / gone_with_instance
    kept: List[JanitorAction] = Field(default_factory=list)
    failed: List[JanitorAction] = Field(default_factory=list)

    def ids(self, *actions: str) -> List[str]:
        return [a.resourceId for a in self.deleted if not actions or a.action in actions]


def created_epoch(text: str) -> Optional[float]:
    """ECS CreationTime: ``2026-11-25T20:00Z`` or ``2026-11-25T20:00:00Z`` (UTC)."""
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ"):
        try:
            return float(calendar.timegm(time.strptime(text or "", fmt)))
        except ValueError:
            continue
    return None


class _Executions:
    def __init__(self, store):
        self.store, self.cache = store, {}

    def get(self, execution_id: str):
        if execution_id not in self.cache:
            self.cache[execution_id] = self.store.get_execution(execution_id)
        return self.cache[execution_id]


def janitor(ecs, store, *, ttl_s: float = JANITOR_TTL_S, dry_run: bool = False,
            now: Optional[float] = None) -> JanitorReport:
    """See the module's docstring. Raises ValueError, before any call, for a TTL outside
    MIN_TTL_HOURS..MAX_TTL_HOURS (a negative or tiny TTL would delete what is in use)."""
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, (int, float)) or \
            not MIN_TTL_HOURS * 3600 <= ttl_s <= MAX_TTL_HOURS * 3600:
        raise ValueError("the janitor's TTL must be %d to %d hours, not %s s" % (MIN_TTL_HOURS, MAX_TTL_HOURS,
                                                                               str(ttl_s)[:20]))
    now = time.time() if now is None else now
    report = JanitorReport(dryRun=dry_run, ttlSeconds=int(ttl_s))
    executions = _Executions(store)
    found = tagged_resources(ecs, TAG_EXECUTION)
    keep_snapshots, users = set(), {}       # snapshot id -> tagged images using it
    for image in found["image"]:
        execution = executions.get(tags_of(image)[TAG_EXECUTION])
        for mapping in _mappings(image):
            users.setdefault(mapping.get("SnapshotId"), set()).add(image["ImageId"])
        if _is_product(execution, image["ImageId"]):
            keep_snapshots.update(m.get("SnapshotId") for m in _mappings(image))

    def decide(kind: str, resource: dict) -> JanitorAction:
        execution_id = tags_of(resource).get(TAG_EXECUTION, "")
        execution = executions.get(execution_id)
        status = execution.status.value if execution is not None else "UNKNOWN"
        created = created_epoch(resource.get("CreationTime", ""))
        age = int(now - created) if created is not None else 0
        action = JanitorAction(kind=kind, resourceId=resource_id(kind, resource), executionId=execution_id,
                               executionStatus=status, ageSeconds=age, action="kept")
        if status == "RUNNING":
            action.reason = "its execution is running"
        elif created is None or age < ttl_s:
            action.reason = "younger than the TTL"
        elif kind == "image" and _is_product(execution, action.resourceId):
            action.reason = "the repaired image of a succeeded execution"
        elif kind == "snapshot" and action.resourceId in keep_snapshots:
            action.reason = "used by the repaired image of a succeeded execution"
        else:
            action.action, action.reason = "would_delete", "execution %s, age %d s" % (status.lower(), age)
        return action

    plan = {kind: [(decide(kind, r), r) for r in found[kind]] for kind in ("instance", "image", "snapshot", "disk")}
    deleted_instances = set()
    doomed_images = {a.resourceId for a, _ in plan["image"] if a.action == "would_delete"}
    for kind, deleter in (("instance", ecs.delete_instance), ("image", ecs.delete_image),
                          ("snapshot", ecs.delete_snapshot), ("disk", ecs.delete_disk)):
        for action, resource in plan[kind]:
            if action.action == "would_delete" and kind == "snapshot" and \
                    _used_by_other_image(resource, users.get(action.resourceId, set()), doomed_images):
                action.action, action.reason = "kept", "used by an image that is not deleted"
            if action.action == "would_delete" and kind == "disk":
                attached = resource.get("InstanceId") or ""
                if attached and attached in deleted_instances and _goes_with_instance(resource):
                    action.action = "gone_with_instance"
                elif attached and attached not in deleted_instances:
                    action.action, action.reason = "kept", "attached to instance %s, which stays" % attached
            if action.action == "would_delete" and not dry_run:
                try:
                    deleter(action.resourceId)
                    action.action = "deleted"
                except CloudError as error:
                    if kind == "disk" and error.code in DISK_NOT_YET:
                        action.action, action.reason = "kept", ("not deletable yet (%s: Detaching from its released "
                                                                "instance): the next run deletes it" % error.code)
                    else:
                        action.action, action.reason = "failed", str(error)[:300]
            if kind == "instance" and action.action in ("deleted", "would_delete"):
                deleted_instances.add(action.resourceId)
            _record(report, action)
    log.info("janitor.finished", extra={"dry_run": dry_run, "deleted": len(report.deleted),
                                        "kept": len(report.kept), "failed": len(report.failed)})
    return report


def _record(report: JanitorReport, action: JanitorAction) -> None:
    fields = {"execution_id": action.executionId, "resource_type": action.kind, "resource_id": action.resourceId,
              "execution_status": action.executionStatus, "age_s": action.ageSeconds, "reason": action.reason}
    if action.action in ("deleted", "would_delete", "gone_with_instance"):
        report.deleted.append(action)
        log.info("janitor.deleted" if action.action != "would_delete" else "janitor.would_delete",
                 extra=dict(fields, action=action.action))
    elif action.action == "failed":
        report.failed.append(action)
        log.warning("janitor.delete_failed", extra=fields)
    else:
        report.kept.append(action)


def _is_product(execution, image_id: str) -> bool:
    return (execution is not None and execution.status == ExecutionStatus.SUCCEEDED
            and (execution.report or {}).get("newImageId") == image_id)


def _mappings(image: dict) -> List[dict]:
    return (image.get("DiskDeviceMappings") or {}).get("DiskDeviceMapping") or []


def _used_by_other_image(snapshot: dict, users: set, doomed_images: set) -> bool:
    """A snapshot an image uses (Usage image/image_disk) goes only when every image using it goes
    in this run; used (per Usage) by no tagged image means an image the janitor does not manage."""
    if snapshot.get("Usage") not in ("image", "image_disk"):
        return False
    return not users or not users <= doomed_images


def _goes_with_instance(disk: dict) -> bool:
    return str(disk.get("DeleteWithInstance", True)).lower() != "false"
