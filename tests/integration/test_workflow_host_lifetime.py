"""The repair host's AutoReleaseTime (issue 10): set from the launch's own time, so an execution
resumed long after it was created still launches; pushed forward while the host is needed; and
honoured by the emulator, which releases an instance whose time has come."""
from image_repair.control.steps.host_lifetime import HOST_LIFETIME_S, parse_release_time

from .workflow_env import WorkflowEnv


def release_times(env) -> list:
    return [(c.action, c.params.get("AutoReleaseTime")) for c in env.backend.calls
            if c.action in ("RunInstances", "ModifyInstanceAutoReleaseTime") and not c.error_code]


def test_an_execution_resumed_a_day_after_its_creation_still_launches(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        execution_id, _ = env.start()
        env.backend.advance(24 * 3600)           # created, then nothing ran for a day
        launched_at = env.clock.now()
        result = env.run(execution_id)
        assert result.status == "Succeeded", result.error_code
        (action, when), = [t for t in release_times(env) if t[0] == "RunInstances"]
        assert parse_release_time(when) >= launched_at + HOST_LIFETIME_S - 60
        env.check_invariants(execution_id)


def test_a_host_kept_long_gets_its_release_time_pushed_forward(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        # the host becomes ready 4.5 hours after its launch (less than 2 hours of its 6 left)
        env.after_step["launch_repair_instance"] = lambda e: e.backend.advance(4.5 * 3600)
        result, execution = env.repair()
        assert result.status == "Succeeded", (result.error_code, execution.error)
        times = release_times(env)
        assert [a for a, _ in times] == ["RunInstances", "ModifyInstanceAutoReleaseTime"]
        assert parse_release_time(times[1][1]) > parse_release_time(times[0][1])
        assert execution.steps["launch_repair_instance.keepalive"].result["autoReleaseTime"] == times[1][1]
        env.check_invariants(execution.execution_id)


def test_the_emulator_releases_an_instance_at_its_auto_release_time(tmp_path):
    """The host could be deleted neither when the repair was done nor by clean-up: the repaired
    disk, kept past the host until then, is given back to it (DeleteWithInstance on again), so the
    host's AutoReleaseTime releases both."""
    with WorkflowEnv(tmp_path) as env:
        env.before_step["release_repair_host"] = lambda e: e.backend.faults.fail_next(
            "DeleteInstance", "QuotaExceed.ElasticQuota", times=2)
        result, execution = env.repair()
        assert result.error_code == "CleanUpIncomplete" and len(env.backend.instances) == 1
        [host] = list(env.backend.instances)
        [disk] = [d for d in env.backend.disks.values() if d.type == "data"]
        # both are named in the report, the disk handed back to its host
        assert [(i["kind"], i["id"]) for i in execution.report["leftBehind"]] == [("instance", host), ("disk", disk.id)]
        assert disk.instance_id == host and disk.delete_with_instance
        env.backend.advance(HOST_LIFETIME_S)
        assert env.backend.instances == {}
        assert not [d for d in env.backend.disks.values() if d.type == "data"]   # DeleteWithInstance


def test_the_host_is_deleted_before_the_snapshot_is_accomplished(tmp_path):
    """Issue 12: the host lives only while it works. The repaired disk is kept (DeleteWithInstance
    off) before the host is deleted, snapshotted once Available (off the host), and deleted once
    its snapshot is accomplished; the image and its check run with no host at all."""
    with WorkflowEnv(tmp_path) as env:
        result, execution = env.repair()
        assert result.status == "Succeeded", (result.error_code, execution.error)
        env.check_invariants(execution.execution_id)
        resources = execution.report["resources"]
        host, disk, snapshot = resources["instanceId"], resources["diskId"], resources["snapshotId"]
        done = [c for c in env.backend.calls if not c.error_code and not c.lost]

        def first(action, **params):
            return next(c for c in done if c.action == action
                        and all(str(c.params.get(k)).lower() == v.lower() for k, v in params.items()))
        keep = first("ModifyDiskAttribute", DiskId=disk, DeleteWithInstance="false")
        release = first("DeleteInstance", InstanceId=host)
        create = first("CreateSnapshot", DiskId=disk)
        accomplished = env.backend.snapshots[snapshot].progress.since
        delete_disk = first("DeleteDisk", DiskId=disk)
        image = first("CreateImage")
        assert done.index(keep) < done.index(release) < done.index(create)
        assert release.time < create.time < accomplished <= delete_disk.time <= image.time
        # the snapshot was taken of the disk off its host, and nothing else ever touched the host
        assert not [c for c in done if c.params.get("InstanceId") == host and done.index(c) > done.index(release)
                    and c.action != "DeleteInstance"]
        assert execution.steps["snapshot_repaired_disk.disk"].result == {"diskId": disk, "deleted": True}
        assert [c.params["DiskId"] for c in env.backend.calls if c.action == "DeleteDisk"] == [disk]   # once
