"""The pool's pure decisions (control/pool/choice.py, models.py): capacity, which slot, which
seat, idle release, stale leases. No store: snapshots built by hand."""
import pytest
from image_repair.control.records import Invalid as ValidationError

from image_repair.control.pool import choice
from image_repair.control.pool.models import (MAX_SLOTS_PER_HOST, HostState, InstanceTypeSpec, PoolHost,
                                              PoolSettings, SlotLease, slot_capacity)
from image_repair.control.store.models import NEVER_MS

NOW = 1_700_000_000_000


def host(seat, state=HostState.READY, zone="cn-hangzhou-h", capacity=4, last_used=NOW - 1000,
         expires=NEVER_MS, host_id=None):
    return PoolHost(seat=seat, host_id=host_id or "ph-%d" % seat, zone=zone, instance_type="ecs.g7.xlarge",
                    instance_id="i-%d" % seat, capacity=capacity, state=state, launched_by="exec-0",
                    created_at_ms=NOW - 10_000, last_used_at_ms=last_used, state_changed_at_ms=NOW - 10_000,
                    expires_at_ms=expires)


def lease(host_id, slot, owner="exec-1", expires=NOW + 60_000, seat=0):
    return SlotLease(host_id=host_id, seat=seat, zone="cn-hangzhou-h", slot=slot, owner=owner,
                     acquired_at_ms=NOW - 1000, expires_at_ms=expires)


# ---- capacity ----------------------------------------------------------------------------------
@pytest.mark.parametrize("disks, cpus, held, per_cpu, expected", [
    (17, 4, 0, 1, 4),       # the CPUs bound: 4 vCPUs, one repair each
    (17, 32, 0, 1, 16),     # the disks bound: 16 data disks besides the system disk
    (17, 32, 5, 1, 11),     # minus the data disks the host already holds
    (17, 32, 0, 4, 8),      # 4 vCPUs per repair
    (3, 8, 2, 1, 0),        # full: never negative
    (2, 1, 0, 2, 0),        # too few CPUs for one repair
    (200, 256, 0, 1, MAX_SLOTS_PER_HOST),   # our own cap
])
def test_capacity_is_the_lesser_of_the_disk_limit_left_and_the_cpu_bound(disks, cpus, held, per_cpu, expected):
    spec = InstanceTypeSpec.model_validate({"InstanceTypeId": "ecs.t", "CpuCoreCount": cpus, "DiskQuantity": disks})
    assert slot_capacity(spec, held, per_cpu) == expected


def test_capacity_refuses_nonsense_counts():
    spec = InstanceTypeSpec.model_validate({"InstanceTypeId": "ecs.t", "CpuCoreCount": 4, "DiskQuantity": 17})
    with pytest.raises(ValueError):
        slot_capacity(spec, -1, 1)
    with pytest.raises(ValueError):
        slot_capacity(spec, 0, 0)


def test_the_instance_type_facts_read_describe_instance_types_as_the_sdk_maps_it():
    """The field names are the real SDK model's (alibabacloud_ecs20140526, to_map())."""
    from alibabacloud_ecs20140526 import models as ecs_models
    sdk_type = ecs_models.DescribeInstanceTypesResponseBodyInstanceTypesInstanceType(
        instance_type_id="ecs.g7.xlarge", cpu_core_count=4, disk_quantity=17, memory_size=16.0)
    spec = InstanceTypeSpec.model_validate(sdk_type.to_map())
    assert (spec.instance_type, spec.cpu_core_count, spec.disk_quantity, spec.data_disk_limit) == \
        ("ecs.g7.xlarge", 4, 17, 16)


@pytest.mark.parametrize("raw", [{"InstanceTypeId": "ecs.t", "CpuCoreCount": 0, "DiskQuantity": 17},
                                 {"InstanceTypeId": "ecs.t", "CpuCoreCount": 4, "DiskQuantity": 0},
                                 {"InstanceTypeId": "", "CpuCoreCount": 4, "DiskQuantity": 17},
                                 {"InstanceTypeId": "ecs.t", "CpuCoreCount": 4, "DiskQuantity": 5000}])
def test_instance_type_facts_are_bounded(raw):
    with pytest.raises(ValidationError):
        InstanceTypeSpec.model_validate(raw)


@pytest.mark.parametrize("field, value", [("max_hosts", 0), ("max_hosts", 101), ("lease_ttl_s", 1),
                                          ("idle_release_s", -1), ("cpus_per_slot", 0), ("launch_timeout_s", 1e9),
                                          ("surprise", 1)])
def test_pool_settings_are_bounded_and_closed(field, value):
    with pytest.raises((ValidationError, TypeError)):    # an unknown name: the constructor refuses it
        PoolSettings(**{field: value})


# ---- which slot ----------------------------------------------------------------------------------
def test_a_free_slot_skips_live_leases_and_reuses_expired_ones():
    h = host(0, capacity=3)
    leases = [lease("ph-0", 0), lease("ph-0", 1, expires=NOW)]      # slot 1's lease expired right now
    assert choice.free_slots(h, leases, NOW) == [1, 2]
    assert choice.choose_slot([h], leases, "cn-hangzhou-h", NOW) == (h, 1)


def test_choice_prefers_ready_then_the_fullest_host_then_the_lowest_seat():
    launching = host(0, state=HostState.LAUNCHING, expires=NOW + 60_000)
    roomy, busy, other_zone = host(1), host(2), host(3, zone="cn-hangzhou-i")
    leases = [lease("ph-2", 0), lease("ph-2", 2)]
    assert choice.choose_slot([launching, roomy, busy, other_zone], leases, "cn-hangzhou-h", NOW) == (busy, 1)
    full = [lease("ph-2", slot) for slot in range(4)]
    assert choice.choose_slot([launching, roomy, busy], full, "cn-hangzhou-h", NOW) == (roomy, 0)
    assert choice.choose_slot([launching], [], "cn-hangzhou-h", NOW) == (launching, 0)
    assert choice.choose_slot([other_zone], [], "cn-hangzhou-h", NOW) is None


@pytest.mark.parametrize("state, expires", [(HostState.DRAINING, NEVER_MS), (HostState.RELEASED, NOW),
                                            (HostState.LAUNCHING, NOW)])   # a launch past its deadline
def test_no_slot_on_a_host_that_takes_no_leases(state, expires):
    assert choice.choose_slot([host(0, state=state, expires=expires)], [], "cn-hangzhou-h", NOW) is None


def test_an_owner_finds_the_lease_it_already_holds():
    a, b = host(0), host(1)
    leases = [lease("ph-0", 0, owner="exec-9"), lease("ph-1", 2, owner="exec-1", seat=1)]
    assert choice.held_lease("exec-1", [a, b], leases, "cn-hangzhou-h", NOW) == (b, leases[1])
    assert choice.held_lease("exec-2", [a, b], leases, "cn-hangzhou-h", NOW) is None
    expired = [lease("ph-1", 2, owner="exec-1", expires=NOW)]
    assert choice.held_lease("exec-1", [a, b], expired, "cn-hangzhou-h", NOW) is None
    drained = host(1, state=HostState.DRAINING)
    assert choice.held_lease("exec-1", [a, drained], leases, "cn-hangzhou-h", NOW) is None


# ---- which seat ----------------------------------------------------------------------------------
def test_a_new_host_takes_the_lowest_free_seat_within_the_quota():
    assert choice.free_seat([], 2, NOW) == 0
    assert choice.free_seat([host(0)], 2, NOW) == 1
    assert choice.free_seat([host(0), host(1, state=HostState.DRAINING)], 2, NOW) is None
    released = host(0, state=HostState.RELEASED, expires=NOW - 1)
    overdue = host(1, state=HostState.LAUNCHING, expires=NOW)
    assert choice.free_seat([released, overdue], 2, NOW) == 0
    assert choice.free_seat([host(0), host(5)], 2, NOW) is None      # a seat beyond a lowered quota counts


# ---- idle release ------------------------------------------------------------------------------
def test_idle_time_counts_from_the_last_use_and_only_without_a_live_lease():
    h = host(0, last_used=NOW - 30_000)
    assert choice.idle_ms(h, [], NOW) == 30_000
    assert choice.idle_ms(h, [lease("ph-0", 0)], NOW) is None
    assert choice.idle_ms(h, [lease("ph-0", 0, expires=NOW - 1)], NOW) == 30_000
    assert choice.idle_ms(host(0, state=HostState.LAUNCHING), [], NOW) is None


def test_hosts_to_release_are_the_long_idle_and_the_drained_without_leases():
    idle_long, idle_short = host(0, last_used=NOW - 600_000), host(1, last_used=NOW - 599_999)
    busy = host(2, last_used=NOW - 10 ** 9)
    drained_free, drained_busy = host(3, state=HostState.DRAINING), host(4, state=HostState.DRAINING)
    launching = host(5, state=HostState.LAUNCHING, expires=NOW + 1, last_used=NOW - 10 ** 9)
    leases = [lease("ph-2", 0), lease("ph-4", 1)]
    chosen = choice.hosts_to_release([idle_long, idle_short, busy, drained_free, drained_busy, launching],
                                     leases, NOW, 600_000)
    assert [h.seat for h in chosen] == [0, 3]
    everything_idle = choice.hosts_to_release([idle_short, busy], [], NOW, 0)
    assert [h.seat for h in everything_idle] == [1, 2]               # idle time 0: none kept when idle


def test_nothing_to_release_while_every_host_works():
    hosts = [host(0), host(1)]
    assert choice.hosts_to_release(hosts, [lease("ph-0", 0), lease("ph-1", 0)], NOW, 0) == []


# ---- stale leases --------------------------------------------------------------------------------
def test_stale_leases_are_the_expired_and_the_orphaned():
    hosts = [host(0), host(1, state=HostState.RELEASED, expires=NOW)]
    live, dead = lease("ph-0", 0), lease("ph-0", 1, expires=NOW)
    orphan_released, orphan_replaced = lease("ph-1", 0, seat=1), lease("ph-gone", 0, seat=2)
    expired, orphaned = choice.stale_leases([live, dead, orphan_released, orphan_replaced], hosts, NOW,
                                            orphan_grace_ms=1000)
    assert expired == [dead] and orphaned == [orphan_released, orphan_replaced]


def test_a_young_lease_without_its_seat_yet_is_no_orphan():
    """A new seat's claimer writes its slot first: a snapshot between the two writes sees a lease
    on a host that is not in a seat yet; it is left alone for the grace time."""
    young = lease("ph-new", 0, seat=1).model_copy(update={"acquired_at_ms": NOW - choice.ORPHAN_GRACE_MS + 1})
    assert choice.stale_leases([young], [host(0)], NOW) == ([], [])
    old = young.model_copy(update={"acquired_at_ms": NOW - choice.ORPHAN_GRACE_MS})
    assert choice.stale_leases([old], [host(0)], NOW) == ([], [old])
