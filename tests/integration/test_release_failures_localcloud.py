"""Issue 12: the early release's failure paths on the disk-backed local cloud (emulator/localcloud.py)
leave nothing behind: no instance, disk, snapshot or image in the account, and no disk file, snapshot
file or loop device on this machine, but for a succeeded repair's new image (and its snapshot's
file) or a resource the report names. The same faults as test_release_failures.py (the emulator's
fault injection; the local cloud is attached to the same backend), here with real files: the real
agent repairs a real Debian image (fstab only: no packages, no network), the repaired disk is a
loop device while attached, a file after its host's release, and CreateSnapshot copies it.

The flow runs as tests/integration/workflow_env.py runs it, on the local cloud's clock as the CLI
uses it (cli/local_session.py ScaledClock, scale 0: waits last only while real work runs). Needs root.

Each local-cloud repair costs ~6 s of real agent work: the paths are the ones where the local
cloud's files and loop devices matter; the others are in test_release_failures.py."""
import subprocess
from pathlib import Path

import pytest

from image_repair.cli.local_session import ScaledClock
from image_repair.emulator.localcloud import LocalCloud

from .test_release_failures import REFUSED, alive, disk_of, kept_on_purpose, stop_before_the_snapshot
from .workflow_env import WorkflowEnv

pytestmark = pytest.mark.needs_root
ITEMS = "fstab"


@pytest.fixture(scope="module")
def broken_debian():
    from image_repair_lab.testimages import Recipe, broken_image
    return str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path)


class LocalCloudEnv(WorkflowEnv):
    """WorkflowEnv on a local cloud: the real agent instead of the stand-in repair host."""

    def __init__(self, tmp_path, image_file: str):
        super().__init__(tmp_path, latency="immediate")     # as the CLI's local sessions
        self.image_file = image_file
        self.cloud_dir = tmp_path / "cloud"

    def __enter__(self) -> "LocalCloudEnv":
        super().__enter__()
        self.backend.command_handlers.remove(self.host)
        self.cloud = LocalCloud(self.backend, str(self.cloud_dir)).__enter__()
        self.image_id = self.cloud.add_image(self.image_file, name="imported-debian", platform="Debian")
        self.created_ids.clear()            # the registered source image and its snapshot are not the run's
        self.clock = ScaledClock(self.backend, 0.0)
        return self

    def __exit__(self, *exc):
        self.cloud.__exit__(*exc)
        super().__exit__(*exc)

    def repair(self, **overrides):
        return super().repair(repairImageId=self.image_id, repairItems=ITEMS, **overrides)

    def start(self, **overrides):
        return super().start(**dict({"repairImageId": self.image_id, "repairItems": ITEMS}, **overrides))

    def files(self, sub: str) -> list:
        return sorted(p.stem for p in (self.cloud_dir / sub).glob("*.img"))

    def loops(self) -> list:
        listing = subprocess.run(["losetup", "--list", "--noheadings", "--raw", "-O", "NAME,BACK-FILE"],
                                 stdout=subprocess.PIPE, universal_newlines=True).stdout
        return [line for line in listing.splitlines() if str(self.cloud_dir) in line]


def assert_nothing_on_disk_but(env, kept: dict) -> None:
    """No disk file, no loop device; the only snapshot files this run made are the kept image's."""
    env.cloud.wait_idle(60)
    assert env.files("disks") == sorted(kept.get("disk", []))
    made = [s for s in env.files("snapshots") if s in env.created_ids]
    assert made == sorted(kept.get("snapshot", []))
    assert env.loops() == []


@pytest.mark.parametrize("step, action, code", REFUSED, ids=[r[1] for r in REFUSED])
def test_a_refused_release_or_snapshot_leaves_nothing(tmp_path, broken_debian, step, action, code):
    with LocalCloudEnv(tmp_path, broken_debian) as env:
        env.before_step[step] = lambda e: e.backend.faults.fail_next(action, code)
        result, execution = env.repair()
        assert execution.status.value == "FAILED" and execution.error["code"] == code
        assert execution.report["leftBehind"] == [] and alive(env) == {}
        assert_nothing_on_disk_but(env, {})


def test_delete_disk_failing_everywhere_then_stopped_and_resumed(tmp_path, broken_debian):
    """Two paths in one repair (each local-cloud repair runs the real agent): the execution stopped
    between the release and the snapshot, resumed; then DeleteDisk refused after the snapshot and by
    clean-up: the repair succeeds and names the disk, whose file is all that is left with the new
    image's snapshot."""
    with LocalCloudEnv(tmp_path, broken_debian) as env:
        execution_id = stop_before_the_snapshot(env)
        disk = disk_of(env)
        assert alive(env) == {"disk": [disk]} and env.files("disks") == [disk] and env.loops() == []
        env.backend.faults.fail_next("DeleteDisk", "InvalidDiskStatus.DeleteProtection", times=100)
        result = env.run(execution_id)
        execution = env.store.get_execution(execution_id)
        assert execution.status.value == "SUCCEEDED", execution.error
        assert [(i["kind"], i["id"]) for i in execution.report["leftBehind"]] == [("disk", disk)]
        expected = dict(kept_on_purpose(env, execution), disk=[disk])
        assert alive(env) == expected
        assert_nothing_on_disk_but(env, expected)
        env.backend.faults.reset()
        env.ecs.delete_disk(disk)
        assert env.files("disks") == [] and not Path(env.cloud_dir / "disks" / (disk + ".img")).exists()


def test_a_disk_never_available(tmp_path, broken_debian):
    """The repaired disk never comes off its released host (its detach frozen by the emulator's
    transition override): the root cause and the disk are named; the disk's file, still on its loop
    device while the cloud says Detaching, is the one thing left, and the local cloud's close
    releases the device."""
    with LocalCloudEnv(tmp_path, broken_debian) as env:
        env.backend.set_transition("disk.detach", manual=True)
        result, execution = env.repair()
        disk = disk_of(env)
        assert execution.status.value == "FAILED" and execution.error["code"] == "FlowWaitTimedOut"
        assert [(i["kind"], i["id"]) for i in execution.report["leftBehind"]] == [("disk", disk)]
        assert alive(env) == {"disk": [disk]}
        env.cloud.wait_idle(60)
        assert env.files("disks") == [disk] and [line.rsplit("/", 1)[1] for line in env.loops()] == [disk + ".img"]
        loops = env.loops
    assert loops() == []


def test_a_failed_snapshot(tmp_path, broken_debian):
    """The snapshot ends failed (the emulator's end_in fault, while or after the local cloud copies
    the disk): clean-up deletes the snapshot and the disk; no file of either is left."""
    with LocalCloudEnv(tmp_path, broken_debian) as env:
        def fail_snapshot(e):
            snapshot = e.store.list_executions()[0].steps["snapshot_repaired_disk.create"].result["snapshotId"]
            e.backend.faults.end_in(snapshot, "failed")
        env.after_step["snapshot_repaired_disk"] = fail_snapshot
        result, execution = env.repair()
        assert execution.status.value == "FAILED" and execution.error["step"] == "snapshot_repaired_disk"
        assert execution.report["leftBehind"] == [] and alive(env) == {}
        assert_nothing_on_disk_but(env, {})
