"""One contract for every state-store adapter: SQLite (a real file) and Tablestore (the real
``tablestore`` SDK over HTTP to the Tablestore emulator on a loopback port: protobuf, PlainBuffer,
signed requests). Loopback sockets only, no network, so it stays in the unit layer (as
test_bootproof_metadata.py does)."""
import threading

import pytest

from image_repair.control.store import (ConcurrentUpdate, ExecutionNotFound, ExecutionStatus, LockHeld, StepClaimLost,
                                StepInProgress, StepPayloadMismatch, StepStatus, record_key)
from image_repair.emulator.tablestore import TablestoreBackend, TablestoreServer
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.control.store.tablestore import TablestoreStore
from image_repair.control.store.tablestore_retry import RetrySchedule, no_wait

THREADS = 8


class VirtualClock:
    def __init__(self, now: float = 1_700_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return VirtualClock()


@pytest.fixture(params=["sqlite", "tablestore"])
def make_store(request, tmp_path, clock):
    """A factory: every call opens another store object on the same backing data (another
    connection / client user), as concurrent function instances would."""
    server = None
    if request.param == "tablestore":   # tiny pages: listing must follow next_start_primary_key
        server = TablestoreServer(TablestoreBackend(page_rows=3)).start()
    stores = []

    def make():
        if request.param == "sqlite":
            store = SQLiteStore(str(tmp_path / "state.db"), clock=clock, step_timeout_s=60)
        else:   # a client of its own, as another function instance would have
            store = TablestoreStore(server.client(), "image_repair_state", clock=clock, step_timeout_s=60,
                                    retry=RetrySchedule(sleep=no_wait))
        stores.append(store)
        return store
    yield make
    for store in stores:
        store.close()
    if server is not None:
        server.stop()


@pytest.fixture
def store(make_store):
    return make_store()


def run_threads(target, count=THREADS):
    """Start ``count`` threads on ``target(i)`` behind a barrier so they really collide."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, [None] * count

    def body(i):
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as error:   # collected and asserted on by the test
            errors[i] = error
    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


# ---- executions ------------------------------------------------------------------------------
def test_create_execution_once_then_returns_the_existing_one(store, clock):
    execution, created = store.create_execution("exec-1", "m-src", {"repairItems": "auto"})
    assert created and execution.status == ExecutionStatus.RUNNING
    clock.advance(5)
    again, created_again = store.create_execution("exec-1", "m-other", {"repairItems": "all"})
    assert not created_again
    assert again.source_image_id == "m-src" and again.params == {"repairItems": "auto"}
    assert again.created_at_ms == execution.created_at_ms


def test_concurrent_creates_give_one_execution(make_store):
    results, errors = run_threads(lambda i: make_store().create_execution("exec-race", "m-%d" % i))
    assert errors == [None] * THREADS
    winners = [execution for execution, created in results if created]
    assert len(winners) == 1
    assert {execution.source_image_id for execution, _ in results} == {winners[0].source_image_id}


def test_step_results_status_and_report(store, clock):
    store.create_execution("exec-1", "m-src")
    clock.advance(1)
    store.record_step_result("exec-1", "check_source", {"snapshotId": "s-1"})
    done = store.finish_execution("exec-1", ExecutionStatus.SUCCEEDED, report={"newImageId": "m-new"})
    fetched = store.get_execution("exec-1")
    assert fetched == done
    assert fetched.status == ExecutionStatus.SUCCEEDED and fetched.report == {"newImageId": "m-new"}
    assert fetched.steps["check_source"].result == {"snapshotId": "s-1"}
    assert fetched.steps["check_source"].finished_at_ms == int(clock.now * 1000)
    assert fetched.updated_at_ms > fetched.created_at_ms and fetched.version == 3


def test_update_of_unknown_execution_is_an_error(store):
    with pytest.raises(ExecutionNotFound):
        store.record_step_result("nope", "step", {})
    assert store.get_execution("nope") is None


def test_concurrent_writers_lose_no_update(make_store):
    make_store().create_execution("exec-1", "m-src")
    results, errors = run_threads(lambda i: make_store().record_step_result("exec-1", "step-%d" % i, {"i": i}))
    assert errors == [None] * THREADS
    execution = make_store().get_execution("exec-1")
    assert {name: step.result["i"] for name, step in execution.steps.items()} == {
        "step-%d" % i: i for i in range(THREADS)}
    assert execution.version == THREADS + 1


def test_stale_writer_is_refused_by_the_version_condition(store):
    store.create_execution("exec-1", "m-src")
    row = store._get(record_key("exec", "exec-1"))
    store.record_step_result("exec-1", "first", {})          # another writer moved the version on
    stale = row.__class__(**{**row.__dict__, "version": row.version + 1, "data": row.data})
    assert store._update_if(stale, row.version) is False
    assert "first" in store.get_execution("exec-1").steps


def test_a_writer_that_always_loses_gives_up(store, monkeypatch):
    store.create_execution("exec-1", "m-src")
    monkeypatch.setattr(store, "_update_if", lambda row, expected: False)
    with pytest.raises(ConcurrentUpdate):
        store.record_step_result("exec-1", "step", {})


def test_list_executions_follows_pages(store, clock):
    for i in range(7):
        clock.advance(1)
        store.create_execution("exec-%d" % i, "m-%d" % i)
    store.acquire_lock("m-0", "exec-0")   # other kinds never show up in the listing
    assert [e.execution_id for e in store.list_executions()] == ["exec-%d" % i for i in range(7)]


# ---- step idempotency ------------------------------------------------------------------------
def test_completed_step_returns_its_result_without_running_again(store):
    calls = []
    first = store.run_step("exec-1", "launch", lambda: calls.append(1) or {"instanceId": "i-1"})
    second = store.run_step("exec-1", "launch", lambda: calls.append(2) or {"instanceId": "i-2"})
    assert first == second == {"instanceId": "i-1"} and calls == [1]
    record = store.get_step("exec-1", "launch")
    assert record.status == StepStatus.COMPLETED and record.result == {"instanceId": "i-1"}
    assert store.run_step("exec-2", "launch", lambda: {"instanceId": "i-3"}) == {"instanceId": "i-3"}


def test_failed_step_deletes_its_record_so_the_retry_runs(store):
    def boom():
        raise RuntimeError("throttled")
    with pytest.raises(RuntimeError):
        store.run_step("exec-1", "launch", boom)
    assert store.get_step("exec-1", "launch") is None
    assert store.run_step("exec-1", "launch", lambda: {"ok": True}) == {"ok": True}


def test_step_in_progress_blocks_until_it_expires_then_is_taken_over(store, clock):
    first = store.begin_step("exec-1", "snapshot")
    assert not first.completed
    with pytest.raises(StepInProgress) as blocked:
        store.begin_step("exec-1", "snapshot")
    assert blocked.value.record.owner == first.owner
    clock.advance(59.9)
    with pytest.raises(StepInProgress):
        store.begin_step("exec-1", "snapshot")
    clock.advance(0.1)                      # expired: the first attempt is presumed dead
    second = store.begin_step("exec-1", "snapshot")
    assert not second.completed and second.owner != first.owner
    with pytest.raises(StepClaimLost):
        store.complete_step(first, {"snapshotId": "s-late"})
    assert store.fail_step(first) is False   # cannot delete the new attempt's record
    store.complete_step(second, {"snapshotId": "s-1"})
    assert store.begin_step("exec-1", "snapshot").result == {"snapshotId": "s-1"}


def test_completed_records_never_expire(store, clock):
    store.run_step("exec-1", "image", lambda: {"imageId": "m-1"})
    clock.advance(10 * 365 * 86400)
    assert store.begin_step("exec-1", "image").completed


def test_step_payload_mismatch_is_refused(store):
    store.run_step("exec-1", "launch", lambda: {"id": 1}, payload={"zone": "a"})
    assert store.run_step("exec-1", "launch", lambda: {"id": 2}, payload={"zone": "a"}) == {"id": 1}
    with pytest.raises(StepPayloadMismatch):
        store.run_step("exec-1", "launch", lambda: {"id": 3}, payload={"zone": "b"})


def test_racing_attempts_run_the_work_once(make_store):
    ran, collided = [], threading.Semaphore(0)

    def work():
        ran.append(1)
        for _ in range(THREADS - 1):   # hold the record until every other attempt has met it
            collided.acquire(timeout=30)
        return {"n": 1}

    def attempt(i):
        try:
            return make_store().run_step("exec-1", "launch", work)
        except StepInProgress:
            collided.release()
            return "in-progress"

    results, errors = run_threads(attempt)
    assert errors == [None] * THREADS
    assert len(ran) == 1
    assert results.count({"n": 1}) == 1 and results.count("in-progress") == THREADS - 1
    assert make_store().run_step("exec-1", "launch", work) == {"n": 1} and len(ran) == 1


# ---- locks -----------------------------------------------------------------------------------
def test_lock_acquire_release_and_reentry(store, clock):
    lock = store.acquire_lock("m-src", "exec-1", ttl_s=100)
    assert lock.owner == "exec-1" and lock.expires_at_ms == int(clock.now * 1000) + 100_000
    with pytest.raises(LockHeld) as held:
        store.acquire_lock("m-src", "exec-2", ttl_s=100)
    assert held.value.lock.owner == "exec-1"
    clock.advance(50)
    refreshed = store.acquire_lock("m-src", "exec-1", ttl_s=100)   # the owner's retry refreshes
    assert refreshed.expires_at_ms == int(clock.now * 1000) + 100_000
    assert store.release_lock("m-src", "exec-2") is False          # only the owner releases
    assert store.get_lock("m-src").owner == "exec-1"
    assert store.release_lock("m-src", "exec-1") is True
    assert store.get_lock("m-src") is None
    assert store.release_lock("m-src", "exec-1") is False          # already gone: nothing to do
    assert store.acquire_lock("m-src", "exec-2").owner == "exec-2"


def test_expired_lock_is_stolen_and_the_old_owner_cannot_release_it(store, clock):
    store.acquire_lock("m-src", "exec-1", ttl_s=10)
    clock.advance(9.999)
    with pytest.raises(LockHeld):
        store.acquire_lock("m-src", "exec-2", ttl_s=10)
    clock.advance(0.001)
    assert store.get_lock("m-src").is_expired(store.now_ms())
    assert store.acquire_lock("m-src", "exec-2", ttl_s=10).owner == "exec-2"
    assert store.release_lock("m-src", "exec-1") is False
    assert store.get_lock("m-src").owner == "exec-2"


def test_locks_are_per_resource(store):
    store.acquire_lock("m-a", "exec-1")
    assert store.acquire_lock("m-b", "exec-2").owner == "exec-2"


def test_racing_owners_get_one_lock(make_store):
    results, errors = run_threads(lambda i: make_store().acquire_lock("m-src", "exec-%d" % i))
    winners = [lock for lock in results if lock is not None]
    assert len(winners) == 1
    assert all(isinstance(error, LockHeld) for error in errors if error is not None)
    assert sum(error is not None for error in errors) == THREADS - 1
    assert make_store().get_lock("m-src").owner == winners[0].owner


def test_racing_thieves_of_an_expired_lock_get_one_lock(make_store, clock):
    make_store().acquire_lock("m-src", "exec-dead", ttl_s=1)
    clock.advance(2)
    results, errors = run_threads(lambda i: make_store().acquire_lock("m-src", "exec-%d" % i))
    assert sum(lock is not None for lock in results) == 1
    assert make_store().get_lock("m-src").owner != "exec-dead"
