"""Slot leases over the store port (docs/pool.md, "Leases"): acquire, renew, release, expire.

Each function reads a snapshot, decides with choice.py, and writes with one conditional write
of the store; a refused write means someone else moved first, so it reads again.

Two executions never share a slot: a slot is one row and taking it is a conditional insert
(``take_slot``: absent, expired, or already ours). A slot is never left on a host that is being
released: the acquirer writes its lease and then touches its host (a write conditioned on the
version it read, refused if the host left the usable states); the releaser writes DRAINING and
then lists the host's leases (hosts.py ``begin_release``). Whichever writes second sees the other.
"""
from typing import List

from ..store.base import StateStore
from ..store.models import ConcurrentUpdate
from ..store.pool_rows import new_host_id
from . import choice
from .models import (USABLE_STATES, HostState, HostUnavailable, InstanceTypeSpec, PoolBusy, PoolHost,
                     PoolHostChanged, PoolSettings, ReleaseResult, SlotGrant, SlotLease, slot_capacity)

MAX_ACQUIRE_ATTEMPTS = 32


def acquire_slot(store: StateStore, owner: str, zone: str, spec: InstanceTypeSpec,
                 settings: PoolSettings) -> SlotGrant:
    """A slot in ``zone`` for execution ``owner``: the lease it already holds there, else a free
    slot on a ready (or launching) host, else a new seat whose host the caller launches
    (``launch`` True), within ``settings.max_hosts``. PoolBusy when the pool is full."""
    if slot_capacity(spec, 0, settings.cpus_per_slot) < 1:
        raise ValueError("instance type %s takes no disk slot (DiskQuantity %d, %d vCPUs, %d per slot)"
                         % (spec.instance_type, spec.disk_quantity, spec.cpu_core_count, settings.cpus_per_slot))
    for _ in range(MAX_ACQUIRE_ATTEMPTS):
        now = store.now_ms()
        hosts, leases = store.list_pool_hosts(), store.list_slot_leases()
        held = choice.held_lease(owner, hosts, leases, zone, now)
        if held is not None:
            host, lease = held
            return SlotGrant(lease=store.renew_slot_lease(lease.host_id, lease.slot, owner,
                                                          now + settings.ms(settings.lease_ttl_s)), host=host)
        picked = choice.choose_slot(hosts, leases, zone, now)
        if picked is not None:
            grant = _take(store, picked[0], picked[1], owner, settings)
            if grant is not None:
                return grant
            continue
        seat = choice.free_seat(hosts, settings.max_hosts, now)
        if seat is None:
            raise PoolBusy("no free slot in zone %s and all %d pool hosts are live: ask again later"
                           % (zone, settings.max_hosts))
        host = PoolHost(seat=seat, host_id=new_host_id(), zone=zone, instance_type=spec.instance_type,
                        capacity=slot_capacity(spec, 0, settings.cpus_per_slot), state=HostState.LAUNCHING,
                        launched_by=owner, created_at_ms=now, last_used_at_ms=now, state_changed_at_ms=now,
                        expires_at_ms=now + settings.ms(settings.launch_timeout_s))
        # Our slot first, then the seat: until the seat row exists nobody knows the new host_id,
        # so slot 0 is ours; a lost seat gives it back.
        lease = _lease(host, 0, owner, now, settings)
        if not store.take_slot(lease):
            continue
        if store.claim_pool_seat(host):
            return SlotGrant(lease=lease, host=host, launch=True)
        store.release_slot_lease(host.host_id, 0, owner)      # another execution claimed that seat first
    raise ConcurrentUpdate("acquiring a slot in zone %s: %d conflicting attempts in a row"
                           % (zone, MAX_ACQUIRE_ATTEMPTS))


def _lease(host: PoolHost, slot: int, owner: str, now: int, settings: PoolSettings) -> SlotLease:
    return SlotLease(host_id=host.host_id, seat=host.seat, zone=host.zone, slot=slot, owner=owner,
                     acquired_at_ms=now, expires_at_ms=now + settings.ms(settings.lease_ttl_s))


def _take(store: StateStore, host: PoolHost, slot: int, owner: str, settings: PoolSettings):
    """Lease ``slot`` of ``host``, then touch the host; None when either write lost a race."""
    lease = _lease(host, slot, owner, store.now_ms(), settings)
    if not store.take_slot(lease):
        return None

    def touch(current: PoolHost) -> PoolHost:
        if current.state not in USABLE_STATES or slot >= current.capacity:
            raise HostUnavailable("host %s is %s" % (current.host_id, current.state.value), current)
        return current.model_copy(update={"last_used_at_ms": store.now_ms()})
    try:
        touched = store.update_pool_host(host.seat, host.host_id, touch)
    except (HostUnavailable, PoolHostChanged):
        store.release_slot_lease(host.host_id, slot, owner)   # the host is leaving: look elsewhere
        return None
    return SlotGrant(lease=lease, host=touched)


def renew_slot(store: StateStore, lease: SlotLease, settings: PoolSettings) -> SlotLease:
    """Extend our lease by ``lease_ttl_s`` from now. SlotLeaseLost when it is not ours or has
    expired; HostUnavailable when its host is draining, gone or smaller than the slot (the lease
    is kept: stop using the host, then release it)."""
    host = store.get_pool_host(lease.seat)
    if host is None or host.host_id != lease.host_id or host.state not in USABLE_STATES \
            or lease.slot >= host.capacity:
        state = "gone" if host is None or host.host_id != lease.host_id else host.state.value
        raise HostUnavailable("host %s of the lease on slot %d is %s" % (lease.host_id, lease.slot, state), host)
    return store.renew_slot_lease(lease.host_id, lease.slot, lease.owner,
                                  store.now_ms() + settings.ms(settings.lease_ttl_s))


def release_slot(store: StateStore, lease: SlotLease) -> ReleaseResult:
    """Give our slot back (only ours: see ReleaseResult); the host's idle time starts now."""
    result = store.release_slot_lease(lease.host_id, lease.slot, lease.owner)
    if result != ReleaseResult.LOST:
        try:
            store.update_pool_host(lease.seat, lease.host_id,
                                   lambda host: host.model_copy(update={"last_used_at_ms": store.now_ms()}))
        except PoolHostChanged:
            pass                              # the host already left its seat: nothing to touch
    return result


def expire_stale_leases(store: StateStore) -> List[SlotLease]:
    """Delete expired leases (each only if still expired when deleted) and leases on hosts that
    left their seat; -> the leases deleted. A crashed execution's slot is free from its lease's
    expiry on (acquire takes expired slots itself); this keeps the listing true."""
    now = store.now_ms()
    expired, orphaned = choice.stale_leases(store.list_slot_leases(), store.list_pool_hosts(), now)
    removed = [lease for lease in expired if store.delete_expired_slot_lease(lease.host_id, lease.slot)]
    removed += [lease for lease in orphaned if store.delete_orphan_slot_lease(lease)]
    return removed
