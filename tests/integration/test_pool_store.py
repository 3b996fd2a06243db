"""The pool's state in the store, on both backends: SQLite (a real file) and Tablestore (the real
``tablestore`` SDK over HTTP to the Tablestore emulator on a loopback port). The store's pool
operations (store/pool_rows.py), then the pool's functions over them (control/pool/), then races:
threads, each with a store object of its own as concurrent function instances would have."""
import pytest

from image_repair.control.pool import hosts as pool_hosts
from image_repair.control.pool import leases as pool_leases
from image_repair.control.pool.models import (HostState, HostUnavailable, InstanceTypeSpec, PoolBusy, PoolHost,
                                              PoolHostChanged, PoolSettings, ReleaseResult, SlotLease, SlotLeaseLost)
from image_repair.control.pool.status import pool_status
from image_repair.control.store.models import NEVER_MS
# The store contract's fixtures: both backends, each call another store object on the same data, a
# virtual clock (tests/unit/test_store_contract.py).
from tests.unit.test_store_contract import THREADS, clock, make_store, run_threads, store  # noqa: F401

ZONE = "cn-hangzhou-h"
SPEC = InstanceTypeSpec.model_validate({"InstanceTypeId": "ecs.g7.large", "CpuCoreCount": 2, "DiskQuantity": 17})   # 2 slots
SETTINGS = PoolSettings(max_hosts=2, lease_ttl_s=600, launch_timeout_s=300, idle_release_s=120)


def new_host(store, seat=0, host_id="ph-a", state=HostState.READY, capacity=2, expires=NEVER_MS):
    now = store.now_ms()
    return PoolHost(seat=seat, host_id=host_id, zone=ZONE, instance_type="ecs.g7.large", instance_id="i-" + host_id,
                    capacity=capacity, state=state, launched_by="exec-0", created_at_ms=now, last_used_at_ms=now,
                    state_changed_at_ms=now, expires_at_ms=expires)


def new_lease(store, owner, host_id="ph-a", slot=0, ttl_ms=60_000):
    now = store.now_ms()
    return SlotLease(host_id=host_id, seat=0, zone=ZONE, slot=slot, owner=owner, acquired_at_ms=now,
                     expires_at_ms=now + ttl_ms)


# ---- the store's pool operations ------------------------------------------------------------------
def test_a_seat_holds_one_live_host_and_is_free_again_once_its_row_expires(store, clock):
    first = new_host(store, host_id="ph-a")
    assert store.claim_pool_seat(first) is True
    assert store.claim_pool_seat(new_host(store, host_id="ph-b")) is False
    assert store.get_pool_host(0).host_id == "ph-a" and store.get_pool_host(1) is None
    released = pool_hosts.mark_host_released(store, pool_hosts.drain_host(store, first, "test"))
    assert released.state == HostState.RELEASED and store.get_pool_host(0).version == 3
    assert store.claim_pool_seat(new_host(store, host_id="ph-b")) is True
    assert [(h.seat, h.host_id, h.version) for h in store.list_pool_hosts()] == [(0, "ph-b", 1)]


def test_a_host_change_names_the_host_it_changes(store):
    store.claim_pool_seat(new_host(store, host_id="ph-a"))
    with pytest.raises(PoolHostChanged):
        store.update_pool_host(0, "ph-other", lambda h: h)
    with pytest.raises(PoolHostChanged):
        store.update_pool_host(7, "ph-a", lambda h: h)
    changed = store.update_pool_host(0, "ph-a", lambda h: h.model_copy(update={"capacity": 1, "host_id": "x"}))
    assert changed.host_id == "ph-a" and changed.capacity == 1 and store.get_pool_host(0) == changed


def test_a_stale_host_writer_is_refused_by_the_version_condition(store):
    store.claim_pool_seat(new_host(store))
    row = store._get(store._host_pk(0))
    store.update_pool_host(0, "ph-a", lambda h: h.model_copy(update={"capacity": 1}))
    stale = row.__class__(**{**row.__dict__, "version": row.version + 1})
    assert store._update_if(stale, row.version) is False
    assert store.get_pool_host(0).capacity == 1


def test_a_slot_is_one_owners_until_it_expires(store, clock):
    assert store.take_slot(new_lease(store, "exec-1", ttl_ms=10_000)) is True
    assert store.take_slot(new_lease(store, "exec-2")) is False
    clock.advance(5)
    assert store.take_slot(new_lease(store, "exec-1", ttl_ms=10_000)) is True    # its owner refreshes it
    assert store.get_slot_lease("ph-a", 0).expires_at_ms == store.now_ms() + 10_000
    clock.advance(10)
    assert store.take_slot(new_lease(store, "exec-2")) is True                   # expired: taken
    assert store.get_slot_lease("ph-a", 0).owner == "exec-2"
    assert store.take_slot(new_lease(store, "exec-1", slot=1)) is True           # slots are separate rows


def test_renew_checks_the_owner_and_the_expiry(store, clock):
    store.take_slot(new_lease(store, "exec-1", ttl_ms=10_000))
    renewed = store.renew_slot_lease("ph-a", 0, "exec-1", store.now_ms() + 50_000)
    assert renewed.expires_at_ms == store.now_ms() + 50_000 and renewed.version == 2
    with pytest.raises(SlotLeaseLost):
        store.renew_slot_lease("ph-a", 0, "exec-2", store.now_ms() + 50_000)
    with pytest.raises(SlotLeaseLost):
        store.renew_slot_lease("ph-a", 1, "exec-1", store.now_ms() + 50_000)     # never leased
    clock.advance(50)
    with pytest.raises(SlotLeaseLost):                                           # expired: maybe taken
        store.renew_slot_lease("ph-a", 0, "exec-1", store.now_ms() + 50_000)


def test_release_gives_back_only_the_owners_lease(store, clock):
    store.take_slot(new_lease(store, "exec-1"))
    assert store.release_slot_lease("ph-a", 0, "exec-2") == ReleaseResult.LOST
    assert store.get_slot_lease("ph-a", 0).owner == "exec-1"
    assert store.release_slot_lease("ph-a", 0, "exec-1") == ReleaseResult.RELEASED
    assert store.get_slot_lease("ph-a", 0) is None
    assert store.release_slot_lease("ph-a", 0, "exec-1") == ReleaseResult.LOST
    store.take_slot(new_lease(store, "exec-1", ttl_ms=1000))
    clock.advance(2)
    assert store.release_slot_lease("ph-a", 0, "exec-1") == ReleaseResult.EXPIRED
    assert store.get_slot_lease("ph-a", 0) is None


def test_tidying_deletes_a_lease_only_while_it_is_expired(store, clock):
    store.take_slot(new_lease(store, "exec-1", ttl_ms=1000))
    assert store.delete_expired_slot_lease("ph-a", 0) is False
    clock.advance(1)
    store.take_slot(new_lease(store, "exec-2"))                     # re-taken once expired
    assert store.delete_expired_slot_lease("ph-a", 0) is False
    assert store.get_slot_lease("ph-a", 0).owner == "exec-2"
    clock.advance(61)
    assert store.delete_expired_slot_lease("ph-a", 0) is True
    assert store.get_slot_lease("ph-a", 0) is None
    assert store.delete_expired_slot_lease("ph-a", 0) is False


def test_the_pool_listings_follow_pages_and_hold_their_own_kind_only(store):
    for seat in range(5):
        store.claim_pool_seat(new_host(store, seat=seat, host_id="ph-%d" % seat))
    for slot in range(7):
        store.take_slot(new_lease(store, "exec-%d" % slot, host_id="ph-1", slot=slot))
    store.create_execution("exec-1", "m-src")
    store.acquire_lock("m-src", "exec-1")
    assert [h.seat for h in store.list_pool_hosts()] == [0, 1, 2, 3, 4]
    assert [lease.slot for lease in store.list_slot_leases()] == list(range(7))
    assert [e.execution_id for e in store.list_executions()] == ["exec-1"]


# ---- the pool over the store ----------------------------------------------------------------------
def test_acquire_launches_then_shares_the_host_then_launches_another_then_is_busy(store):
    first = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    assert first.launch and first.host.state == HostState.LAUNCHING and first.lease.slot == 0
    assert first.host.capacity == 2 and first.host.launched_by == "exec-1"
    second = pool_leases.acquire_slot(store, "exec-2", ZONE, SPEC, SETTINGS)     # waits for that launch
    assert not second.launch and (second.host.host_id, second.lease.slot) == (first.host.host_id, 1)
    again = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)      # a retried step
    assert not again.launch and (again.lease.host_id, again.lease.slot) == (first.lease.host_id, 0)
    third = pool_leases.acquire_slot(store, "exec-3", ZONE, SPEC, SETTINGS)
    assert third.launch and third.host.seat == 1
    pool_leases.acquire_slot(store, "exec-4", ZONE, SPEC, SETTINGS)
    with pytest.raises(PoolBusy):
        pool_leases.acquire_slot(store, "exec-5", ZONE, SPEC, SETTINGS)
    with pytest.raises(PoolBusy):           # a zone of its own, but no seat left for a host there
        pool_leases.acquire_slot(store, "exec-5", "cn-hangzhou-i", SPEC, SETTINGS)
    assert len(store.list_pool_hosts()) == 2 and len(store.list_slot_leases()) == 4


def test_a_launch_finishes_or_its_seat_goes_to_another(store, clock):
    grant = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    ready = pool_hosts.mark_host_ready(store, grant.host, "i-1", 1, SPEC, SETTINGS)
    assert ready.state == HostState.READY and ready.instance_id == "i-1" and ready.expires_at_ms == NEVER_MS
    assert ready.capacity == 2                                       # min(16 - 1 disks, 2 vCPUs)
    slow = pool_leases.acquire_slot(store, "exec-2", ZONE, SPEC, SETTINGS.model_copy(update={"max_hosts": 2}))
    assert not slow.launch
    late = pool_leases.acquire_slot(store, "exec-3", ZONE, SPEC, SETTINGS)
    assert late.launch and late.host.seat == 1
    clock.advance(SETTINGS.launch_timeout_s)                         # that launcher died
    other = pool_leases.acquire_slot(store, "exec-4", "cn-hangzhou-i", SPEC, SETTINGS)
    assert other.launch and other.host.seat == 1 and other.host.host_id != late.host.host_id
    with pytest.raises(PoolHostChanged):                              # its instance is the caller's to delete
        pool_hosts.mark_host_ready(store, late.host, "i-late", 0, SPEC, SETTINGS)
    with pytest.raises(HostUnavailable):
        pool_leases.renew_slot(store, late.lease, SETTINGS)
    # an orphan now: its host left the seat, and it is as old as the orphan grace (5 min = the launch deadline here)
    assert [lease.owner for lease in pool_leases.expire_stale_leases(store)] == ["exec-3"]


def test_a_crashed_owners_lease_expires_and_is_taken(make_store, clock):
    store = make_store()
    single = SETTINGS.model_copy(update={"max_hosts": 1})
    one_slot = InstanceTypeSpec.model_validate({"InstanceTypeId": "ecs.g7.large", "CpuCoreCount": 1, "DiskQuantity": 17})
    crashed = pool_leases.acquire_slot(store, "exec-crashed", ZONE, one_slot, single)
    pool_hosts.mark_host_ready(store, crashed.host, "i-1", 0, one_slot, single)
    with pytest.raises(PoolBusy):
        pool_leases.acquire_slot(store, "exec-2", ZONE, one_slot, single)
    clock.advance(single.lease_ttl_s)                                # the owner never renewed: expired
    taken = pool_leases.acquire_slot(make_store(), "exec-2", ZONE, one_slot, single)
    assert not taken.launch and (taken.lease.host_id, taken.lease.slot) == (crashed.lease.host_id, 0)
    with pytest.raises(SlotLeaseLost):
        pool_leases.renew_slot(store, crashed.lease, single)
    assert pool_leases.release_slot(store, crashed.lease) == ReleaseResult.LOST
    assert store.get_slot_lease(crashed.lease.host_id, 0).owner == "exec-2"
    renewed = pool_leases.renew_slot(store, taken.lease, single)
    assert renewed.expires_at_ms == store.now_ms() + 600_000


def test_expiry_tidies_dead_leases_and_leaves_live_ones(store, clock):
    grant = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    clock.advance(SETTINGS.lease_ttl_s / 2)
    pool_leases.acquire_slot(store, "exec-2", ZONE, SPEC, SETTINGS)
    clock.advance(SETTINGS.lease_ttl_s / 2)
    assert [lease.owner for lease in pool_leases.expire_stale_leases(store)] == ["exec-1"]
    assert [lease.owner for lease in store.list_slot_leases()] == ["exec-2"]
    assert store.get_slot_lease(grant.lease.host_id, 0) is None


def test_an_idle_host_is_released_after_the_idle_time_and_none_stays(store, clock):
    grant = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    host = pool_hosts.mark_host_ready(store, grant.host, "i-1", 0, SPEC, SETTINGS)
    clock.advance(SETTINGS.lease_ttl_s - 1)
    assert pool_hosts.release_candidates(store, SETTINGS) == []      # leased: busy however long
    assert pool_leases.release_slot(store, grant.lease) == ReleaseResult.RELEASED
    clock.advance(SETTINGS.idle_release_s - 1)
    assert pool_hosts.release_candidates(store, SETTINGS) == []      # idle, not long enough
    assert pool_status(store).hosts[0].idle_s == SETTINGS.idle_release_s - 1
    clock.advance(1)
    [idle] = pool_hosts.release_candidates(store, SETTINGS)
    assert idle.host_id == host.host_id
    assert pool_hosts.begin_release(store, idle) is True
    assert store.get_pool_host(0).state == HostState.DRAINING
    next_grant = pool_leases.acquire_slot(store, "exec-2", ZONE, SPEC, SETTINGS)
    assert next_grant.launch and next_grant.host.seat == 1           # never onto the leaving host
    released = pool_hosts.mark_host_released(store, store.get_pool_host(0))
    assert released.state == HostState.RELEASED
    assert pool_leases.acquire_slot(store, "exec-3", "cn-hangzhou-i", SPEC, SETTINGS).host.seat == 0


def test_a_release_that_meets_a_new_lease_gives_the_host_back(store, clock):
    grant = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    pool_hosts.mark_host_ready(store, grant.host, "i-1", 0, SPEC, SETTINGS)
    pool_leases.release_slot(store, grant.lease)
    clock.advance(SETTINGS.idle_release_s)
    [idle] = pool_hosts.release_candidates(store, SETTINGS)
    store.take_slot(new_lease(store, "exec-2", host_id=idle.host_id))   # a lease lands between choice and drain
    assert pool_hosts.begin_release(store, idle) is False
    assert store.get_pool_host(0).state == HostState.READY
    with pytest.raises(pool_hosts.NotInState):
        pool_hosts.mark_host_released(store, store.get_pool_host(0))


def test_an_acquirer_that_meets_a_drain_gives_its_slot_back(store, monkeypatch):
    grant = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    host = pool_hosts.mark_host_ready(store, grant.host, "i-1", 0, SPEC, SETTINGS)
    real_take = store.take_slot

    def take_then_drain(lease):        # the drain lands between the acquirer's choice and its touch
        taken = real_take(lease)
        if lease.host_id == host.host_id and store.get_pool_host(0).state == HostState.READY:
            pool_hosts.drain_host(store, host, "Cloud Assistant stopped answering")
        return taken
    monkeypatch.setattr(store, "take_slot", take_then_drain)
    other = pool_leases.acquire_slot(store, "exec-2", ZONE, SPEC, SETTINGS)
    assert other.launch and other.host.seat == 1
    assert store.get_slot_lease(host.host_id, 1) is None             # given back


def test_a_silent_host_is_drained_its_holders_told_and_released_when_free(store):
    grant = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    host = pool_hosts.mark_host_ready(store, grant.host, "i-1", 0, SPEC, SETTINGS)
    drained = pool_hosts.drain_host(store, host, "Cloud Assistant stopped answering")
    assert drained.state == HostState.DRAINING and pool_hosts.drain_host(store, host, "again").drain_reason == \
        "Cloud Assistant stopped answering"
    with pytest.raises(HostUnavailable):
        pool_leases.renew_slot(store, grant.lease, SETTINGS)
    replacement = pool_leases.acquire_slot(store, "exec-2", ZONE, SPEC, SETTINGS)
    assert replacement.launch and replacement.host.seat == 1
    assert pool_hosts.release_candidates(store, SETTINGS) == []      # still leased
    assert pool_leases.release_slot(store, grant.lease) == ReleaseResult.RELEASED
    assert [h.host_id for h in pool_hosts.release_candidates(store, SETTINGS)] == [host.host_id]
    assert pool_hosts.begin_release(store, store.get_pool_host(0)) is True
    assert pool_hosts.mark_host_released(store, store.get_pool_host(0)).state == HostState.RELEASED


def test_a_host_drained_while_launching_keeps_its_instance_for_the_release(store):
    grant = pool_leases.acquire_slot(store, "exec-1", ZONE, SPEC, SETTINGS)
    pool_hosts.drain_host(store, grant.host, "launch abandoned by the operator")
    recorded = pool_hosts.mark_host_ready(store, grant.host, "i-1", 0, SPEC, SETTINGS)
    assert recorded.state == HostState.DRAINING and recorded.instance_id == "i-1"


# ---- races ----------------------------------------------------------------------------------------
def test_racing_acquirers_never_share_a_slot_nor_exceed_capacity_or_quota(make_store):
    results, errors = run_threads(lambda i: pool_leases.acquire_slot(make_store(), "exec-%d" % i, ZONE, SPEC,
                                                                     SETTINGS))
    grants = [grant for grant in results if grant is not None]
    assert all(isinstance(error, PoolBusy) for error in errors if error is not None), errors
    assert len(grants) == SETTINGS.max_hosts * 2 and THREADS > len(grants)    # 2 hosts of 2 slots
    slots = [(grant.lease.host_id, grant.lease.slot) for grant in grants]
    assert len(set(slots)) == len(slots)
    store = make_store()
    hosts = store.list_pool_hosts()
    assert len(hosts) == SETTINGS.max_hosts == sum(grant.launch for grant in grants)
    for host in hosts:
        held = [lease for lease in store.list_slot_leases() if lease.host_id == host.host_id]
        assert len(held) <= host.capacity and all(lease.slot < host.capacity for lease in held)
    assert sorted((lease.host_id, lease.slot) for lease in store.list_slot_leases()) == sorted(slots)


def test_racing_takers_of_a_crashed_owners_slot_get_it_once(make_store, clock):
    single = SETTINGS.model_copy(update={"max_hosts": 1})
    one_slot = InstanceTypeSpec.model_validate({"InstanceTypeId": "ecs.g7.large", "CpuCoreCount": 1, "DiskQuantity": 17})
    store = make_store()
    crashed = pool_leases.acquire_slot(store, "exec-crashed", ZONE, one_slot, single)
    pool_hosts.mark_host_ready(store, crashed.host, "i-1", 0, one_slot, single)
    clock.advance(single.lease_ttl_s)
    results, errors = run_threads(lambda i: pool_leases.acquire_slot(make_store(), "exec-%d" % i, ZONE, one_slot,
                                                                     single))
    winners = [grant for grant in results if grant is not None]
    assert len(winners) == 1 and not winners[0].launch
    assert all(isinstance(error, PoolBusy) for error in errors if error is not None), errors
    assert make_store().get_slot_lease(crashed.lease.host_id, 0).owner == winners[0].lease.owner


def test_racing_releases_and_acquires_never_leave_a_lease_on_a_released_host(make_store, clock):
    """Half the threads acquire and give back at once, half release whatever is idle (idle time 0):
    a host a releaser took out of use holds no live lease, and every acquirer got a usable host."""
    eager = SETTINGS.model_copy(update={"idle_release_s": 0, "max_hosts": 2})
    store = make_store()
    for owner in ("exec-a", "exec-b"):
        grant = pool_leases.acquire_slot(store, owner, ZONE, SPEC, eager)
        if grant.launch:
            pool_hosts.mark_host_ready(store, grant.host, "i-" + owner, 0, SPEC, eager)
    for lease in store.list_slot_leases():
        store.release_slot_lease(lease.host_id, lease.slot, lease.owner)
    clock.advance(1)

    def work(i):
        mine = make_store()
        if i % 2:
            released = []
            for host in pool_hosts.release_candidates(mine, eager):
                if pool_hosts.begin_release(mine, host):
                    leased = [lease for lease in mine.list_slot_leases() if lease.host_id == host.host_id
                              and not lease.is_expired(mine.now_ms())]
                    assert leased == [], leased
                    released.append(pool_hosts.mark_host_released(mine, mine.get_pool_host(host.seat)))
            return released
        try:
            grant = pool_leases.acquire_slot(mine, "exec-%d" % i, ZONE, SPEC, eager)
        except PoolBusy:
            return "busy"
        assert grant.host.state in (HostState.READY, HostState.LAUNCHING)
        return grant
    results, errors = run_threads(work)
    assert errors == [None] * THREADS, errors
    after = make_store()
    by_host = {host.host_id: host for host in after.list_pool_hosts()}
    for lease in after.list_slot_leases():
        host = by_host.get(lease.host_id)
        assert host is not None and host.state != HostState.RELEASED, (lease, host)
