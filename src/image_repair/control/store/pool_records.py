"""The repair-host pool's records as the store keeps them (issue 13, docs/pool.md): one row per
host seat and one row per leased disk slot. The pool's rules (who may take what, when a host is
idle) are in control/pool/; this module only says what a record holds.

A *seat* is one of the pool's ``max_hosts`` places for a host: seat rows are what bounds the
number of hosts under concurrency (claiming a seat is one conditional insert). ``host_id`` names
one host living in a seat (a new one each time the seat is claimed), so a lease on a host that
was released and replaced is never mistaken for a lease on its successor.
"""
from enum import Enum
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ..records import MISSING, Fields, Record

from .models import StoreError

MAX_SLOTS_PER_HOST = 64       # our own cap on a host's slots (the instance type's DiskQuantity decides below it)


class HostState(str, Enum):
    LAUNCHING = "launching"    # a seat claimed; the claiming execution is launching the instance
    READY = "ready"            # the instance runs and its Cloud Assistant answers: slots can be leased
    DRAINING = "draining"      # no new lease: idle and being released, or its Cloud Assistant went silent
    RELEASED = "released"      # the instance is deleted; the seat is free


USABLE_STATES = (HostState.LAUNCHING, HostState.READY)   # states on which a slot may be leased


def _id(fields: Fields, name: str, max_length: int = 64, optional: bool = False) -> Optional[str]:
    return fields.text(name, None if optional else MISSING, optional=optional, min_length=0 if optional else 1,
                       max_length=max_length)


def _ms(fields: Fields, name: str, default=MISSING) -> int:
    return fields.integer(name, default, ge=0)


@dataclass
class PoolHost(Record):
    """One repair host of the pool, in its seat."""
    seat: int
    host_id: str
    zone: str
    instance_type: str
    capacity: int                # disk slots
    state: HostState
    launched_by: str             # the execution that claimed the seat
    created_at_ms: int
    last_used_at_ms: int         # the last lease taken or given back: idle time counts from here
    state_changed_at_ms: int
    # The seat is free again when this passes: never for a live host, a deadline for a launch
    # (a launcher that crashed frees it), now for a released host.
    expires_at_ms: int
    instance_id: Optional[str] = None        # None until launched
    drain_reason: Optional[str] = None
    releaser: Optional[str] = None           # who is deleting its instance
    version: int = 1             # optimistic concurrency, as Execution.version

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        return {"seat": fields.integer("seat", ge=0), "host_id": _id(fields, "host_id"), "zone": _id(fields, "zone"),
                "instance_type": _id(fields, "instance_type"),
                "capacity": fields.integer("capacity", ge=0, le=MAX_SLOTS_PER_HOST),
                "state": fields.choice("state", tuple(HostState)), "launched_by": _id(fields, "launched_by", 128),
                "created_at_ms": _ms(fields, "created_at_ms"), "last_used_at_ms": _ms(fields, "last_used_at_ms"),
                "state_changed_at_ms": _ms(fields, "state_changed_at_ms"),
                "expires_at_ms": _ms(fields, "expires_at_ms"),
                "instance_id": _id(fields, "instance_id", optional=True),
                "drain_reason": _id(fields, "drain_reason", 256, optional=True),
                "releaser": _id(fields, "releaser", optional=True),
                "version": fields.integer("version", 1, ge=1)}

    def is_expired(self, now_ms: int) -> bool:
        return self.expires_at_ms <= now_ms


@dataclass
class SlotLease(Record):
    """Slot ``slot`` of host ``host_id`` leased to execution ``owner`` until ``expires_at_ms``."""
    host_id: str
    seat: int
    zone: str
    slot: int
    owner: str
    acquired_at_ms: int
    expires_at_ms: int
    version: int = 1

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        return {"host_id": _id(fields, "host_id"), "seat": fields.integer("seat", ge=0), "zone": _id(fields, "zone"),
                "slot": fields.integer("slot", ge=0, le=MAX_SLOTS_PER_HOST - 1), "owner": _id(fields, "owner", 128),
                "acquired_at_ms": _ms(fields, "acquired_at_ms"), "expires_at_ms": _ms(fields, "expires_at_ms"),
                "version": fields.integer("version", 1, ge=1)}

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
