"""Issue 12: every failure path of the repair host's early release leaves nothing behind, on the
in-process emulator (the same paths on the disk-backed local cloud: test_release_failures_localcloud.py).

The release (steps/release_repair_host.py) keeps the repaired disk (DeleteWithInstance off),
deletes the host, waits for the disk to be Available, then snapshot_repaired_disk snapshots it and
deletes it once the snapshot is accomplished. Each test breaks one of those moments with the
emulator's fault injection (emulator/faults.py) and checks the whole account afterwards: every
instance, disk, snapshot and image the run created is gone, but for the new image of a succeeded
repair (and its snapshot) or a resource the report names as left behind on purpose; and the
failure's root cause is in the execution's report. The emulator's latency is the default "manual":
typical durations on a virtual clock that only the flow's waits move, so a run takes well under a
second (with "immediate" a disk or a snapshot would be done before a fault could hold it)."""
import pytest

from image_repair.control.triggers.janitor import janitor

from .workflow_env import WorkflowEnv

HOUR = 3600.0


class ExecutionStopped(BaseException):
    """CloudFlow's StopExecution as the local runner sees it: the flow goes no further, no Catch or
    CleanUp runs (a BaseException: the runner passes ordinary exceptions on as function errors)."""


def alive(env) -> dict:
    """What this run created that still exists, by kind."""
    pools = {"instance": env.backend.instances, "disk": env.backend.disks, "snapshot": env.backend.snapshots,
             "image": env.backend.images}
    return {kind: sorted(i for i in env.created_ids if i in pool) for kind, pool in pools.items()
            if any(i in pool for i in env.created_ids)}


def kept_on_purpose(env, execution) -> dict:
    """A succeeded repair's new image and the snapshot it is made of."""
    image_id = (execution.report or {}).get("newImageId") if execution.status.value == "SUCCEEDED" else None
    if not image_id:
        return {}
    made = [m.snapshot_id for m in env.backend.images[image_id].mappings if m.snapshot_id in env.created_ids]
    return {"image": [image_id], "snapshot": sorted(made)}


def disk_of(env) -> str:
    return env.store.list_executions()[0].steps["wait_until_ready"].result["diskId"]


# A call refused where the early release needs it: DeleteInstance at the release (after
# DeleteWithInstance was turned off: clean-up deletes the host, then the disk it no longer takes
# along), CreateSnapshot of the kept disk (clean-up deletes the disk).
REFUSED = [("release_repair_host", "DeleteInstance", "QuotaExceed.ElasticQuota"),
           ("snapshot_repaired_disk", "CreateSnapshot", "QuotaExceed.Snapshot")]


@pytest.mark.parametrize("step, action, code", REFUSED, ids=[r[1] for r in REFUSED])
def test_a_refused_release_or_snapshot_leaves_nothing(tmp_path, step, action, code):
    with WorkflowEnv(tmp_path) as env:
        env.before_step[step] = lambda e: e.backend.faults.fail_next(action, code)
        result, execution = env.repair()
        assert result.status == "Failed" and execution.status.value == "FAILED"
        assert (execution.error["code"], execution.error["step"]) == (code, step)
        assert execution.report["error"]["code"] == code and execution.report["leftBehind"] == []
        assert alive(env) == {}
        env.check_invariants(execution.execution_id)


def test_a_disk_never_available_is_the_one_thing_named_then_the_janitor_deletes_it(tmp_path):
    """The kept disk stays Detaching: the release's wait times out (the root cause), clean-up cannot
    delete the disk and names it; once the disk is Available the janitor deletes it."""
    with WorkflowEnv(tmp_path) as env:
        env.after_step["release_repair_host"] = lambda e: e.backend.faults.stick(disk_of(e), "Detaching")
        result, execution = env.repair()
        disk = disk_of(env)
        assert result.error_code == "CleanUpIncomplete" and execution.status.value == "FAILED"
        assert (execution.error["code"], execution.error["state"]) == ("FlowWaitTimedOut", "release_repair_host")
        assert [(i["kind"], i["id"]) for i in execution.report["leftBehind"]] == [("disk", disk)]
        assert alive(env) == {"disk": [disk]}                 # no host, no snapshot, no image
        env.backend.faults.stuck.pop(disk)                     # the disk comes off its host at last
        env.backend.advance(7 * HOUR)
        report = janitor(env.ecs, env.store, ttl_s=6 * HOUR, now=env.backend.clock.now())
        assert report.ids("deleted") == [disk] and not report.failed
        assert alive(env) == {}


def test_a_failed_snapshot_is_deleted_with_the_disk(tmp_path):
    """The snapshot ends failed (ECS's Status "failed"): the repair fails naming it, and clean-up
    deletes the failed snapshot and the kept disk."""
    with WorkflowEnv(tmp_path) as env:
        def fail_snapshot(e):
            snapshot = e.store.list_executions()[0].steps["snapshot_repaired_disk.create"].result["snapshotId"]
            e.backend.faults.end_in(snapshot, "failed")
        env.after_step["snapshot_repaired_disk"] = fail_snapshot
        result, execution = env.repair()
        snapshot = execution.steps["snapshot_repaired_disk.create"].result["snapshotId"]
        assert result.status == "Failed" and execution.status.value == "FAILED"
        assert execution.error["step"] == "snapshot_repaired_disk" and snapshot in execution.error["detail"]
        assert execution.report["leftBehind"] == []
        assert [c.params["SnapshotId"] for c in env.backend.calls if c.action == "DeleteSnapshot"
                and not c.error_code] == [snapshot]
        assert alive(env) == {}
        env.check_invariants(execution.execution_id)


def test_delete_disk_failing_everywhere_names_the_disk_and_keeps_the_image(tmp_path):
    """DeleteDisk refused after the snapshot and by every clean-up attempt: the repair still
    succeeds (the image is made), the disk is named in the report with the cloud's code; the
    janitor deletes it once DeleteDisk works again."""
    with WorkflowEnv(tmp_path) as env:
        env.before_step["snapshot_repaired_disk"] = lambda e: e.backend.faults.fail_next(
            "DeleteDisk", "InvalidDiskStatus.DeleteProtection", times=100)
        result, execution = env.repair()
        disk = disk_of(env)
        assert execution.status.value == "SUCCEEDED", execution.error
        left = execution.report["leftBehind"]
        assert [(i["kind"], i["id"]) for i in left] == [("disk", disk)]
        assert "DeleteProtection" in str(left[0])
        expected = kept_on_purpose(env, execution)
        expected["disk"] = [disk]
        assert alive(env) == expected
        env.backend.faults.reset()
        env.backend.advance(7 * HOUR)
        report = janitor(env.ecs, env.store, ttl_s=6 * HOUR, now=env.backend.clock.now())
        assert report.ids("deleted") == [disk] and not report.failed
        assert alive(env) == kept_on_purpose(env, execution)


def stop_before_the_snapshot(env) -> str:
    """Run until the host is released and its disk Available, then stop the execution."""
    def stop(e):
        e.before_step.pop("snapshot_repaired_disk")
        raise ExecutionStopped()
    env.before_step["snapshot_repaired_disk"] = stop
    execution_id, _ = env.start()
    with pytest.raises(ExecutionStopped):
        env.run(execution_id)
    disk = disk_of(env)
    assert env.backend.instances == {} and env.backend.disks[disk].status == "Available"
    assert env.store.get_execution(execution_id).status.value == "RUNNING"
    return execution_id


def test_an_execution_stopped_between_release_and_snapshot_resumes_to_nothing_left(tmp_path):
    """Stopped after the release, before the snapshot: the kept disk is the one thing alive; run
    again (docs/workflow.md: a RUNNING execution is resumed), it is snapshotted and deleted."""
    with WorkflowEnv(tmp_path) as env:
        execution_id = stop_before_the_snapshot(env)
        assert alive(env) == {"disk": [disk_of(env)]}
        result = env.run(execution_id)
        execution = env.store.get_execution(execution_id)
        assert result.status == "Succeeded", (result.error_code, execution.error)
        assert alive(env) == kept_on_purpose(env, execution)
        env.check_invariants(execution_id)


def test_an_execution_stopped_and_never_resumed_is_cleaned_by_the_janitor(tmp_path):
    """Stopped and given up (marked FAILED, as the CLI marks an interrupted run): the janitor deletes
    the kept disk after its TTL; the disk carries the execution's tag."""
    from image_repair.control.store import ExecutionStatus
    with WorkflowEnv(tmp_path) as env:
        execution_id = stop_before_the_snapshot(env)
        disk = disk_of(env)
        env.store.finish_execution(execution_id, ExecutionStatus.FAILED,
                                   error={"code": "Interrupted", "detail": "stopped between release and snapshot"})
        env.backend.advance(7 * HOUR)
        report = janitor(env.ecs, env.store, ttl_s=6 * HOUR, now=env.backend.clock.now())
        assert report.ids("deleted") == [disk] and not report.failed
        assert alive(env) == {}
