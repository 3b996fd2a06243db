"""Claims on image files (issue 11, point 2): flock() exclusive for a repair, shared for a check,
the holder named from /proc/locks; a file qemu has open is in use. Real processes, no root."""
import fcntl
import os
import subprocess
import sys

import pytest

from image_repair.agent.disk import claim
from image_repair.agent.errors import RefusedDisk


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "disk.img"
    path.write_bytes(b"\0" * 1024 * 1024)
    return str(path)


def test_a_repair_excludes_everything_and_checks_share(image):
    """Issue 11 point 2: exclusive for a repair, shared for checks."""
    check_a, check_b, repair = claim.DiskClaim(False), claim.DiskClaim(False), claim.DiskClaim(True)
    check_a.lock_file(image, "image x")
    check_b.lock_file(image, "image x")          # two checks side by side
    with pytest.raises(RefusedDisk, match="in use by another run"):
        repair.lock_file(image, "image x")
    check_a.release()
    check_b.release()
    repair.lock_file(image, "image x")
    with pytest.raises(RefusedDisk, match="in use by another run"):
        claim.DiskClaim(False).lock_file(image, "image x")
    repair.release()
    repair.release()                              # idempotent


def test_the_holder_is_named(image):
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); "
                               "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()", image],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert claim.flock_holders(os.stat(image)) == [(holder.pid, "WRITE")]
        with pytest.raises(RefusedDisk, match="locked by process %d \\(.*python.*\\), exclusively \\(a repair\\)"
                           % holder.pid):
            claim.DiskClaim(False).lock_file(image, "image x")
    finally:
        holder.stdin.close()
        holder.wait()


def test_a_file_qemu_has_open_is_in_use(image):
    """qemu keeps byte-range locks on the images it has open (block/file-posix.c, bytes 100 and
    200 plus a permission bit): a file a qemu process holds is refused, whatever it does with it."""
    qemu = subprocess.Popen(["qemu-io", "-f", "raw", "-c", "sleep 20000", image],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fd = os.open(image, os.O_RDONLY)
    try:
        seen = False
        while not seen and qemu.poll() is None:
            seen = claim.qemu_lock_conflict(fd)
        assert seen, "qemu-io ended without its locks ever being seen"
        with pytest.raises(RefusedDisk, match="qemu's image locks"):
            claim.DiskClaim(False).lock_file(image, "image x")
    finally:
        os.close(fd)
        qemu.kill()
        qemu.wait()
    fd = os.open(image, os.O_RDONLY)
    try:
        assert not claim.qemu_lock_conflict(fd)
    finally:
        os.close(fd)


def test_our_own_flock_does_not_look_like_qemu(image):
    fd, other = os.open(image, os.O_RDONLY), os.open(image, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert not claim.qemu_lock_conflict(other)
    finally:
        os.close(fd)
        os.close(other)
