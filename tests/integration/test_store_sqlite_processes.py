"""SQLite store across real processes: conditional writes hold when separate processes (not just
threads) race on one database file, as concurrent function instances or CLI runs would.

The contenders are spawned, not forked: like function instances they start as fresh interpreters,
and a forked child would inherit (and might garbage-collect, closing descriptors it does not own)
whatever the long-running pytest process holds from earlier tests."""
import multiprocessing
import os

from image_repair.control.store import LockHeld, StepInProgress
from image_repair.control.store.sqlite import SQLiteStore

PROCESSES = 6


def _contender(path, index, barrier, results, work_log):
    store = SQLiteStore(path)
    barrier.wait(30)
    outcome = {"index": index, "pid": os.getpid()}
    try:
        store.acquire_lock("m-src", "exec-%d" % index, ttl_s=600)
        outcome["lock"] = True
    except LockHeld:
        outcome["lock"] = False

    def work():
        with open(work_log, "a") as log:   # the side effect that must happen once
            log.write("%d\n" % index)
        return {"ranIn": index}
    try:
        outcome["step"] = store.run_step("exec-shared", "launch", work)
    except StepInProgress:
        outcome["step"] = "in-progress"
    for n in range(20):                   # interleaved optimistic updates from every process
        store.record_step_result("exec-shared", "p%d-%d" % (index, n), {"n": n})
    store.close()
    results.put(outcome)


def test_processes_racing_on_one_file(tmp_path):
    path, work_log = str(tmp_path / "state.db"), str(tmp_path / "work.log")
    SQLiteStore(path).create_execution("exec-shared", "m-src")
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    processes = [context.Process(target=_contender, args=(path, i, barrier, results, work_log))
                 for i in range(PROCESSES)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    assert len({o["pid"] for o in outcomes}) == PROCESSES
    assert sum(o["lock"] for o in outcomes) == 1
    with open(work_log) as log:
        ran = log.read().split()
    assert len(ran) == 1
    completed = [o["step"] for o in outcomes if o["step"] != "in-progress"]
    assert all(step == {"ranIn": int(ran[0])} for step in completed)
    store = SQLiteStore(path)
    winner = [o["index"] for o in outcomes if o["lock"]][0]
    assert store.get_lock("m-src").owner == "exec-%d" % winner
    assert len(store.get_execution("exec-shared").steps) == PROCESSES * 20
