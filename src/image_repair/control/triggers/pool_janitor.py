"""The pool's janitor (issue 13, docs/pool.md): run after each sweep, beside the janitor.

Interface::

    tend_pool(ecs, store, settings, *, dry_run=False) -> PoolJanitorReport

1. Stale leases go (expired, or on a host that left its seat): a crashed execution never keeps a
   slot (leases.expire_stale_leases; an acquirer takes an expired slot by itself anyway).
2. Hosts idle for ``idle_release_s`` and drained hosts no lease holds are released: claimed
   (hosts.begin_release: DRAINING first, then the leases read, so a repair taking a slot meanwhile
   keeps the host), DeleteInstance, then the seat freed (mark_host_released). A delete refused
   (its creation protection window) gives the claim back for the next run.
3. Pool instances no seat knows (tagged ``image-repair:pool-host`` with a host id whose seat holds
   another host or none: a launcher that died between RunInstances and recording it, past the
   launch timeout) are deleted once older than the launch timeout.

The pool is empty when idle: nothing else keeps a host.
"""
import logging
import time
from typing import List, Literal, Optional

from pydantic import BaseModel, Field

from ..cloud_errors import CloudError
from ..pool.hosts import NotInState, begin_release, mark_host_released, release_candidates
from ..pool.leases import expire_stale_leases
from ..pool.models import HostState, PoolHostChanged, PoolSettings
from ..steps.pool_host import TAG_POOL_HOST
from .inventory import tagged_resources, tags_of
from .janitor import created_epoch

log = logging.getLogger(__name__)


class PoolAction(BaseModel):
    kind: Literal["lease", "host", "instance"]
    id: str
    action: Literal["expired", "released", "would_release", "deleted", "would_delete", "failed"]
    reason: str = ""


class PoolJanitorReport(BaseModel):
    dryRun: bool
    actions: List[PoolAction] = Field(default_factory=list)


def tend_pool(ecs, store, settings: Optional[PoolSettings] = None, *, dry_run: bool = False,
              now: Optional[float] = None) -> PoolJanitorReport:
    settings = settings or PoolSettings()
    report = PoolJanitorReport(dryRun=dry_run)
    if not dry_run:
        for lease in expire_stale_leases(store):
            _record(report, PoolAction(kind="lease", id="%s/%d" % (lease.host_id, lease.slot), action="expired",
                                       reason="owner %s" % lease.owner))
    for host in release_candidates(store, settings):
        reason = host.drain_reason or "idle"
        if dry_run:
            _record(report, PoolAction(kind="host", id=host.host_id, action="would_release", reason=reason))
            continue
        if not begin_release(store, host):
            continue                    # a repair took a slot meanwhile, or another releaser has it
        try:
            if host.instance_id:
                ecs.delete_instance(host.instance_id)
            mark_host_released(store, store.get_pool_host(host.seat) or host)
            _record(report, PoolAction(kind="host", id=host.host_id, action="released",
                                       reason="%s; instance %s deleted" % (reason, host.instance_id)))
        except (CloudError, NotInState, PoolHostChanged) as error:
            _give_back(store, host)
            _record(report, PoolAction(kind="host", id=host.host_id, action="failed", reason=str(error)[:300]))
    _delete_unknown_instances(ecs, store, settings, report, dry_run, now)
    return report


def _give_back(store, host) -> None:
    """Undo our release claim (the delete failed): the next run tries again."""
    try:
        store.update_pool_host(host.seat, host.host_id, lambda h: h.model_copy(update={"releaser": None}))
    except PoolHostChanged:
        pass


def _delete_unknown_instances(ecs, store, settings: PoolSettings, report: PoolJanitorReport, dry_run: bool,
                              now: Optional[float]) -> None:
    known = {h.host_id for h in store.list_pool_hosts() if h.state != HostState.RELEASED}
    now = time.time() if now is None else now
    for instance in tagged_resources(ecs, TAG_POOL_HOST, kinds=("instance",)).get("instance", []):
        host_id = tags_of(instance).get(TAG_POOL_HOST)
        created = created_epoch(instance.get("CreationTime") or "")
        if host_id in known or created is None or now - created < settings.launch_timeout_s:
            continue
        instance_id = instance["InstanceId"]
        if dry_run:
            _record(report, PoolAction(kind="instance", id=instance_id, action="would_delete",
                                       reason="pool host %s is in no seat" % host_id))
            continue
        try:
            ecs.delete_instance(instance_id)
            _record(report, PoolAction(kind="instance", id=instance_id, action="deleted",
                                       reason="pool host %s is in no seat" % host_id))
        except CloudError as error:
            _record(report, PoolAction(kind="instance", id=instance_id, action="failed", reason=str(error)[:300]))


def _record(report: PoolJanitorReport, action: PoolAction) -> None:
    report.actions.append(action)
    log.info("pool.janitor", extra=action.model_dump())
