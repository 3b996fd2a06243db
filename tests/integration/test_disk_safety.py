"""Refusals before anything is written: mounted images (by any name), attached and mounted loops,
the host's own root disk, outputs that exist or are inputs, read-only images and folders, things
that are not disks. Each leaves the bytes alone (issue 11 points 1, 4 and 6)."""
import json
import os
import stat
import subprocess
import sys
import tempfile

import pytest

from image_repair.agent.disk import blockdev, session
from image_repair.agent.errors import BadInput, RefusedDisk
from . import diskbuild

pytestmark = pytest.mark.needs_root     # mounts filesystems, attaches loop devices (tests/conftest.py decides)


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


# -- issue 11: output files, identity-based in-use checks, mode bits --------------------------------
REPAIR = ("repair-disk", "--items", "fstab,dhcp", "--quiet")


def run(*argv):
    """The agent in its own process; its temporary folders go to the test's scratch folder."""
    return diskbuild.agent(*argv, env={"TMPDIR": tempfile.tempdir})


def one_line(stderr):
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def our_temporaries(folder):
    return [name for name in os.listdir(str(folder)) if name.startswith(".image-repair-")]


def test_a_report_into_a_missing_folder_is_refused_before_any_work(disk, tmp_path):
    """Issue 11 point 1: a --report into a missing folder repaired the disk first, then showed a
    traceback. Now: exit 2, one line, the disk untouched."""
    before = diskbuild.file_hash(disk)
    status, _out, err = run(*(REPAIR + (disk, "--report", str(tmp_path / "missing" / "report.json"))))
    assert status == 2
    assert "folder %s does not exist" % (tmp_path / "missing") in one_line(err)
    assert diskbuild.file_hash(disk) == before


def test_a_refused_command_writes_no_report(disk, image, tmp_path):
    """Issue 11 point 1: a refused command writes nothing at all, report included."""
    report = tmp_path / "report.json"
    start, size = image.parts[1]
    before = diskbuild.file_hash(disk)
    with diskbuild.loop(disk, start, size, read_only=True) as device, diskbuild.mounted(device, "ro,noload"):
        status, _out, err = run(*(REPAIR + (disk, "--report", str(report))))
    assert status == 2 and "is mounted on" in one_line(err)
    assert not report.exists()
    status, _out, err = run("check-disk", disk, "--items", "virtoi", "--report", str(report))
    assert status == 2 and "unknown repair item" in one_line(err)
    assert not report.exists() and diskbuild.file_hash(disk) == before


def test_an_existing_report_needs_force_and_is_replaced_whole(disk, tmp_path):
    """Issue 11 point 1: never an existing file unless --force; written atomically."""
    report = tmp_path / "report.json"
    report.write_text("an earlier report\n")
    before = diskbuild.file_hash(disk)
    status, _out, err = run("check-disk", disk, "--report", str(report))
    assert status == 2 and "already exists" in one_line(err)
    assert report.read_text() == "an earlier report\n"
    status, _out, err = run("check-disk", disk, "--report", str(report), "--force", "--quiet")
    assert status in (0, 1), err
    assert json.loads(report.read_text())["mode"] == "check"
    assert our_temporaries(tmp_path) == [] and diskbuild.file_hash(disk) == before


def test_the_report_is_never_the_image_by_any_name(disk, tmp_path):
    """Issue 11 point 1: `check-disk x.img --report x.img` overwrote the image with JSON."""
    os.link(disk, str(tmp_path / "hardlink.img"))
    os.symlink(disk, str(tmp_path / "symlink.img"))
    before = diskbuild.file_hash(disk)
    for name in ("disk.img", "hardlink.img", "symlink.img"):
        status, _out, err = run("check-disk", disk, "--report", str(tmp_path / name), "--force")
        assert status == 2 and "an input of this command" in one_line(err)
    assert diskbuild.file_hash(disk) == before


def test_a_dry_run_writes_only_the_report_it_was_asked_for(disk, tmp_path):
    """Issue 11 point 1: --dry-run writes nothing but an explicitly asked report."""
    before = diskbuild.folder_state(str(tmp_path))
    status, _out, err = run(*(REPAIR + (disk, "--dry-run", "--report", str(tmp_path / "dry.json"))))
    assert status == 0, err
    after = diskbuild.folder_state(str(tmp_path))
    assert json.loads((tmp_path / "dry.json").read_text())["mode"] == "dry-run"
    del after["dry.json"]
    assert after == before


def test_an_existing_output_is_replaced_only_with_force(disk, tmp_path):
    """Issue 11 point 1 (and 5 for repair-disk): --output never replaces a file without --force,
    and is never the image."""
    output = tmp_path / "copy.img"
    output.write_bytes(b"precious")
    before = diskbuild.file_hash(disk)
    status, _out, err = run(*(REPAIR + (disk, "--output", str(output))))
    assert status == 2 and "already exists" in one_line(err)
    assert output.read_bytes() == b"precious"
    status, _out, err = run(*(REPAIR + (disk, "--output", str(output), "--force")))
    assert status == 0, err
    assert output.stat().st_size == os.path.getsize(disk) and diskbuild.file_hash(str(output)) != before
    assert diskbuild.file_hash(disk) == before and our_temporaries(tmp_path) == []
    os.link(disk, str(tmp_path / "again.img"))
    status, _out, err = run(*(REPAIR + (disk, "--output", str(tmp_path / "again.img"), "--force")))
    assert status == 2 and "an input of this command" in one_line(err)
    status, _out, err = run(*(REPAIR + (disk, "--output", str(tmp_path / "new.img"), "--report",
                                        str(tmp_path / "new.img"))))
    assert status == 2 and "name the same file" in one_line(err)
    assert diskbuild.file_hash(disk) == before


def test_a_read_only_image_is_not_repaired_in_place(disk, tmp_path):
    """Issue 11 point 6: a 0444 image was repaired in place (root passes os.access). Now refused
    unless --force, and --force keeps the mode."""
    os.chmod(disk, 0o444)
    before = diskbuild.file_hash(disk)
    status, _out, err = run(*(REPAIR + (disk,)))
    assert status == 2 and "read-only (mode 0444)" in one_line(err)
    assert diskbuild.file_hash(disk) == before
    status, _out, err = run(*(REPAIR + (disk, "--force")))
    assert status == 0, err
    assert diskbuild.file_hash(disk) != before and stat.S_IMODE(os.stat(disk).st_mode) == 0o444


def test_a_read_only_output_folder_needs_force(disk, tmp_path):
    """Issue 11 point 6: a folder whose mode says read-only (0555) gets no --output or --report
    unless --force."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    os.chmod(str(folder), 0o555)
    status, _out, err = run(*(REPAIR + (disk, "--output", str(folder / "copy.img"))))
    assert status == 2 and "is read-only (mode 0555)" in one_line(err)
    status, _out, err = run("check-disk", disk, "--report", str(folder / "report.json"))
    assert status == 2 and "is read-only (mode 0555)" in one_line(err)
    assert os.listdir(str(folder)) == []
    status, _out, err = run(*(REPAIR + (disk, "--output", str(folder / "copy.img"), "--force")))
    assert status == 0, err
    assert sorted(os.listdir(str(folder))) == ["copy.img"]


def test_a_mount_through_a_hard_link_is_in_use(disk, image, tmp_path):
    """Issue 11 point 4: the same file mounted through a hard link was repaired while mounted."""
    link = str(tmp_path / "hardlink.img")
    os.link(disk, link)
    start, size = image.parts[1]
    point = tempfile.mkdtemp(dir=str(tmp_path))
    subprocess.run(["mount", "-o", "loop,ro,noload,offset=%d,sizelimit=%d" % (start, size), link, point], check=True)
    try:
        assert "is mounted on %s" % point in refused(RefusedDisk, disk)
        status, _out, err = run(*(REPAIR + (disk,)))
        assert status == 2 and "is mounted on %s" % point in one_line(err)
    finally:
        subprocess.run(["umount", point], check=True)


def test_a_mount_through_a_bind_mounted_path_is_in_use(disk, image, tmp_path):
    """Issue 11 point 4: the same file mounted through a bind-mounted folder."""
    bound = tempfile.mkdtemp(dir=str(tmp_path))
    point = tempfile.mkdtemp(dir=str(tmp_path))
    start, size = image.parts[6]
    subprocess.run(["mount", "--bind", os.path.dirname(disk), bound], check=True)
    try:
        subprocess.run(["mount", "-o", "loop,ro,noload,offset=%d,sizelimit=%d" % (start, size),
                        os.path.join(bound, os.path.basename(disk)), point], check=True)
        try:
            assert "is mounted on %s" % point in refused(RefusedDisk, disk)
        finally:
            subprocess.run(["umount", point], check=True)
    finally:
        subprocess.run(["umount", bound], check=True)


def test_a_loop_whose_path_is_gone_is_matched_by_the_kernels_record(disk, image, tmp_path):
    """Issue 11 point 4: sysfs gives the loop's backing file by a name that no longer exists (the
    hard link it was attached through was removed); LOOP_GET_STATUS64's device and inode still
    say it is this image."""
    link = str(tmp_path / "gone.img")
    os.link(disk, link)
    start, size = image.parts[1]
    with diskbuild.loop(link, start, size, read_only=True) as device, diskbuild.mounted(device, "ro,noload") as point:
        os.unlink(link)
        assert "is mounted on %s" % point in refused(RefusedDisk, disk)


def test_a_qcow2_in_a_read_only_folder_is_not_rewritten_in_place(disk, tmp_path):
    """Issue 11 point 6: rewriting a non-raw image in place puts a new file in its folder, so a
    folder whose mode says read-only (0555) refuses it unless --force."""
    folder = tmp_path / "images"
    folder.mkdir()
    image = str(folder / "disk.qcow2")
    diskbuild.sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", disk, image)
    os.chmod(str(folder), 0o555)
    before = diskbuild.file_hash(image)
    status, _out, err = run(*(REPAIR + (image,)))
    assert status == 2 and "folder %s is read-only (mode 0555)" % folder in one_line(err)
    assert diskbuild.file_hash(image) == before and os.listdir(str(folder)) == ["disk.qcow2"]
    status, _out, err = run(*(REPAIR + (image, "--force")))
    assert status == 0, err
    assert diskbuild.file_hash(image) != before and os.listdir(str(folder)) == ["disk.qcow2"]
