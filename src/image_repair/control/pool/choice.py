"""The pool's decisions as pure functions of a snapshot (hosts, leases, now): which slot to take,
which seat to launch a host in, which hosts are idle or drained, which leases are stale.
No store, no clock: control/pool/leases.py and hosts.py read the snapshot and write the outcome
with the store's conditional writes, which settle any race these choices cannot see.
"""
from typing import Dict, Iterable, List, Optional, Set, Tuple

from .models import USABLE_STATES, HostState, PoolHost, SlotLease

# A seat's claim follows its slot's write at once; the Tablestore adapter's retries take at most
# 30 s (tablestore_retry.py): a lease younger than this may still be waiting for its seat.
ORPHAN_GRACE_MS = 5 * 60 * 1000


def live_slots(leases: Iterable[SlotLease], now_ms: int) -> Dict[str, Set[int]]:
    """{host_id: slots held by an unexpired lease}."""
    held: Dict[str, Set[int]] = {}
    for lease in leases:
        if not lease.is_expired(now_ms):
            held.setdefault(lease.host_id, set()).add(lease.slot)
    return held


def free_slots(host: PoolHost, leases: Iterable[SlotLease], now_ms: int) -> List[int]:
    """The host's slots no unexpired lease holds, lowest first."""
    taken = live_slots(leases, now_ms).get(host.host_id, set())
    return [slot for slot in range(host.capacity) if slot not in taken]


def takes_leases(host: PoolHost, zone: str, now_ms: int) -> bool:
    """A host new leases may go to: in the zone, launching or ready, its seat not expired (a
    launch past its deadline is presumed dead)."""
    return host.zone == zone and host.state in USABLE_STATES and not host.is_expired(now_ms)


def choose_slot(hosts: Iterable[PoolHost], leases: Iterable[SlotLease], zone: str,
                now_ms: int) -> Optional[Tuple[PoolHost, int]]:
    """(host, slot) to lease in ``zone``, or None when no host there has a free slot.

    Ready hosts before launching ones (a ready host repairs now), then the fullest host (packing
    leaves the others idle, so they are released sooner), then the lowest seat; its lowest free slot."""
    leases = list(leases)
    candidates = []
    for host in hosts:
        if takes_leases(host, zone, now_ms):
            free = free_slots(host, leases, now_ms)
            if free:
                candidates.append((host.state != HostState.READY, len(free), host.seat, host, free[0]))
    if not candidates:
        return None
    _, _, _, host, slot = min(candidates, key=lambda c: c[:3])
    return host, slot


def held_lease(owner: str, hosts: Iterable[PoolHost], leases: Iterable[SlotLease], zone: str,
               now_ms: int) -> Optional[Tuple[PoolHost, SlotLease]]:
    """The unexpired lease ``owner`` already holds in ``zone`` on a host that still takes leases
    (an acquire repeated after a lost answer or a retried step gets the same slot)."""
    current = {host.host_id: host for host in hosts}
    for lease in leases:
        host = current.get(lease.host_id)
        if (lease.owner == owner and not lease.is_expired(now_ms) and host is not None
                and takes_leases(host, zone, now_ms) and lease.slot < host.capacity):
            return host, lease
    return None


def live_hosts(hosts: Iterable[PoolHost], now_ms: int) -> List[PoolHost]:
    """Hosts that hold their seat: not released, and not a launch past its deadline."""
    return [host for host in hosts if host.state != HostState.RELEASED and not host.is_expired(now_ms)]


def free_seat(hosts: Iterable[PoolHost], max_hosts: int, now_ms: int) -> Optional[int]:
    """The lowest seat a new host may take, or None when ``max_hosts`` hosts are live."""
    live = live_hosts(hosts, now_ms)
    if len(live) >= max_hosts:
        return None
    taken = {host.seat for host in live}
    return next(seat for seat in range(max_hosts) if seat not in taken)


def idle_ms(host: PoolHost, leases: Iterable[SlotLease], now_ms: int) -> Optional[int]:
    """How long a ready host has had no lease (None: it has one, or it is not ready)."""
    if host.state != HostState.READY or live_slots(leases, now_ms).get(host.host_id):
        return None
    return max(0, now_ms - host.last_used_at_ms)


def hosts_to_release(hosts: Iterable[PoolHost], leases: Iterable[SlotLease], now_ms: int,
                     idle_release_ms: int) -> List[PoolHost]:
    """Ready hosts idle for ``idle_release_ms`` or more, and draining hosts no lease holds any more."""
    leases = list(leases)
    busy = live_slots(leases, now_ms)
    chosen = []
    for host in hosts:
        idle = idle_ms(host, leases, now_ms)
        if idle is not None and idle >= idle_release_ms:
            chosen.append(host)
        elif host.state == HostState.DRAINING and not busy.get(host.host_id):
            chosen.append(host)
    return chosen


def stale_leases(leases: Iterable[SlotLease], hosts: Iterable[PoolHost], now_ms: int,
                 orphan_grace_ms: int = ORPHAN_GRACE_MS) -> Tuple[List[SlotLease], List[SlotLease]]:
    """(expired leases, orphaned leases): an orphan is unexpired but its host left its seat
    (released, or replaced after a launch that never finished), so nobody can use it. A lease
    younger than ``orphan_grace_ms`` is never an orphan: a new seat's claimer writes its slot
    before the seat (leases.py), so a snapshot may see that slot and not yet the seat."""
    current = {host.host_id for host in hosts if host.state != HostState.RELEASED}
    expired = [lease for lease in leases if lease.is_expired(now_ms)]
    orphaned = [lease for lease in leases if not lease.is_expired(now_ms) and lease.host_id not in current
                and now_ms - lease.acquired_at_ms >= orphan_grace_ms]
    return expired, orphaned
