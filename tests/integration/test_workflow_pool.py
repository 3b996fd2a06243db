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


def run_together(env, image_ids, **overrides):
    """Start one pooled repair per image and run all the flows at once on the cloud's virtual time
    (local_run.ConcurrentCloudClock); -> [(result, execution)] in order."""
    from image_repair.control.flow import FlowRunner
    from image_repair.control.local_run import ConcurrentCloudClock
    from image_repair.control.models import flow_input
    from .workflow_env import definition
    ids = [env.start(repairImageId=image_id, pool=True, **overrides)[0] for image_id in image_ids]
    clock = ConcurrentCloudClock(env.backend)

    def flow(execution_id):
        runner = FlowRunner(definition(), env.handlers(), clock=clock, region=env.backend.region)
        return lambda: runner.run(flow_input(execution_id), name=execution_id)
    results = clock.run([flow(execution_id) for execution_id in ids])
    return [(result, env.store.get_execution(execution_id)) for result, execution_id in zip(results, ids)]


def check_pool_invariants(env, outcomes):
    """Each image repaired or failed clean; nothing of an execution left but its new image; no slot
    or disk leaked; no disk was on two hosts; no image repaired twice; the hosts are the pool's."""
    for result, execution in outcomes:
        assert not isinstance(result, Exception), result
        assert execution.status.value in ("SUCCEEDED", "FAILED"), execution.status
        assert pool_leftovers(env, execution.execution_id) == [], execution.execution_id
    assert env.store.list_slot_leases() == []
    assert not [d for d in env.backend.disks.values() if d.type == "data" and d.status != "deleted"
                and d.source_snapshot_id and "pool" in d.source_snapshot_id + "broken"], "a data disk was left"
    attached = {}
    for call in calls(env, "AttachDisk"):
        attached.setdefault(call.params["DiskId"], set()).add(call.params["InstanceId"])
    assert all(len(hosts) == 1 for hosts in attached.values()), attached
    repaired = [run["source_snapshot"] for run in env.host.runs]
    assert len(repaired) == len(set(repaired)), "an image was repaired twice"
    for instance in env.backend.instances.values():
        assert TAG_EXECUTION not in instance.tags or instance.status == "Deleted"


def test_ten_images_at_once_through_the_pool(tmp_path):
    images = more_images(10)
    with WorkflowEnv(tmp_path, seed=seed_with(*images)) as env:
        outcomes = run_together(env, [i["id"] for i in images])
        check_pool_invariants(env, outcomes)
        assert [execution.status.value for _, execution in outcomes] == ["SUCCEEDED"] * 10, \
            [(e.execution_id, e.error) for _, e in outcomes if e.error]
        hosts = env.store.list_pool_hosts()
        # the default pool: 4 hosts of 2 slots (ecs.g7.large: 2 vCPUs, one repair per vCPU)
        assert 1 <= len(calls(env, "RunInstances")) == len(hosts) <= 4
        assert all(h.state == HostState.READY and h.capacity == 2 for h in hosts)
        busy = [e for _, e in outcomes if any(k.startswith("launch_repair_instance") for k in e.steps)]
        assert len(busy) == 10


FAULTS = {
    "throttled-creates": lambda b: (b.faults.fail_next("CreateDisk", "Throttling.User", times=3),
                                    b.faults.fail_next("AttachDisk", "Throttling.User", times=3)),
    "lost-create-disk": lambda b: b.faults.lose_response("CreateDisk", times=2, mode="timeout"),
    "lost-attach-and-detach": lambda b: (b.faults.lose_response("AttachDisk", mode="error"),
                                         b.faults.lose_response("DetachDisk", mode="timeout")),
    "attach-fails": lambda b: b.faults.fail_next("AttachDisk", "InvalidOperation.InstanceTypeNotSupport"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_ten_images_through_the_pool_under_faults(tmp_path, fault):
    images = more_images(10)
    with WorkflowEnv(tmp_path, seed=seed_with(*images)) as env:
        FAULTS[fault](env.backend)
        outcomes = run_together(env, [i["id"] for i in images])
        check_pool_invariants(env, outcomes)
        statuses = sorted(execution.status.value for _, execution in outcomes)
        if fault == "attach-fails":      # terminal for the one execution it hits, the others go on
            assert statuses == ["FAILED"] + ["SUCCEEDED"] * 9, statuses
        else:
            assert statuses == ["SUCCEEDED"] * 10, [(e.execution_id, e.error) for _, e in outcomes if e.error]
        assert len({c.params["ClientToken"] for c in calls(env, "CreateDisk")}) == 10


def test_a_pool_host_lost_mid_repair_fails_its_repairs_clean_and_the_pool_goes_on(tmp_path):
    """The host lost under two repairs (when the first is about to start its agent): both fail
    clean (their disks, Available once the host is gone, deleted), the host leaves the pool, and
    the next repair gets a new host."""
    images = more_images(3)
    with WorkflowEnv(tmp_path, seed=seed_with(*images)) as env:
        lost = {}

        def lose_the_host(env):
            (instance_id,) = {c.params["InstanceId"] for c in calls(env, "AttachDisk")}
            if not lost:     # gone as ECS takes it (no DeleteInstance of ours: its protection window would refuse)
                env.backend._remove_instance(env.backend.instances[instance_id])
                lost["instance"] = instance_id
        env.before_step["start_repair"] = lose_the_host
        outcomes = run_together(env, [i["id"] for i in images[:2]])
        check_pool_invariants(env, outcomes)
        assert [e.status.value for _, e in outcomes] == ["FAILED", "FAILED"]
        env.before_step.clear()
        # one met the loss at its SendFile, the other when it checked the host before its disk
        # went there: that one let the host go (drained, released: its instance is gone)
        codes = sorted(e.error["code"] for _, e in outcomes)
        assert codes == ["InvalidInstance.NotFound", "ResourceFailed"], [e.error for _, e in outcomes]
        assert [h.state for h in env.store.list_pool_hosts()] == [HostState.RELEASED]
        # the next repair gets a new host
        result, execution = env.repair(repairImageId=images[2]["id"], pool=True)
        assert result.status == "Succeeded", (result.error_code, result.error_detail, execution.error)
        assert execution.steps["wait_until_ready"].result["instanceId"] != lost["instance"]


def test_the_pool_janitor_releases_idle_hosts_and_pool_instances_no_seat_knows(tmp_path):
    from image_repair.control.pool.models import PoolSettings
    from image_repair.control.triggers.pool_janitor import tend_pool
    settings = PoolSettings(idle_release_s=3600)
    with WorkflowEnv(tmp_path) as env:
        result, execution = env.repair(pool=True)
        assert result.status == "Succeeded", (result.error_code, result.error_detail, execution.error)
        (host,) = env.store.list_pool_hosts()
        # a pool instance whose launcher died before recording it: tagged, in no seat
        orphan = env.ecs.run_instance(
            {"zoneId": "cn-hangzhou-h", "imageId": execution.steps["choose_base_image"].result["imageId"],
             "instanceType": "ecs.g7.large", "securityGroupId": "sg-bp1emulator0000000000",
             "vSwitchId": "vsw-bp1emulator00000000h", "systemDiskCategory": "cloud_essd", "name": "orphan",
             "autoReleaseTime": "2099-01-01T00:00:00Z", "dataDisks": []},
            {TAG_POOL_HOST: "ph-died-before-recording"}, "ir-orphan-token")
        # young: neither goes
        report = tend_pool(env.ecs, env.store, settings, now=env.clock.now())
        assert report.actions == [] and env.backend.instances[host.instance_id].status == "Running"
        # a dry run past both deadlines lists, and changes nothing
        env.backend.advance(settings.idle_release_s)
        report = tend_pool(env.ecs, env.store, settings, dry_run=True, now=env.clock.now())
        assert sorted((a.kind, a.action) for a in report.actions) == [("host", "would_release"),
                                                                    ("instance", "would_delete")]
        assert env.store.list_pool_hosts()[0].state == HostState.READY
        report = tend_pool(env.ecs, env.store, settings, now=env.clock.now())
        assert sorted((a.kind, a.id, a.action) for a in report.actions) == [
            ("host", host.host_id, "released"), ("instance", orphan, "deleted")]
        assert host.instance_id not in env.backend.instances or \
            env.backend.instances[host.instance_id].status != "Running"
        assert [h.state for h in env.store.list_pool_hosts()] == [HostState.RELEASED]
        # the pool is empty when idle; the next repair launches a new host
        result, execution = env.repair(pool=True, retry=1)
        assert result.status == "Succeeded"
        assert len(calls(env, "RunInstances")) == 3


def test_a_host_in_use_is_never_released(tmp_path):
    from image_repair.control.pool.models import PoolSettings
    from image_repair.control.triggers.pool_janitor import tend_pool
    with WorkflowEnv(tmp_path) as env:
        released = []
        env.before_step["wait_for_repair"] = lambda env: released.append(
            tend_pool(env.ecs, env.store, PoolSettings(idle_release_s=0), now=env.clock.now()))
        result, execution = env.repair(pool=True)
        assert result.status == "Succeeded", (result.error_code, result.error_detail, execution.error)
        assert released and [a for a in released[0].actions if a.kind == "host"] == []
        assert not calls(env, "DeleteInstance")


def test_a_hundred_images_through_the_pool_under_api_flow_control(tmp_path):
    """100 images started at once against an emulator that throttles every action at its declared
    default rate (emulator/ratelimit.py: ECS publishes no per-API figure): every image repaired,
    throttling absorbed by the steps' retries (none ends an execution), nothing leaked."""
    images = more_images(100)
    seed = seed_with(*images)
    seed["rate_limits"] = ["default"]
    with WorkflowEnv(tmp_path, seed=seed) as env:
        outcomes = run_together(env, [i["id"] for i in images])
        check_pool_invariants(env, outcomes)
        failed = [(e.execution_id, e.error) for _, e in outcomes if e.status.value != "SUCCEEDED"]
        assert failed == []
        throttled = [c for c in env.backend.calls if c.error_code == "Throttling.User"]
        assert throttled, "the flow control never bit: the test would not show that throttling is absorbed"
        assert len(calls(env, "RunInstances")) <= 4


def test_a_host_whose_cloud_assistant_went_silent_is_drained_replaced_and_released(tmp_path):
    from image_repair.control.pool.models import PoolSettings
    from image_repair.control.triggers.pool_janitor import tend_pool
    images = more_images(2)
    with WorkflowEnv(tmp_path, seed=seed_with(*images)) as env:
        result, first = env.repair(pool=True)
        assert result.status == "Succeeded"
        silent = first.steps["wait_until_ready"].result["instanceId"]
        env.backend.faults.cloud_assistant_down(silent)
        # the next repair finds the host silent before its disk goes there: drained, this one fails clean
        result, second = env.repair(repairImageId=images[0]["id"], pool=True)
        assert result.status == "Failed" and "Cloud Assistant is silent" in second.error["detail"], second.error
        assert pool_leftovers(env, second.execution_id) == [] and env.store.list_slot_leases() == []
        (host,) = env.store.list_pool_hosts()
        assert host.state == HostState.DRAINING
        # the one after gets a new host; the janitor releases the drained one (no lease holds it)
        result, third = env.repair(repairImageId=images[1]["id"], pool=True)
        assert result.status == "Succeeded", (result.error_code, result.error_detail, third.error)
        assert third.steps["wait_until_ready"].result["instanceId"] != silent
        report = tend_pool(env.ecs, env.store, PoolSettings(idle_release_s=3600), now=env.clock.now())
        assert [(a.kind, a.action) for a in report.actions] == [("host", "released")]
        assert [c.params["InstanceId"] for c in calls(env, "DeleteInstance")] == [silent]


def test_a_batchs_snapshots_stay_under_the_pools_bound(tmp_path):
    """Ten images at once with at most two of the project's snapshots progressing: the others wait
    (PoolBusy, retried), every image is repaired."""
    from image_repair.control.pool.models import PoolSettings
    images = more_images(10)
    with WorkflowEnv(tmp_path, seed=seed_with(*images)) as env:
        env.ports.pool = PoolSettings(max_hosts=5, max_snapshots_in_flight=2)
        outcomes = run_together(env, [i["id"] for i in images])
        check_pool_invariants(env, outcomes)
        assert [e.status.value for _, e in outcomes] == ["SUCCEEDED"] * 10, [e.error for _, e in outcomes]
        new = {e.report["newImageId"] for _, e in outcomes}
        spans = [(s.created, s.progress.since) for s in env.backend.snapshots.values()
                 if s.tags.get(TAG_EXECUTION) and s.status == "accomplished" and any(
                     m.snapshot_id == s.id for image_id in new for m in env.backend.images[image_id].mappings)]
        assert len(spans) == 10
        at_once = max(sum(1 for start, end in spans if start <= t < end) for t, _ in spans)
        assert at_once <= 2, spans
        waited = [e for _, e in outcomes if e.steps.get("snapshot_repaired_disk.create")
                  and e.steps["snapshot_repaired_disk.create"].finished_at_ms > e.steps["release_repair_host"].finished_at_ms + 30000]
        assert waited, "no execution waited for a snapshot slot: the bound was never met"
