"""The repair-host pool's records as the store keeps them (issue 13, docs/pool.md): one row per
host seat and one row per leased disk slot. The pool's rules (who may take what, when a host is
idle) are in control/pool/; this module only says what a record holds.

A *seat* is one of the pool's ``max_hosts`` places for a host: seat rows are what bounds the
number of hosts under concurrency (claiming a seat is one conditional insert). ``host_id`` names
one host living in a seat (a new one each time the seat is claimed), so a lease on a host that
was released and replaced is never mistaken for a lease on its successor.
"""
from enum import Enum
from typing import Optional

from pydantic import BaseModel, Field

from .models import StoreError

MAX_SLOTS_PER_HOST = 64       # our own cap on a host's slots (the instance type's DiskQuantity decides below it)


class HostState(str, Enum):
    LAUNCHING = "launching"    # a seat claimed; the claiming execution is launching the instance
    READY = "ready"            # the instance runs and its Cloud Assistant answers: slots can be leased
    DRAINING = "draining"      # no new lease: idle and being released, or its Cloud Assistant went silent
    RELEASED = "released"      # the instance is deleted; the seat is free


USABLE_STATES = (HostState.LAUNCHING, HostState.READY)   # states on which a slot may be leased


class PoolHost(BaseModel):
    """One repair host of the pool, in its seat."""
    seat: int = Field(ge=0)
    host_id: str = Field(min_length=1, max_length=64)
    zone: str = Field(min_length=1, max_length=64)
    instance_type: str = Field(min_length=1, max_length=64)
    instance_id: Optional[str] = Field(default=None, max_length=64)   # None until launched
    capacity: int = Field(ge=0, le=MAX_SLOTS_PER_HOST)                # disk slots
    state: HostState
    launched_by: str = Field(min_length=1, max_length=128)             # the execution that claimed the seat
    created_at_ms: int
    last_used_at_ms: int         # the last lease taken or given back: idle time counts from here
    state_changed_at_ms: int
    drain_reason: Optional[str] = Field(default=None, max_length=256)
    releaser: Optional[str] = Field(default=None, max_length=64)     # who is deleting its instance
    # The seat is free again when this passes: never for a live host, a deadline for a launch
    # (a launcher that crashed frees it), now for a released host.
    expires_at_ms: int
    version: int = 1             # optimistic concurrency, as Execution.version

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_at_ms <= now_ms


class SlotLease(BaseModel):
    """Slot ``slot`` of host ``host_id`` leased to execution ``owner`` until ``expires_at_ms``."""
    host_id: str = Field(min_length=1, max_length=64)
    seat: int = Field(ge=0)
    zone: str = Field(min_length=1, max_length=64)
    slot: int = Field(ge=0, lt=MAX_SLOTS_PER_HOST)
    owner: str = Field(min_length=1, max_length=128)
    acquired_at_ms: int
    expires_at_ms: int
    version: int = 1

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_at_ms <= now_ms


class ReleaseResult(str, Enum):
    RELEASED = "released"      # our live lease, given back
    EXPIRED = "expired"        # ours but expired (renewed too late); nobody had taken it: given back
    LOST = "lost"              # not ours any more (taken after it expired, or already gone): untouched


class SlotLeaseLost(StoreError):
    """The lease is no longer ours: it expired (and may have been taken) or was released."""


class PoolHostChanged(StoreError):
    """The seat no longer holds the host we read (released and replaced), or it vanished."""
