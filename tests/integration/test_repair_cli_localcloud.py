"""`image-repair repair --image-file` across runs, as a user lives it (issue 11 points 5 and 9):
stopped by Ctrl-C, killed outright, run again, run again with --output. The real command in a
subprocess on the disk-backed local cloud with a real broken Debian image. Needs root."""
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from image_repair.control.store.sqlite import SQLiteStore

ITEMS = "fstab,grub,virtio,dhcp"       # no package installs: no network needed
GUARD_S = 1800                         # a hung command fails the test instead of hanging CI


pytestmark = pytest.mark.needs_root     # the local cloud: loop devices, mounts (tests/conftest.py decides)


@pytest.fixture(scope="module")
def broken_debian():
    from image_repair_lab.testimages import Recipe, broken_image
    return str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path)


def start(args, env, log: Path) -> subprocess.Popen:
    """The command in the background, its stderr into ``log`` (a pipe could fill and block it)."""
    with open(str(log), "w") as handle:
        return subprocess.Popen([sys.executable, "-m", "image_repair", *args], stdout=subprocess.DEVNULL,
                                stderr=handle, universal_newlines=True, env=env)


def run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "image_repair", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=GUARD_S)


def wait_for_step(store_path: Path, step: str, retry: int, process: subprocess.Popen):
    """The execution of ``retry`` once ``step`` is recorded on it (the process must still run)."""
    import time
    deadline = time.monotonic() + GUARD_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the command ended early (exit %s)" % process.returncode
        if store_path.exists():
            store = SQLiteStore(str(store_path))
            try:
                found = [e for e in store.list_executions()
                         if e.params.get("retry", 0) == retry and step in e.steps]
            finally:
                store.close()
            if found:
                return found[0]
        time.sleep(0.5)
    raise AssertionError("step %s never recorded" % step)


def loops_under(folder: Path) -> list:
    listed = json.loads(subprocess.run(["losetup", "--list", "--json", "--output", "NAME,BACK-FILE"],
                                       stdout=subprocess.PIPE, universal_newlines=True).stdout or "{}")
    return [d["name"] for d in listed.get("loopdevices", []) if (d.get("back-file") or "").startswith(str(folder))]


def processes_in(folder: Path) -> list:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink("/proc/%s/cwd" % pid).startswith(str(folder)):
                found.append(int(pid))
        except OSError:
            continue
    return found


def digest(path: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def status(execution_id: str, env) -> str:
    done = run(["status", execution_id], env)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_stopped_killed_and_run_again(broken_debian, tmp_path):
    """Issue 11 point 9: a local-cloud run that dies leaves nothing RUNNING that a rerun cannot
    clean, and point 5: the rerun writes --output from the recorded result, never overwriting."""
    store_path, cloud = tmp_path / "state.db", tmp_path / "cloud"
    env = dict(os.environ, IMAGE_REPAIR_STORE="sqlite://%s" % store_path)
    args = ["repair", "--image-file", broken_debian, "--cloud-dir", str(cloud), "--items", ITEMS,
            "--time-scale", "0.001"]
    before = (os.stat(broken_debian).st_mtime_ns, digest(broken_debian))

    # 1. Ctrl-C once the repair host is launched: cleaned on the way out, recorded Interrupted.
    first = start(args, env, tmp_path / "first.log")
    wait_for_step(store_path, "launch_repair_instance", 0, first)
    first.send_signal(signal.SIGINT)
    first.wait(GUARD_S)
    err = (tmp_path / "first.log").read_text()
    assert first.returncode == 130, err[-3000:]
    assert "Traceback" not in err and err.rstrip().endswith("image-repair repair: interrupted")
    (interrupted,) = SQLiteStore(str(store_path)).list_executions()
    assert interrupted.status.value == "FAILED" and interrupted.error["code"] == "Interrupted"
    assert list((cloud / "runs").glob("run-*")) == [] and loops_under(cloud) == []
    assert "starts the repair over" in status(interrupted.execution_id, env)

    # 2. SIGKILL while the repair command runs: RUNNING, its files, loop device and command left.
    second = start(args, env, tmp_path / "second.log")
    killed = wait_for_step(store_path, "start_repair", 1, second)
    second.kill()
    second.wait(GUARD_S)
    assert "starting the repair over as retry 1" in (tmp_path / "second.log").read_text()
    assert SQLiteStore(str(store_path)).get_execution(killed.execution_id).status.value == "RUNNING"
    assert list((cloud / "runs").glob("run-*")) and loops_under(cloud / "runs")
    assert "is gone: the same 'image-repair repair --image-file" in status(killed.execution_id, env)

    # 3. The same command, with --output: cleans what the killed run left, starts over as retry 2.
    output = tmp_path / "repaired.img"
    third = run(args + ["--output", str(output), "--json"], env)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "cleaning up after an interrupted local-cloud run" in third.stderr
    assert "starting the repair over as retry 2" in third.stderr
    result = json.loads(third.stdout)
    assert result["status"] == "SUCCEEDED"
    kept = cloud / "images" / (result["executionId"] + ".img")
    assert digest(str(output)) == digest(str(kept))
    assert list((cloud / "runs").glob("run-*")) == [] and loops_under(cloud) == [] and processes_in(cloud) == []
    statuses = {e.params.get("retry", 0): (e.status.value, (e.error or {}).get("code"))
                for e in SQLiteStore(str(store_path)).list_executions()}
    assert statuses == {0: ("FAILED", "Interrupted"), 1: ("FAILED", "Interrupted"), 2: ("SUCCEEDED", None)}
    assert (os.stat(broken_debian).st_mtime_ns, digest(broken_debian)) == before      # only ever read

    # 4. Again, with another --output: the finished execution's kept disk file, nothing rerun.
    again = tmp_path / "again.img"
    fourth = run(args + ["--output", str(again)], env)
    assert fourth.returncode == 0, fourth.stderr[-3000:]
    assert "already ran" in fourth.stderr and digest(str(again)) == digest(str(kept))
    assert len(SQLiteStore(str(store_path)).list_executions()) == 3

    # 5. An existing --output is refused before any work, and left as it is.
    output.write_bytes(b"mine")
    fifth = run(args + ["--output", str(output)], env)
    assert fifth.returncode == 2 and "already exists" in fifth.stderr and output.read_bytes() == b"mine"
    assert len(fifth.stderr.splitlines()) == 1

    # 6. Once the kept file is gone, the rerun says so (exit 1) and writes nothing.
    kept.unlink()
    lost = tmp_path / "lost.img"
    sixth = run(args + ["--output", str(lost)], env)
    assert sixth.returncode == 1 and "is gone" in sixth.stderr and "--retry 3" in sixth.stderr
    assert not lost.exists()

