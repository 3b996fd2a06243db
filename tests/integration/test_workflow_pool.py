"""The pooled path of the repair workflow (issue 13, docs/pool.md, steps/pool_host.py): the same
flow definition, run by the local runner against the emulator with the real SDK, on a shared
warm repair host: one RunInstances for many images, a disk per image made with CreateDisk from its
system snapshot, attached, repaired on its serial, detached, snapshotted and deleted; the host
stays in the pool, its slots free again."""
import copy

import pytest

from image_repair.control.pool.models import HostState
from image_repair.control.policy import TAG_EXECUTION
from image_repair.control.steps.pool_host import TAG_POOL_HOST

from .workflow_env import SOURCE, WorkflowEnv, seed_with

pytestmark = pytest.mark.integration


def more_images(count: int) -> list:
    """``count`` more broken custom images like the seed's SOURCE, each with its own snapshots."""
    from image_repair.emulator.seed import DEFAULT_SEED
    template = [i for i in DEFAULT_SEED["images"] if i["id"] == SOURCE][0]
    images = []
    for n in range(count):
        image = copy.deepcopy(template)
        image["id"] = "m-bp1emulatorpooled%04d" % n
        image["disks"][0]["snapshot_id"] = "s-bp1emulatorpoolsys%04d" % n
        image["disks"][1]["snapshot_id"] = "s-bp1emulatorpooldat%04d" % n
        images.append(image)
    return images


def calls(env, action: str) -> list:
    return [c for c in env.backend.calls if c.action == action]


def pool_leftovers(env, execution_id: str) -> list:
    """The execution's live tagged resources, but its new image and that image's snapshots."""
    return env.leftovers(execution_id)


def test_three_images_share_one_warm_pool_host(tmp_path):
    images = more_images(2)
    with WorkflowEnv(tmp_path, seed=seed_with(*images)) as env:
        finished = []
        for image_id in [SOURCE] + [i["id"] for i in images]:
            result, execution = env.repair(repairImageId=image_id, pool=True)
            assert result.status == "Succeeded", (result.error_code, result.error_detail, execution.error)
            assert pool_leftovers(env, execution.execution_id) == []
            finished.append(execution)
        # one host for the three, launched by the first, never deleted; tagged as the pool's only
        (launch,) = calls(env, "RunInstances")
        assert "DataDisk.1.SnapshotId" not in launch.params
        host_ids = {c.params["InstanceId"] for c in calls(env, "AttachDisk")}
        assert len(host_ids) == 1 and not calls(env, "DeleteInstance")
        (host_instance,) = host_ids
        assert TAG_POOL_HOST in env.backend.instances[host_instance].tags
        assert TAG_EXECUTION not in env.backend.instances[host_instance].tags
        # a disk per image, from that image's system snapshot, in the host's zone, deleted after its snapshot
        created = calls(env, "CreateDisk")
        assert [c.params["SnapshotId"] for c in created] == [
            "s-bp1emulatorbroken0001", "s-bp1emulatorpoolsys0000", "s-bp1emulatorpoolsys0001"]
        assert {c.params["ZoneId"] for c in created} == {env.backend.instances[host_instance].zone}
        assert len({c.params["ClientToken"] for c in created}) == 3
        assert len(calls(env, "DetachDisk")) == 3 and len(calls(env, "DeleteDisk")) == 3
        # the agent ran on each image's own disk, found by serial on the shared host
        assert [run["source_snapshot"] for run in env.host.runs] == [c.params["SnapshotId"] for c in created]
        # the pool: one host, ready and idle, no lease left
        (host,) = env.store.list_pool_hosts()
        assert host.state == HostState.READY and host.instance_id == host_instance
        assert env.store.list_slot_leases() == []
        # the second and third repairs started on a warm host: no boot wait before their disk
        for execution in finished[1:]:
            assert execution.steps["launch_repair_instance"].result["launched"] is False


def test_a_failed_pooled_repair_deletes_its_disk_frees_its_slot_and_keeps_the_host(tmp_path):
    images = more_images(1)
    with WorkflowEnv(tmp_path, seed=seed_with(*images)) as env:
        env.host.outcome = "refused"
        result, execution = env.repair(pool=True)
        assert result.status == "Failed" and execution.status.value == "FAILED"
        assert execution.error["code"] == "RepairFailed", execution.error
        assert pool_leftovers(env, execution.execution_id) == []
        (disk_call,) = calls(env, "CreateDisk")
        assert not [d for d in env.backend.disks.values() if d.source_snapshot_id == disk_call.params["SnapshotId"]]
        assert env.store.list_slot_leases() == []
        (host,) = env.store.list_pool_hosts()
        assert host.state == HostState.READY
        # the host takes the next image
        env.host.outcome = "repaired"
        result, execution = env.repair(repairImageId=images[0]["id"], pool=True)
        assert result.status == "Succeeded", (result.error_code, result.error_detail, execution.error)
        assert len(calls(env, "RunInstances")) == 1
