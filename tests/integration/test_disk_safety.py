"""Refusals before anything is written: mounted images, attached and mounted loops, the host's
own root disk, an existing --output, things that are not disks. Each leaves the bytes alone."""
import json
import os
import subprocess
import sys
import tempfile

import pytest

from image_repair.agent.disk import blockdev, session
from image_repair.agent.errors import BadInput, RefusedDisk
from . import diskbuild

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounts filesystems and attaches loop devices")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return diskbuild.build_mbr_ext4(str(tmp_path_factory.mktemp("safety")))


@pytest.fixture
def disk(image, tmp_path, monkeypatch):
    """A private copy of the MBR guest; afterwards no loop device or mount of it may remain."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = diskbuild.sparse_copy(image.path, str(tmp_path / "disk.img"))
    yield path
    assert diskbuild.loops_backed_by(str(tmp_path)) == []
    assert os.listdir(str(scratch)) == []


def refused(error_type, path, **kwargs):
    before = diskbuild.file_hash(path)
    with pytest.raises(error_type) as info:
        session.resolve_target(path=path, **kwargs)
    assert diskbuild.file_hash(path) == before
    return str(info.value)


def test_an_image_mounted_with_mount_o_loop_is_refused(disk, image):
    start, size = image.parts[1]
    point = tempfile.mkdtemp()
    subprocess.run(["mount", "-o", "loop,ro,offset=%d,sizelimit=%d" % (start, size), disk, point], check=True)
    try:
        message = refused(RefusedDisk, disk)
        assert "is mounted on %s" % point in message
        refused(RefusedDisk, disk, read_only=True)   # even a read-only check: the mount may be writing
    finally:
        subprocess.run(["umount", point], check=True)
        os.rmdir(point)


def test_an_attached_and_mounted_loop_is_refused(disk, image):
    start, size = image.parts[6]
    with diskbuild.loop(disk, start, size) as device, diskbuild.mounted(device) as point:
        message = refused(RefusedDisk, disk, output=disk + ".copy")
        assert "attached to %s" % device in message and point in message
    assert not os.path.exists(disk + ".copy")


def test_an_attached_but_unused_loop_is_only_logged(disk):
    with diskbuild.loop(disk, read_only=True):
        assert session.resolve_target(path=disk, read_only=True).format == "raw"


def test_a_swap_partition_in_use_is_refused(disk, image):
    start, size = image.parts[5]
    with diskbuild.loop(disk, start, size) as device:
        if subprocess.run(["swapon", device], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode != 0:
            pytest.skip("swapon is not allowed on this host")
        try:
            assert "[swap]" in refused(RefusedDisk, disk)
        finally:
            subprocess.run(["swapoff", device], check=True)


def host_root_disk():
    """/dev/NAME of the whole disk holding this host's root filesystem."""
    st = os.stat("/")
    node = "/sys/dev/block/%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
    if not os.path.exists(node):
        return None
    real = os.path.realpath(node)
    if os.path.exists(os.path.join(real, "partition")):
        real = os.path.dirname(real)
    device = "/dev/" + os.path.basename(real)
    return device if os.path.exists(device) else None


def test_the_host_root_disk_is_refused():
    device = host_root_disk()
    if device is None:
        pytest.skip("the root filesystem is not on a block device here")
    with pytest.raises(RefusedDisk, match="running system's root"):
        session.resolve_target(path=device, read_only=True)
    serial = blockdev._sysfs_serial("/sys", os.path.basename(device))
    if serial:
        # found by its serial, as on a repair host, it is refused all the same
        with pytest.raises(RefusedDisk, match="running system's root"):
            session.resolve_target(serial=serial)


def test_an_existing_output_is_refused(disk, tmp_path):
    output = tmp_path / "exists.img"
    output.write_bytes(b"precious")
    assert "already exists" in refused(BadInput, disk, output=str(output))
    assert output.read_bytes() == b"precious"


@pytest.mark.parametrize("content", [b"just some text\n" * 64, b"\0" * 65536])
def test_a_file_that_is_not_a_disk_is_bad_input(tmp_path, content):
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    assert "not a disk image" in refused(BadInput, str(path))


def test_paths_that_are_not_disks(tmp_path):
    with pytest.raises(BadInput, match="does not exist"):
        session.resolve_target(path=str(tmp_path / "missing.img"))
    with pytest.raises(BadInput, match="neither a disk image file nor a block device"):
        session.resolve_target(path=str(tmp_path))
    with pytest.raises(BadInput, match="neither a disk image file nor a block device"):
        session.resolve_target(path="/dev/null")
    with pytest.raises(BadInput, match="exactly one"):
        session.resolve_target()


def test_an_unknown_serial_is_refused():
    with pytest.raises(RefusedDisk, match="no disk on this host has the serial"):
        session.resolve_target(serial="bp1-no-such-disk-here")


def test_the_command_line_exits_2_and_writes_nothing(disk, image, tmp_path):
    start, size = image.parts[1]
    before = diskbuild.file_hash(disk)
    # mounted read-only by the test so that only the agent could change a byte
    with diskbuild.loop(disk, start, size, read_only=True) as device, diskbuild.mounted(device, "ro,noload"):
        result = subprocess.run([sys.executable, "-m", "image_repair.agent", "repair-disk", disk, "--json", "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["error"]["type"] == "RefusedDisk"
    assert diskbuild.file_hash(disk) == before
