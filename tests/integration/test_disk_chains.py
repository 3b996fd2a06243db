"""Image chains (issue 11, point 3): a qcow2 whose backing file was a loop device with a mounted
filesystem was repaired with exit 0, the result a standalone qcow2 holding that filesystem's
files. Every backing file and extent is now vetted before anything reads it, named in the report,
and never written."""
import json
import os
import subprocess
import tempfile

import pytest

from . import diskbuild
from .test_disk_safety import host_root_disk

pytestmark = pytest.mark.needs_root     # mounts filesystems, attaches loop devices (tests/conftest.py decides)

REPAIR = ("repair-disk", "--items", "fstab,dhcp", "--quiet")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return diskbuild.build_mbr_ext4(str(tmp_path_factory.mktemp("chains")))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The test's folder; the agent's temporary folders go to a scratch folder that must end up
    empty, and no mount or loop device on the test's files may survive it."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield tmp_path
    assert os.listdir(str(scratch)) == []
    assert diskbuild.mounts_under(str(tmp_path)) == []
    assert diskbuild.loops_backed_by(str(tmp_path)) == []


def run(*argv):
    return diskbuild.agent(*argv, env={"TMPDIR": tempfile.tempdir})


def overlay(path, backing, backing_format="raw"):
    """A qcow2 over ``backing``, written without opening it (-u), as a hostile file would be."""
    diskbuild.sh("qemu-img", "create", "-q", "-u", "-f", "qcow2", "-b", backing, "-F", backing_format, path, "64M")
    return str(path)


def refused(argv, *expected):
    status, out, err = run(*argv)
    assert status == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err
    return err


def test_a_backing_file_that_is_a_loop_device_with_a_mounted_filesystem_is_refused(image, folder):
    """Issue 11 point 3, as reported: the overlay's backing file is /dev/loopN, whose filesystem
    is mounted. Refused (exit 2) before qemu opens anything; nothing is written."""
    base = diskbuild.sparse_copy(image.path, str(folder / "base.img"))
    start, size = image.parts[1]
    with diskbuild.loop(base) as whole, diskbuild.loop(base, start, size) as part, diskbuild.mounted(part):
        top = overlay(folder / "top.qcow2", whole)
        before = diskbuild.folder_state(str(folder))
        refused(REPAIR + (top,), "backing %r of %s" % (whole, top), "is the block device %s" % whole)
        refused(REPAIR + (top, "--allow-backing-outside"), "is the block device")
        refused(("check-disk", top, "--report", str(folder / "report.json")), "is the block device")
        assert diskbuild.folder_state(str(folder)) == before


def test_a_backing_file_naming_the_hosts_own_disk_is_refused(folder):
    """Issue 11 point 3: a backing file naming the host's own disk was not refused by the agent."""
    device = host_root_disk()
    if device is None:
        pytest.skip("the root filesystem is not on a block device here")
    top = overlay(folder / "top.qcow2", device)
    refused(("check-disk", top), "is the block device %s" % device, "running system's root")


def test_a_vmdk_extent_on_a_block_device_is_refused(image, folder):
    """Issue 11 point 3: vmdk extents are followed like backing files."""
    base = diskbuild.sparse_copy(image.path, str(folder / "base.img"))
    flat = str(folder / "disk.vmdk")
    diskbuild.sh("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", flat, "64M")
    with diskbuild.loop(base) as device:
        with open(flat) as handle:
            text = handle.read().replace('"disk-flat.vmdk"', '"%s"' % device)
        with open(flat, "w") as handle:
            handle.write(text)
        refused(REPAIR + (flat,), "extent %r of %s" % (device, flat), "is the block device")


def test_the_chain_is_named_in_the_report_and_the_backing_file_never_written(image, folder):
    """Issue 11 point 3: every backing file is named in the report; a repair reads it and leaves
    it as it was. The repaired overlay is written back standalone (flattened), atomically."""
    base = diskbuild.sparse_copy(image.path, str(folder / "base.img"))
    top = overlay(folder / "top.qcow2", "base.img")
    base_hash = diskbuild.file_hash(base)
    status, out, err = run("check-disk", top, "--json", "--quiet", "--items", "fstab")
    assert status == 1, err   # the fixture's fstab names /dev/sda1: at risk
    chain = json.loads(out)["disk"]["chain"]
    assert chain == [{"role": "backing", "name": "base.img", "path": base, "format": "raw", "of": top}]
    status, out, err = run(*(REPAIR + (top, "--json", "--report", str(folder / "report.json"))))
    assert status == 0, err
    assert json.loads((folder / "report.json").read_text())["disk"]["chain"] == chain
    assert diskbuild.file_hash(base) == base_hash
    info = json.loads(diskbuild.sh("qemu-img", "info", "--output=json", "-f", "qcow2", top, report=True))
    assert "backing-filename" not in info
    status, _out, err = run("check-disk", top, "--quiet", "--items", "fstab")
    assert status == 0, err
    assert sorted(n for n in os.listdir(str(folder)) if n.startswith(".")) == []


def test_a_backing_file_outside_the_folder_needs_the_flag(image, folder):
    """Issue 11 point 3: outside the image's folder only with --allow-backing-outside."""
    (folder / "images").mkdir()
    (folder / "elsewhere").mkdir()
    base = diskbuild.sparse_copy(image.path, str(folder / "elsewhere" / "base.img"))
    top = overlay(folder / "images" / "top.qcow2", "../elsewhere/base.img")
    refused(("check-disk", top), "outside the image's folder", "--allow-backing-outside")
    status, out, err = run("check-disk", top, "--json", "--quiet", "--items", "fstab", "--allow-backing-outside")
    assert status == 1, err
    assert [m["path"] for m in json.loads(out)["disk"]["chain"]] == [base]


def test_a_backing_file_in_use_is_refused(image, folder):
    """Issue 11 points 3 and 4: a backing file mounted through a loop device, or held by a repair
    of its own, is in use."""
    base = diskbuild.sparse_copy(image.path, str(folder / "base.img"))
    top = overlay(folder / "top.qcow2", "base.img")
    start, size = image.parts[1]
    with diskbuild.loop(base, start, size, read_only=True) as device, diskbuild.mounted(device, "ro,noload") as point:
        refused(("check-disk", top), "backing", "is mounted on %s" % point)
    holder = subprocess.Popen(["flock", "--exclusive", base, "sleep", "600"])
    try:
        while "FLOCK" not in open("/proc/locks").read() or not any(
                line.split()[4] == str(holder.pid) for line in open("/proc/locks") if "FLOCK" in line):
            assert holder.poll() is None
        refused(("check-disk", top), "backing", "in use by another run: locked by process %d" % holder.pid)
    finally:
        holder.kill()
        holder.wait()


def test_outputs_are_never_a_chain_file(image, folder):
    """Issue 11 point 1: --report and --output are never an input, chain files included."""
    base = diskbuild.sparse_copy(image.path, str(folder / "base.img"))
    top = overlay(folder / "top.qcow2", "base.img")
    before = diskbuild.folder_state(str(folder))
    refused(("check-disk", top, "--report", base, "--force"), "an input of this command")
    refused(REPAIR + (top, "--output", base, "--force"), "an input of this command")
    assert diskbuild.folder_state(str(folder)) == before
