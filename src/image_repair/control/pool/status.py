"""What ``image-repair pool status`` shows: every host in its seat, its slots and their leases,
and how long it has been idle, from one snapshot of the store."""
from typing import List, Optional

from pydantic import BaseModel

from ..store.base import StateStore
from . import choice
from .models import HostState, PoolHost, SlotLease


class LeaseView(BaseModel):
    slot: int
    owner: str
    expires_in_s: float       # negative: expired (free to take; ``expire_stale_leases`` tidies it)


class HostView(BaseModel):
    seat: int
    host_id: str
    instance_id: Optional[str]
    zone: str
    instance_type: str
    state: HostState
    capacity: int
    leases: List[LeaseView]
    idle_s: Optional[float]         # ready with no live lease: for how long
    launch_overdue: bool            # launching past its deadline: the seat is free again
    drain_reason: Optional[str]


class PoolStatus(BaseModel):
    hosts: List[HostView]
    orphaned_leases: List[SlotLease]   # unexpired leases on hosts that left their seat

    @property
    def slots_leased(self) -> int:
        return sum(1 for host in self.hosts for lease in host.leases if lease.expires_in_s > 0)


def host_view(host: PoolHost, leases: List[SlotLease], now_ms: int) -> HostView:
    own = [lease for lease in leases if lease.host_id == host.host_id]
    idle = choice.idle_ms(host, leases, now_ms)
    return HostView(seat=host.seat, host_id=host.host_id, instance_id=host.instance_id, zone=host.zone,
                    instance_type=host.instance_type, state=host.state, capacity=host.capacity,
                    leases=[LeaseView(slot=lease.slot, owner=lease.owner,
                                      expires_in_s=(lease.expires_at_ms - now_ms) / 1000.0) for lease in own],
                    idle_s=None if idle is None else idle / 1000.0,
                    launch_overdue=host.state == HostState.LAUNCHING and host.is_expired(now_ms),
                    drain_reason=host.drain_reason)


def pool_status(store: StateStore) -> PoolStatus:
    now = store.now_ms()
    hosts, leases = store.list_pool_hosts(), store.list_slot_leases()
    _, orphaned = choice.stale_leases(leases, hosts, now)
    return PoolStatus(hosts=[host_view(host, leases, now) for host in hosts], orphaned_leases=orphaned)
