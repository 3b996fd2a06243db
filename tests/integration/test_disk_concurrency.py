"""One disk, one run at a time (issue 11, point 2): concurrent repairs of one image all mounted it
read-write and e2fsck found damage about one round in four. Real agent processes on real
filesystem images on loop devices; e2fsck must find every filesystem clean afterwards."""
import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import tempfile

import pytest

from . import diskbuild

pytestmark = pytest.mark.needs_root     # mounts filesystems, attaches loop devices (tests/conftest.py decides)

REPAIR = ["repair-disk", "--items", "fstab,dhcp", "--quiet"]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return diskbuild.build_mbr_ext4(str(tmp_path_factory.mktemp("concurrency")))


@pytest.fixture
def disk(image, tmp_path):
    """A private copy of the MBR guest; afterwards no loop device or mount of it may remain."""
    path = diskbuild.sparse_copy(image.path, str(tmp_path / "disk.img"))
    yield path
    assert diskbuild.mounts_under(str(tmp_path)) == []
    assert diskbuild.loops_backed_by(str(tmp_path)) == []


def agent_process(*argv, **kwargs):
    """The agent in its own process, started now; with ``gate`` it waits for a byte on stdin first."""
    code = "import sys\nfrom image_repair.agent.cli import main\n"
    if kwargs.get("gate"):
        code += "sys.stdin.read(1)\n"
    code += "sys.exit(main(sys.argv[1:]))\n"
    return subprocess.Popen([sys.executable, "-c", code] + [str(a) for a in argv], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


@contextlib.contextmanager
def paused(process):
    """Hold a run where it is (SIGSTOP), whatever it is doing, while the body runs."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def finished_well(process):
    _out, err = process.communicate()
    assert process.returncode == 0, err


def stop(process):
    """End a run the test no longer waits for the way a user would (SIGTERM: it cleans up)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.communicate()


def flock_of(path):
    """(pid, WRITE/READ) of the flock() locks on ``path``'s inode, from /proc/locks."""
    st = os.stat(path)
    key = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    with open("/proc/locks") as handle:
        return [(int(f[4]), f[3]) for f in (line.split() for line in handle) if f[1] == "FLOCK" and f[5] == key]


def wait_for_lock(process, path):
    """Wait until ``process`` holds a flock on ``path`` (its claim), or fail if it ends first."""
    while process.poll() is None:
        if any(pid == process.pid for pid, _kind in flock_of(path)):
            return
    out, err = process.communicate()
    pytest.fail("the run ended (exit %s) without ever locking %s:\n%s" % (process.returncode, path, err))


def filesystems_clean(path, image):
    for number in (1, 6):
        clean, output = diskbuild.e2fsck_clean(path, *image.parts[number])
        assert clean, "partition %d:\n%s" % (number, output)


def test_a_second_repair_is_refused_while_the_first_holds_the_image(disk, image):
    """Issue 11 point 2: the first run holds the image for its whole repair; a second repair and a
    check of the same image are refused (exit 2, naming the holder), and the disk ends clean."""
    first = agent_process(*(REPAIR + [disk]))
    try:
        wait_for_lock(first, disk)
        with paused(first):
            for argv in (REPAIR + [disk], ["check-disk", disk, "--quiet"], REPAIR + [disk, "--dry-run"]):
                status, _out, err = diskbuild.agent(*argv)
                assert status == 2, err
                assert "in use by another run: locked by process %d" % first.pid in err, err
                assert len(err.strip().splitlines()) == 1
        finished_well(first)
    finally:
        stop(first)
    filesystems_clean(disk, image)


def test_three_repairs_started_together_leave_a_clean_disk(disk, image):
    """Issue 11 point 2, as reported: three repair-disk runs on one image released at the same
    moment. Whatever the order, each either repairs alone (exit 0) or is refused (exit 2), and
    every filesystem is clean afterwards."""
    for _round in range(3):
        runs = [agent_process(*(REPAIR + [disk]), gate=True) for _ in range(3)]
        for run in runs:
            run.stdin.write("x")
            run.stdin.flush()
        results = [(run.wait(), run.communicate()[1]) for run in runs]
        assert all(status in (0, 2) for status, _err in results), results
        assert any(status == 0 for status, _err in results), results
        for status, err in results:
            if status == 2:
                assert "in use by another run" in err, err
        filesystems_clean(disk, image)


def test_a_lock_held_by_another_program_is_respected(disk):
    """Issue 11 point 2: the lock is a plain flock(), the one `flock(1)` takes, so any program can
    keep the agent off an image; the agent names it."""
    holder = subprocess.Popen(["flock", "--exclusive", disk, "sleep", "600"])
    try:
        while not any(pid == holder.pid for pid, _kind in flock_of(disk)):
            assert holder.poll() is None
        before = diskbuild.file_hash(disk)
        status, _out, err = diskbuild.agent(*(REPAIR + [disk]))
        assert status == 2 and "locked by process %d (flock --exclusive" % holder.pid in err, err
        assert diskbuild.file_hash(disk) == before
    finally:
        holder.kill()
        holder.wait()


@pytest.fixture
def device(disk):
    with diskbuild.loop(disk) as device:
        yield device


def test_a_block_device_is_claimed_by_its_device_number(device, disk, image):
    """Issue 11 point 2 on block devices: a run on /dev/loopN holds the device (flock on its
    canonical node) and the file behind it, so a second run on the device, on another node for
    the same device, or on the file is refused."""
    first = agent_process(*(REPAIR + [device]))
    alias = os.path.join(tempfile.mkdtemp(), "same-disk")
    os.mknod(alias, 0o600 | 0o060000, os.stat(device).st_rdev)   # another node, same device
    try:
        wait_for_lock(first, device)
        wait_for_lock(first, disk)   # the file behind the loop device is locked right after it
        with paused(first):
            for target in (device, alias, disk):
                status, _out, err = diskbuild.agent(*(REPAIR + [target]))
                assert status == 2 and "in use" in err, (target, err)
        finished_well(first)
    finally:
        stop(first)
        os.unlink(alias)
        os.rmdir(os.path.dirname(alias))
    filesystems_clean(disk, image)


def test_a_block_device_opened_exclusively_elsewhere_is_refused(device, disk):
    """Issue 11 point 2: O_EXCL. The kernel refuses an exclusive open of a block device another
    program holds exclusively (as mkfs, a mount or device-mapper do); the agent asks for one."""
    holder = subprocess.Popen([sys.executable, "-c", "import os, sys; os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL); "
                               "print('held', flush=True); sys.stdin.read()", device],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        before = diskbuild.file_hash(disk)
        status, _out, err = diskbuild.agent(*(REPAIR + [device]))
        assert status == 2 and "the kernel refuses an exclusive open" in err, err
        assert diskbuild.file_hash(disk) == before
    finally:
        holder.stdin.close()
        holder.wait()


def test_a_read_only_block_device_is_refused_for_a_repair(disk):
    """A device the kernel marks read-only (BLKROGET) cannot be repaired in place: refused before
    anything is mounted; a check is fine."""
    with diskbuild.loop(disk, read_only=True) as device:
        status, _out, err = diskbuild.agent(*(REPAIR + [device]))
        assert status == 2 and "read-only block device" in err, err
        status, _out, err = diskbuild.agent("check-disk", device, "--quiet", "--items", "fstab")
        assert status in (0, 1), err


def test_flock_is_what_blocks(disk):
    """The lock the tests above observe is the agent's: a shared flock from this process lets a
    check through and stops a repair."""
    fd = os.open(disk, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        status, _out, err = diskbuild.agent("check-disk", disk, "--quiet", "--items", "fstab")
        assert status in (0, 1), err
        status, _out, err = diskbuild.agent(*(REPAIR + [disk]))
        assert status == 2 and "locked by process %d" % os.getpid() in err, err
    finally:
        os.close(fd)
