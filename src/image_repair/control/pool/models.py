"""The repair-host pool's settings, instance-type facts and answers (docs/pool.md).

The records themselves (a host in its seat, a slot lease) are the store's (store/pool_records.py),
re-exported here so the pool's users import one place.
"""
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ..records import Fields, Record

from ..store.models import StoreError
from ..store.pool_records import (MAX_SLOTS_PER_HOST, USABLE_STATES, HostState, PoolHost, PoolHostChanged,
                                  ReleaseResult, SlotLease, SlotLeaseLost)

__all__ = ["PoolSettings", "InstanceTypeSpec", "SlotGrant", "PoolBusy", "HostUnavailable", "slot_capacity",
           "MAX_SLOTS_PER_HOST", "USABLE_STATES", "HostState", "PoolHost", "PoolHostChanged", "ReleaseResult",
           "SlotLease", "SlotLeaseLost"]


@dataclass(frozen=True)
class PoolSettings(Record):
    """How big the pool may grow and how long things live; every value bounded (check)."""
    forbid_extra = True

    max_hosts: int = 4               # hosts the pool may run at once, all zones together (the instance quota)
    cpus_per_slot: int = 1           # vCPUs one concurrent repair needs: a host takes at most vCPUs / this
    lease_ttl_s: float = 1800.0      # a slot lease not renewed for this long is free again
    launch_timeout_s: float = 900.0  # a host still launching after this frees its seat
    idle_release_s: float = 600.0    # a ready host with no lease for this long is released
    # Pooled repairs' snapshots progressing at once, all executions together: a bound of our own (ECS
    # documents none for an account; one snapshot at a time per disk holds by construction), so a
    # batch does not pile hundreds of snapshots on the account's snapshot service at once.
    max_snapshots_in_flight: int = 20

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        return {"max_hosts": fields.integer("max_hosts", 4, ge=1, le=100),
                "cpus_per_slot": fields.integer("cpus_per_slot", 1, ge=1, le=64),
                "lease_ttl_s": fields.number("lease_ttl_s", 1800.0, ge=60.0, le=86400.0),
                "launch_timeout_s": fields.number("launch_timeout_s", 900.0, ge=60.0, le=3600.0),
                "idle_release_s": fields.number("idle_release_s", 600.0, ge=0.0, le=86400.0),
                "max_snapshots_in_flight": fields.integer("max_snapshots_in_flight", 20, ge=1, le=1000)}

    def __post_init__(self):
        # Built directly (PoolSettings(max_hosts=5)) it is checked too: one path to a bad value is none.
        type(self).check_values(self)

    @classmethod
    def check_values(cls, settings: "PoolSettings") -> None:
        fields = Fields(cls.__name__, {f: getattr(settings, f) for f in cls.field_names()}, True)
        cls.check(fields)
        fields.done()

    def ms(self, seconds: float) -> int:
        return int(seconds * 1000)


@dataclass(frozen=True)
class InstanceTypeSpec(Record):
    """What the pool needs to know of an instance type, read from DescribeInstanceTypes' names
    (``InstanceTypeId``, ``CpuCoreCount``, ``DiskQuantity``: the SDK's
    DescribeInstanceTypesResponseBodyInstanceTypesInstanceType.to_map()), or from its own."""
    instance_type: str
    cpu_core_count: int
    disk_quantity: int

    API_NAMES = {"instance_type": "InstanceTypeId", "cpu_core_count": "CpuCoreCount", "disk_quantity": "DiskQuantity"}

    @classmethod
    def check(cls, fields: Fields) -> Dict[str, Any]:
        for ours, api in cls.API_NAMES.items():      # the API's names or ours (populate by name)
            if ours not in fields.raw and api in fields.raw:
                fields.raw = dict(fields.raw, **{ours: fields.raw[api]})
            fields.seen.add(api)
        return {"instance_type": fields.text("instance_type", min_length=1, max_length=64),
                "cpu_core_count": fields.integer("cpu_core_count", ge=1, le=1024),
                "disk_quantity": fields.integer("disk_quantity", ge=1, le=1024)}

    @property
    def data_disk_limit(self) -> int:
        """Data disks the type takes. Whether DiskQuantity counts the system disk is not
        documented where we could read it (docs/cloud-contracts.md, "Pool"): we assume it does,
        the safe reading (one slot too few at worst, never an attach beyond the limit)."""
        return self.disk_quantity - 1


def slot_capacity(spec: InstanceTypeSpec, held_data_disks: int, cpus_per_slot: int) -> int:
    """A host's disk slots: the data disks it can still take (the type's limit minus what it
    already holds), bounded by its CPUs (one repair per ``cpus_per_slot`` vCPUs); never negative."""
    if held_data_disks < 0 or cpus_per_slot < 1:
        raise ValueError("held_data_disks must be >= 0 and cpus_per_slot >= 1")
    by_disks = spec.data_disk_limit - held_data_disks
    by_cpus = spec.cpu_core_count // cpus_per_slot
    return max(0, min(by_disks, by_cpus, MAX_SLOTS_PER_HOST))


@dataclass
class SlotGrant:
    """``acquire_slot``'s answer: the lease, its host, and whether this execution claimed a new
    seat and must now launch the host (``launch``; then ``mark_host_ready`` or ``abandon_launch``).
    A grant on a host still launching waits for it to turn ready (``get_pool_host``)."""
    lease: SlotLease
    host: PoolHost
    launch: bool = False


class PoolBusy(StoreError):
    """No free slot in the zone and every seat holds a live host: wait and ask again."""


class HostUnavailable(StoreError):
    """The host is draining, released or replaced, or the slot is beyond its capacity: stop
    using it, give the slot back, acquire another."""

    def __init__(self, message: str, host: Optional[PoolHost] = None):
        super().__init__(message)
        self.host = host
