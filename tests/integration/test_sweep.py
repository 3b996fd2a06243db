"""The scheduled sweep over a seeded emulator (real ECS SDK over HTTP, SQLite store)."""
import math
import threading
from collections import Counter

import pytest

from image_repair.control.clients.ecs import EcsPort
from image_repair.emulator.seed import many_images, seed_with_images
from image_repair.cli.cloud_target import emulator_defaults
from image_repair.control.steps.start import record_execution
from image_repair.control.store import ExecutionStatus
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.testing import ecs_client, mock_ecs
from image_repair.control.triggers.sweep import SweepPolicy, sweep

from .workflow_env import SOURCE, WorkflowEnv


class RecordingLauncher:
    """Counts launches (thread-safe); like LocalLauncher it is not idempotent."""
    idempotent = False

    def __init__(self):
        self.launched, self.lock = [], threading.Lock()

    def launch(self, execution_id: str) -> bool:
        with self.lock:
            self.launched.append(execution_id)
        return True


def kind(image: dict) -> str:
    return image["name"].rsplit("-", 1)[1]


def linux(images):
    return [i for i in images if kind(i) != "windows"]


def test_10000_images_minimum_pages_cap_and_skips(store):
    images = many_images(10000, at_risk_fraction=0.1, other_fraction=0.1, seed=7)
    at_risk = [i["id"] for i in images if kind(i) == "at_risk"]
    with mock_ecs(seed_with_images(images)) as backend:
        defaults = emulator_defaults(backend.seed_data)
        running = at_risk[:3]                  # RUNNING executions (other parameters): in flight, count on the cap
        for image_id in running:
            record_execution(store, dict(defaults, repairImageId=image_id, repairItems=["virtio"]))
        locked = at_risk[3]                    # another execution holds its lock
        store.acquire_lock(locked, owner="repair-someone-else", ttl_s=3600)
        succeeded = at_risk[4]                 # repaired, per the store (the tag was not set)
        done, _, _ = record_execution(store, dict(defaults, repairImageId=succeeded, repairItems=["grub"]))
        store.finish_execution(done.execution_id, ExecutionStatus.SUCCEEDED, report={"newImageId": "m-repaired"})
        watched = at_risk[6]                   # a watch ended healthy under a narrower event policy: not repaired
        seen, _, _ = record_execution(store, dict(defaults, repairImageId=watched, watch=True))
        store.finish_execution(seen.execution_id, ExecutionStatus.SUCCEEDED, report={"outcome": "healthy"})
        failed = at_risk[5]                    # this very repair failed before: not retried
        same, _, _ = record_execution(store, dict(defaults, repairImageId=failed, repairItems=["fstab", "virtio"]))
        store.finish_execution(same.execution_id, ExecutionStatus.FAILED, report={})
        launcher = RecordingLauncher()
        report = sweep(EcsPort(ecs_client(backend), backend.region), store, launcher,
                       SweepPolicy(maxConcurrent=10), defaults=defaults)

        # the minimum pages: 100 images a page over the Linux images, and no other ECS call
        assert backend.call_counts() == Counter({"DescribeImages": math.ceil(len(linux(images)) / 100)})
        assert report.pages == math.ceil(len(linux(images)) / 100) and report.imagesSeen == len(linux(images))
        pages = [c.params for c in backend.calls]
        assert {p["PageSize"] for p in pages} == {"100"} and {p["ImageOwnerAlias"] for p in pages} == {"self"}
        # the cap (10) counts the 3 running executions: 7 starts, each launched once
        assert report.inFlightBefore == 3
        assert len(launcher.launched) == 7 == len(set(launcher.launched))
        assert sorted(launcher.launched) == sorted(d.executionId for d in report.needRepair if d.action == "started")
        special = {*running, locked, succeeded, failed}      # the watched-healthy image is eligible
        eligible = [i for i in at_risk if i not in special]
        assert report.ids("started") == eligible[:7]          # in listing order
        assert report.ids("deferred") == eligible[7:]
        for image_id in report.ids("started"):
            execution = store.get_execution(
                next(d.executionId for d in report.needRepair if d.imageId == image_id))
            assert execution.status == ExecutionStatus.RUNNING
            assert execution.params["repairItems"] == ["fstab", "virtio"]
            assert execution.params["zoneId"] == defaults["zoneId"]
        reasons = {d.imageId: d.reason for d in report.skipped}
        assert {i: reasons[i] for i in special} == {
            running[0]: "in flight", running[1]: "in flight", running[2]: "in flight", locked: "in flight",
            succeeded: "already repaired", failed: "failed before"}
        tagged_repaired = [i["id"] for i in images if kind(i) == "repaired"]
        assert all(reasons[i] == "already repaired" for i in tagged_repaired)
        counts = Counter(kind(i) for i in linux(images))
        assert report.skippedCounts["healthy"] == counts["healthy"] + counts["medium_only"]
        assert report.skippedCounts["not repairable"] == counts["encrypted"] + counts["no_system_disk"]
        assert report.skippedCounts["check not finished"] == counts["checking"]
        assert report.skippedCounts["repair product"] == counts["product"]
        assert watched in report.ids("started")

        # a second sweep: the 7 are in flight now and fill the cap with the 3 others: nothing starts
        again = sweep(EcsPort(ecs_client(backend), backend.region), store, launcher,
                      SweepPolicy(maxConcurrent=10), defaults=defaults)
        assert again.inFlightBefore == 10 and again.ids("started") == [] and len(launcher.launched) == 7
        assert set(again.ids("deferred")) == set(eligible[7:])


def test_policy_levels_items_and_max_starts(store):
    images = many_images(400, at_risk_fraction=0.2, other_fraction=0.4, seed=3)
    with mock_ecs(seed_with_images(images)) as backend:
        defaults = emulator_defaults(backend.seed_data)
        ecs = EcsPort(ecs_client(backend), backend.region)
        medium = sweep(ecs, store, None, {"riskLevels": ["Medium"], "maxConcurrent": 1000},
                       dry_run=True, defaults=defaults)
        assert set(medium.ids()) == {i["id"] for i in images if kind(i) == "medium_only"}
        assert {tuple(d.items) for d in medium.needRepair} == {("cloudinit",)}
        virtio_only = sweep(ecs, store, None, {"items": ["virtio"], "maxConcurrent": 1000}, dry_run=True,
                            defaults=defaults)
        assert {tuple(d.items) for d in virtio_only.needRepair} == {("virtio",)}
        launcher = RecordingLauncher()
        two = sweep(ecs, store, launcher, {"maxConcurrent": 1000}, max_starts=2, defaults=defaults)
        assert len(two.ids("started")) == 2 == len(launcher.launched)
        with pytest.raises(ValueError):
            SweepPolicy(items=["no-such-item"])


def test_two_concurrent_sweeps_start_each_repair_once(tmp_path):
    images = many_images(1000, at_risk_fraction=0.15, other_fraction=0.1, seed=11)
    expected = {i["id"] for i in images if kind(i) == "at_risk"}
    path = str(tmp_path / "shared.db")
    launcher = RecordingLauncher()
    with mock_ecs(seed_with_images(images)) as backend:
        defaults = emulator_defaults(backend.seed_data)
        barrier, reports, errors = threading.Barrier(2), [], []

        def one_sweep():
            store = SQLiteStore(path)        # each sweep its own connection to one file, like two functions
            try:
                barrier.wait()
                reports.append(sweep(EcsPort(ecs_client(backend), backend.region), store, launcher,
                                     {"maxConcurrent": 1000}, defaults=defaults))
            except Exception as error:       # surfaced below
                errors.append(error)
            finally:
                store.close()
        threads = [threading.Thread(target=one_sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
    assert max(Counter(launcher.launched).values()) == 1          # no repair launched twice
    started = [set(r.ids("started")) for r in reports]
    assert started[0] | started[1] == expected and not started[0] & started[1]
    store = SQLiteStore(path)
    try:
        assert {e.source_image_id for e in store.list_executions()} == expected
        assert len(store.list_executions()) == len(expected)
    finally:
        store.close()


def test_a_repaired_image_is_tagged_and_the_next_sweep_skips_it(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        result, execution = env.repair()
        assert result.status == "Succeeded"
        assert env.backend.images[SOURCE].tags["image-repair:repaired-by"] == execution.execution_id
        assert execution.report["sourceTagged"] is True
        report = sweep(env.ecs, env.store, RecordingLauncher(), dry_run=True,
                       defaults=emulator_defaults(env.backend.seed_data))
        reasons = {d.imageId: d.reason for d in report.skipped}
        assert report.needRepair == [] and reasons[SOURCE] == "already repaired"
        assert report.skippedCounts["repair product"] == 1          # the new image itself


def test_bad_defaults_start_nothing(store):
    images = many_images(50, at_risk_fraction=0.5, seed=1)
    with mock_ecs(seed_with_images(images)) as backend:
        launcher = RecordingLauncher()
        from image_repair.control.models import InvalidRequest
        with pytest.raises(InvalidRequest):
            sweep(EcsPort(ecs_client(backend), backend.region), store, launcher, defaults={"zoneId": "nowhere"})
        assert launcher.launched == [] and store.list_executions() == []


def test_a_stale_running_execution_keeps_its_image_but_not_its_place_under_the_cap(tmp_path):
    images = many_images(200, at_risk_fraction=0.3, other_fraction=0.0, seed=9)
    at_risk = [i["id"] for i in images if kind(i) == "at_risk"]
    now = [1_800_000_000.0]
    store = SQLiteStore(str(tmp_path / "state.db"), clock=lambda: now[0])
    try:
        with mock_ecs(seed_with_images(images)) as backend:
            defaults = emulator_defaults(backend.seed_data)
            record_execution(store, dict(defaults, repairImageId=at_risk[0], repairItems=["virtio"]))
            ecs = EcsPort(ecs_client(backend), backend.region)
            fresh = sweep(ecs, store, None, {"maxConcurrent": 3}, dry_run=True, defaults=defaults)
            assert fresh.inFlightBefore == 1 and len(fresh.ids("would_start")) == 2
            now[0] += 25 * 3600                    # its flow was lost a day ago
            stale = sweep(ecs, store, None, {"maxConcurrent": 3}, dry_run=True, defaults=defaults)
            assert stale.inFlightBefore == 0 and len(stale.ids("would_start")) == 3
            assert at_risk[0] not in stale.ids() and {d.reason for d in stale.skipped} == {"in flight"}
    finally:
        store.close()
