"""The janitor against leaks planted in the emulator (real ECS SDK over HTTP, SQLite store)."""
import pytest

from image_repair.control.clients.ecs import EcsPort
from image_repair.emulator.seed import DEFAULT_SEED
from image_repair.control.policy import TAG_EXECUTION, TAG_SOURCE_IMAGE
from image_repair.control.store import ExecutionStatus
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.testing import ecs_client, mock_ecs
from image_repair.control.triggers.janitor import janitor

HOUR = 3600
SOURCE = "m-bp1emulatorbrokenimg01"
BASE = DEFAULT_SEED["images"][0]["id"]


class Account:
    """Plants resources the way the workflow's steps create them (same tags), through the API."""

    def __init__(self, backend):
        self.backend = backend

    def call(self, action, **params):
        flat = {"RegionId": self.backend.region}
        flat.update({k: str(v) for k, v in params.items()})
        return self.backend.handle(action, flat).body

    @staticmethod
    def tags(execution_id, key=TAG_EXECUTION):
        return {"Tag.1.Key": key, "Tag.1.Value": execution_id, "Tag.2.Key": TAG_SOURCE_IMAGE, "Tag.2.Value": SOURCE}

    def instance(self, execution_id=None, keep_data_disk=False, name="image-repair-host"):
        params = dict(ImageId=BASE, InstanceType="ecs.g7.large", VSwitchId="vsw-bp1emulator00000000h",
                      SecurityGroupId="sg-bp1emulator0000000000", InstanceName=name,
                      **{"DataDisk.1.SnapshotId": "s-bp1emulatorbroken0001",
                         "DataDisk.1.DeleteWithInstance": "false" if keep_data_disk else "true"})
        if execution_id:
            params.update(self.tags(execution_id))
        instance_id = self.call("RunInstances", **params)["InstanceIdSets"]["InstanceIdSet"][0]
        disks = [d.id for d in self.backend.disks.values() if d.instance_id == instance_id]
        return instance_id, disks

    def snapshot(self, disk_id, execution_id=None):
        params = self.tags(execution_id) if execution_id else {}
        return self.call("CreateSnapshot", DiskId=disk_id, **params)["SnapshotId"]

    def image(self, snapshot_id, name, execution_id=None):
        params = self.tags(execution_id) if execution_id else {}
        return self.call("CreateImage", SnapshotId=snapshot_id, ImageName=name, Platform="CentOS", **params)["ImageId"]

    def live(self):
        self.backend.settle()
        return (set(self.backend.instances) | set(self.backend.disks) | set(self.backend.snapshots)
                | set(self.backend.images))


def execution(store, execution_id, status, report=None):
    store.create_execution(execution_id, SOURCE, {})
    if status != ExecutionStatus.RUNNING:
        store.finish_execution(execution_id, status, report=report or {})


@pytest.fixture
def planted(tmp_path):
    store = SQLiteStore(str(tmp_path / "state.db"))
    with mock_ecs() as backend:
        cloud = Account(backend)
        old = {}
        # a FAILED execution left everything: a running host (its disks go with it), a snapshot,
        # a partial image made from it, and a data disk that outlives its instance
        execution(store, "repair-failed", ExecutionStatus.FAILED)
        host, host_disks = cloud.instance("repair-failed", keep_data_disk=True)
        snap = cloud.snapshot(host_disks[1], "repair-failed")
        partial = cloud.image(snap, "repaired_partial", "repair-failed")
        old["failed"] = {host, snap, partial, *host_disks}
        # a SUCCEEDED execution: its new image and that image's snapshot stay; its forgotten host goes
        host2, host2_disks = cloud.instance("repair-ok")
        snap2 = cloud.snapshot(host2_disks[1], "repair-ok")
        product = cloud.image(snap2, "repaired_ok", "repair-ok")
        execution(store, "repair-ok", ExecutionStatus.SUCCEEDED, report={"newImageId": product})
        old["ok_leaks"], old["ok_product"] = {host2, *host2_disks}, {product, snap2}
        # an execution the store does not know: a host and a snapshot
        host3, host3_disks = cloud.instance("repair-unknown")
        snap3 = cloud.snapshot(host3_disks[1], "repair-unknown")
        old["unknown"] = {host3, snap3, *host3_disks}
        # a FAILED execution's snapshot that a user made an (untagged) image from: kept
        snap4 = cloud.snapshot(host3_disks[1], "repair-failed")
        user_image = cloud.image(snap4, "users-own-image")
        old["used_by_user"] = {snap4, user_image}
        # a RUNNING execution's host: its own clean-up owns it
        execution(store, "repair-running", ExecutionStatus.RUNNING)
        host5, host5_disks = cloud.instance("repair-running")
        old["running"] = {host5, *host5_disks}
        # untagged look-alikes: a host named like ours, its snapshot, an image named like ours
        host6, host6_disks = cloud.instance(None, name="image-repair-host")
        snap6 = cloud.snapshot(host6_disks[1])
        image6 = cloud.image(snap6, "repaired_lookalike")
        old["untagged"] = {host6, snap6, image6, *host6_disks}
        backend.advance(7 * HOUR)
        # young leaks of a failed execution: inside the TTL
        execution(store, "repair-failed-young", ExecutionStatus.FAILED)
        host7, host7_disks = cloud.instance("repair-failed-young")
        snap7 = cloud.snapshot(host7_disks[1], "repair-failed-young")
        young = {host7, snap7, *host7_disks}
        yield cloud, store, old, young, EcsPort(ecs_client(backend), backend.region)
    store.close()


def test_janitor_removes_the_planted_leaks_and_nothing_else(planted):
    cloud, store, old, young, ecs = planted
    before = cloud.live()
    leaks = old["failed"] | old["ok_leaks"] | old["unknown"]
    now = cloud.backend.clock.now()

    dry = janitor(ecs, store, ttl_s=6 * HOUR, dry_run=True, now=now)
    assert cloud.live() == before                          # a dry run deletes nothing
    assert set(dry.ids()) == leaks and not dry.failed
    deletes_before = [c for c in cloud.backend.calls if c.action.startswith("Delete")]
    assert deletes_before == []

    report = janitor(ecs, store, ttl_s=6 * HOUR, now=now)
    assert not report.failed, report.failed
    assert set(report.ids()) == leaks
    assert cloud.live() == before - leaks                  # exactly the leaks are gone
    # disks with DeleteWithInstance went with their instance; the one without was deleted itself
    actions = {a.resourceId: a.action for a in report.deleted}
    failed_host_disks = sorted(old["failed"] & set(d for d in actions if d.startswith("d-")))
    assert sorted(actions[d] for d in failed_host_disks) == ["deleted", "gone_with_instance"]
    kept = {a.resourceId: a.reason for a in report.kept}
    assert kept[next(iter(old["ok_product"] & set(cloud.backend.images)))].startswith("the repaired image")
    snap4 = next(iter(old["used_by_user"] & set(cloud.backend.snapshots)))
    assert kept[snap4] == "used by an image that is not deleted"
    assert all(kept[r] == "younger than the TTL" for r in young)
    assert all(kept[r] == "its execution is running" for r in old["running"])
    assert not (old["untagged"] & set(kept) | old["untagged"] & set(actions))    # never even listed
    # every delete was of a tagged resource, instances with Force, images before their snapshots
    order = [c for c in cloud.backend.calls if c.action.startswith("Delete")]
    assert all(str(c.params.get("Force")).lower() == "true" for c in order if c.action == "DeleteInstance"), order
    kinds = [c.action for c in order]
    assert kinds.index("DeleteImage") < kinds.index("DeleteSnapshot")

    again = janitor(ecs, store, ttl_s=6 * HOUR, now=now)   # nothing left to do
    assert again.deleted == [] and again.failed == []


def test_after_the_ttl_young_leaks_go_too(planted):
    cloud, store, old, young, ecs = planted
    janitor(ecs, store, ttl_s=6 * HOUR, now=cloud.backend.clock.now())
    later = janitor(ecs, store, ttl_s=6 * HOUR, now=cloud.backend.clock.now() + 7 * HOUR)
    assert set(later.ids()) == young
    assert old["untagged"] <= cloud.live() and old["running"] <= cloud.live()


def test_a_repaired_disk_that_outlived_its_host_is_deleted_once_available(tmp_path):
    """A failed execution's host released with its repaired disk kept (DeleteWithInstance false):
    the disk is Detaching for a while after the host goes, answers DeleteDisk "not yet" and is
    kept with the reason, then deleted by the next run."""
    store = SQLiteStore(str(tmp_path / "state.db"))
    with mock_ecs(latency="manual") as backend:
        cloud = Account(backend)
        execution(store, "repair-released", ExecutionStatus.FAILED)
        host, (system_disk, data_disk) = cloud.instance("repair-released", keep_data_disk=True)
        backend.advance(7 * HOUR)
        ecs = EcsPort(ecs_client(backend), backend.region)
        first = janitor(ecs, store, ttl_s=6 * HOUR, now=backend.clock.now())
        actions = {a.resourceId: a.action for a in first.deleted}
        assert actions == {host: "deleted", system_disk: "gone_with_instance"} and not first.failed
        kept = {a.resourceId: a.reason for a in first.kept}
        assert "not deletable yet (IncorrectDiskStatus" in kept[data_disk] and "next run" in kept[data_disk]
        assert backend.disks[data_disk].status == "Detaching"
        backend.advance(backend.latency.disk_detach)
        second = janitor(ecs, store, ttl_s=6 * HOUR, now=backend.clock.now())
        assert second.ids("deleted") == [data_disk] and data_disk not in backend.disks
    store.close()
