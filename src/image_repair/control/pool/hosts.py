"""The pool's hosts over the store port (docs/pool.md, "Hosts"): a launch that finishes or fails,
the drain of a host whose Cloud Assistant stopped answering, and the release of idle hosts.

The ECS calls (RunInstances, DeleteInstance, the Cloud Assistant's answer) are the caller's:
these functions record what happened, each with one write conditioned on the version read.
"""
import uuid
from typing import List

from ..store.base import StateStore
from ..store.models import NEVER_MS
from . import choice
from .models import HostState, InstanceTypeSpec, PoolHost, PoolHostChanged, PoolSettings, slot_capacity

IDLE_REASON = "idle"


class NotInState(Exception):
    """A host change refused because the host is not in the state it needs (its ``host``)."""

    def __init__(self, host: PoolHost, wanted: str):
        super().__init__("host %s is %s, not %s" % (host.host_id, host.state.value, wanted))
        self.host = host


def mark_host_ready(store: StateStore, host: PoolHost, instance_id: str, held_data_disks: int,
                    spec: InstanceTypeSpec, settings: PoolSettings) -> PoolHost:
    """The launch of ``host`` finished: its instance runs and answers. Its capacity is counted
    again from the data disks it really holds. PoolHostChanged: the seat went to another host
    (our launch overran its deadline): the caller deletes ``instance_id``. A host drained while
    it launched stays draining, with its instance recorded so that its release deletes it."""
    def ready(current: PoolHost) -> PoolHost:
        if current.state == HostState.DRAINING:
            return current.model_copy(update={"instance_id": instance_id})
        if current.state != HostState.LAUNCHING:
            raise NotInState(current, HostState.LAUNCHING.value)
        now = store.now_ms()
        return current.model_copy(update={
            "state": HostState.READY, "instance_id": instance_id, "state_changed_at_ms": now,
            "last_used_at_ms": now, "expires_at_ms": NEVER_MS,
            "capacity": slot_capacity(spec, held_data_disks, settings.cpus_per_slot)})
    return store.update_pool_host(host.seat, host.host_id, ready)


def drain_host(store: StateStore, host: PoolHost, reason: str) -> PoolHost:
    """No new lease on ``host`` (its Cloud Assistant stopped answering, or it is being released);
    its current leases stay until their owners release them or they expire. A drained host is
    released once no lease holds it (``hosts_to_release``). Idempotent."""
    def drain(current: PoolHost) -> PoolHost:
        if current.state == HostState.RELEASED:
            raise NotInState(current, "live")
        if current.state == HostState.DRAINING:      # a reason beyond idleness keeps it from going back to ready
            return current if current.drain_reason != IDLE_REASON else current.model_copy(
                update={"drain_reason": reason[:256]})
        return current.model_copy(update={"state": HostState.DRAINING, "drain_reason": reason[:256],
                                          "state_changed_at_ms": store.now_ms(), "expires_at_ms": NEVER_MS})
    return store.update_pool_host(host.seat, host.host_id, drain)


def release_candidates(store: StateStore, settings: PoolSettings) -> List[PoolHost]:
    """Hosts idle for ``idle_release_s`` and drained hosts no lease holds: release each with
    ``begin_release``, then delete its instance, then ``mark_host_released``."""
    now = store.now_ms()
    return choice.hosts_to_release(store.list_pool_hosts(), store.list_slot_leases(), now,
                                   settings.ms(settings.idle_release_s))


def begin_release(store: StateStore, host: PoolHost) -> bool:
    """Take ``host`` out of use before deleting its instance; True: the caller, and no one else,
    now deletes it, then calls ``mark_host_released``. False when a lease holds the host (an
    execution took a slot meanwhile: the host stays, ready again if we drained it for idleness)
    or another releaser got it first."""
    token, drained_here = uuid.uuid4().hex, {}

    def claim(current: PoolHost) -> PoolHost:
        if current.releaser is not None or current.state not in (HostState.READY, HostState.DRAINING):
            raise NotInState(current, "ready or draining, with no releaser")
        update = {"releaser": token}
        drained_here["idle"] = current.state == HostState.READY
        if current.state == HostState.READY:
            update.update(state=HostState.DRAINING, drain_reason=IDLE_REASON, state_changed_at_ms=store.now_ms(),
                          expires_at_ms=NEVER_MS)
        return current.model_copy(update=update)
    try:
        store.update_pool_host(host.seat, host.host_id, claim)
    except (NotInState, PoolHostChanged):
        return False
    # Written DRAINING first, leases read second: an acquirer writes its lease first and reads
    # the host second (leases.py), so one of the two always sees the other.
    now = store.now_ms()
    if not any(lease.host_id == host.host_id and not lease.is_expired(now) for lease in store.list_slot_leases()):
        return True

    def give_back(current: PoolHost) -> PoolHost:
        update = {"releaser": None}
        if drained_here["idle"] and current.drain_reason == IDLE_REASON:   # not drained for another reason since
            update.update(state=HostState.READY, drain_reason=None, state_changed_at_ms=store.now_ms())
        return current.model_copy(update=update)
    store.update_pool_host(host.seat, host.host_id, give_back)
    return False


def abandon_launch(store: StateStore, host: PoolHost) -> PoolHost:
    """The launch failed (or its instance was deleted): free the seat now."""
    return mark_host_released(store, host)


def mark_host_released(store: StateStore, host: PoolHost) -> PoolHost:
    """The host's instance is deleted: the seat is free (its row expires now; the next claim
    replaces it, and a listing shows it released until then)."""
    def released(current: PoolHost) -> PoolHost:
        if current.state == HostState.READY:
            raise NotInState(current, "draining or launching")   # begin_release first
        now = store.now_ms()
        return current.model_copy(update={"state": HostState.RELEASED, "state_changed_at_ms": now,
                                          "expires_at_ms": now})
    return store.update_pool_host(host.seat, host.host_id, released)
