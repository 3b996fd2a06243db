"""open_guest on small real disks: each layout mounts the right root and filesystems, the layout
dict is right, and afterwards no mount, loop device or temporary folder is left, also when the
body raises."""
import os
import subprocess
import sys
import tempfile

import pytest

from image_repair.agent.disk import formats, imagefile, session
from image_repair.agent.errors import BadInput, RefusedDisk
from . import diskbuild

pytestmark = pytest.mark.needs_root


class Fixtures(object):
    """Fixture disks built once per module, on first use."""

    def __init__(self, folder):
        self.folder = folder
        self._built = {}

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._built:
            self._built[name] = getattr(diskbuild, "build_" + name)(self.folder)
        return self._built[name]

    def copy(self, name, folder):
        """A private copy to repair (the module's disk stays pristine)."""
        source = getattr(self, name).path
        return diskbuild.sparse_copy(source, os.path.join(str(folder), os.path.basename(source)))


@pytest.fixture(scope="module")
def disks(tmp_path_factory):
    return Fixtures(str(tmp_path_factory.mktemp("disk-fixtures")))


@pytest.fixture(autouse=True)
def nothing_left_behind(tmp_path, monkeypatch, disks):
    """Temporary folders of the code under test go to a private folder that must end up empty;
    no mount or loop device on the test's files may survive the test."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield
    assert os.listdir(str(scratch)) == []
    assert diskbuild.mounts_under(str(tmp_path)) == []
    assert diskbuild.loops_backed_by(str(tmp_path)) == []
    assert diskbuild.loops_backed_by(disks.folder) == []


def mount_options_of(path):
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            if fields[4] == path:
                return fields[5].split(",") + line.split(" - ")[1].split()[2].split(",")
    return None


def by_mountpoint(layout):
    return dict((fs["mountpoint"], fs) for fs in layout["filesystems"])


def test_mbr_ext4_root_with_logical_partitions(disks, tmp_path):
    built = disks.mbr_ext4
    path = disks.copy("mbr_ext4", tmp_path)
    target = session.resolve_target(path=path)
    assert target.describe() == {"kind": "image", "path": path, "serial": None, "format": "raw",
                                 "size_bytes": 64 * diskbuild.MiB, "output": None, "chain": []}
    with session.open_guest(target) as guest:
        layout = guest.layout
        assert open(os.path.join(guest.root, "etc/marker")).read() == "mbr\n"
        assert os.path.ismount(os.path.join(guest.root, "var"))
        assert os.path.isdir(os.path.join(guest.root, "var/lib/dpkg"))
        assert "rw" in mount_options_of(guest.root)
        with open(os.path.join(guest.root, "etc/written"), "w") as handle:
            handle.write("by the test\n")
    assert layout["summary"] == "mbr; / ext4 on partition 1; /var ext4 on partition 6"
    assert layout["table"] == "mbr" and layout["boot_mode_hint"] == "BIOS"
    assert layout["disk_device"].startswith("/dev/loop")
    mounts = by_mountpoint(layout)
    assert sorted(mounts, key=str) == ["/", "/var", None]
    root = mounts["/"]
    assert (root["partition"], root["fstype"], root["uuid"], root["label"], root["lvm"], root["subvol"]) == (
        1, "ext4", built.root_uuid, "rootfs", None, None)
    assert (mounts["/var"]["partition"], mounts["/var"]["uuid"]) == (6, built.var_uuid)
    assert (mounts[None]["partition"], mounts[None]["fstype"], mounts[None]["uuid"]) == (5, "swap", built.swap_uuid)
    assert root["partuuid"].endswith("-01")
    # the write went to the disk: read it back read-only
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        assert open(os.path.join(guest.root, "etc/written")).read() == "by the test\n"


def test_read_only_mode_mounts_read_only_and_changes_no_byte(disks):
    path = disks.mbr_ext4.path
    before = diskbuild.file_hash(path)
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        for mountpoint in ("", "/var"):
            assert "ro" in mount_options_of(guest.root + mountpoint)
        assert "norecovery" in mount_options_of(guest.root)   # ext4 shows noload as norecovery
        with pytest.raises(OSError):
            open(os.path.join(guest.root, "etc/new"), "w")
        guest.prepare_chroot(type("Facts", (), {"boot_mode": "BIOS"})())
        assert os.path.ismount(os.path.join(guest.root, "proc"))
    assert diskbuild.file_hash(path) == before


def test_gpt_with_boot_and_esp_is_uefi(disks, tmp_path):
    built = disks.gpt_uefi
    with session.open_guest(session.resolve_target(path=built.path, read_only=True)) as guest:
        layout = guest.layout
        assert os.path.ismount(os.path.join(guest.root, "boot"))
        assert open(os.path.join(guest.root, "boot/grub/grub.cfg")).read() == "# boot partition\n"
        esp_mounted = os.path.ismount(os.path.join(guest.root, "boot/efi"))
    assert layout["summary"] == "gpt; / ext4 on partition 2; /boot ext4 on partition 1; /boot/efi vfat on partition 15"
    assert layout["table"] == "gpt" and layout["boot_mode_hint"] == "UEFI"
    mounts = by_mountpoint(layout)
    assert (mounts["/"]["partition"], mounts["/"]["uuid"]) == (2, built.root_uuid)
    assert (mounts["/boot"]["partition"], mounts["/boot"]["uuid"]) == (1, built.boot_uuid)
    esp = mounts["/boot/efi"]
    assert (esp["partition"], esp["fstype"], esp["uuid"], esp["partuuid"]) == (15, "vfat", "1234-ABCD", built.esp_partuuid)
    # this host's kernel may lack vfat; then the layout says the ESP is not mounted
    assert esp["mounted"] == esp_mounted == ("vfat" in open("/proc/filesystems").read())


def test_lvm_root_on_a_single_linear_lv(disks):
    built = disks.lvm
    with session.open_guest(session.resolve_target(path=built.path, read_only=True)) as guest:
        layout = guest.layout
        assert open(os.path.join(guest.root, "etc/marker")).read() == "guest\n"
        assert os.path.ismount(os.path.join(guest.root, "boot"))
    assert layout["summary"] == "mbr; / ext4 on LV imgrepairvg/root; /boot ext4 on partition 1"
    mounts = by_mountpoint(layout)
    assert (mounts["/"]["lvm"], mounts["/"]["partition"], mounts["/"]["uuid"]) == ("imgrepairvg/root", None,
                                                                                 built.root_uuid)
    assert mounts["/boot"]["uuid"] == built.boot_uuid


def test_xfs_root_mounts_while_an_identical_clone_is_mounted(disks, tmp_path):
    built = disks.xfs
    path = disks.copy("xfs", tmp_path)
    clone = diskbuild.sparse_copy(built.path, str(tmp_path / "clone.img"))
    start, size = built.parts[1]
    with diskbuild.loop(clone, start, size) as device, diskbuild.mounted(device) as point:
        assert os.path.isfile(os.path.join(point, "etc/redhat-release"))
        # the same UUID cannot be mounted twice without nouuid: the test's premise holds
        with diskbuild.loop(path, start, size, read_only=True) as second:
            probe_point = str(tmp_path / "probe")
            os.mkdir(probe_point)
            assert subprocess.run(["mount", "-o", "ro,norecovery", second, probe_point],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT).returncode != 0
            os.rmdir(probe_point)
        with session.open_guest(session.resolve_target(path=path)) as guest:
            assert "nouuid" in mount_options_of(guest.root)
            assert os.path.isfile(os.path.join(guest.root, "etc/redhat-release"))
            layout = guest.layout
    assert layout["summary"] == "mbr; / xfs on partition 1"
    assert by_mountpoint(layout)["/"]["uuid"] == built.root_uuid


def test_btrfs_root_in_subvolume_at(disks):
    built = disks.btrfs
    with session.open_guest(session.resolve_target(path=built.path, read_only=True)) as guest:
        assert "subvol=/@" in mount_options_of(guest.root)
        # read-only: no log replay (it would write); older kernels call it plain nologreplay
        assert set(["rescue=nologreplay", "nologreplay"]) & set(mount_options_of(guest.root))
        assert "openSUSE" in open(os.path.join(guest.root, "etc/os-release")).read()
        layout = guest.layout
    assert layout["summary"] == "gpt; / btrfs (subvolume @) on partition 1; /home btrfs (subvolume @home) on partition 1"
    mounts = by_mountpoint(layout)
    assert (mounts["/"]["subvol"], mounts["/"]["uuid"]) == ("@", built.fs_uuid)
    assert (mounts["/home"]["subvol"], mounts["/home"]["mounted"]) == ("@home", False)


def test_qcow2_source_repaired_into_a_qcow2_output(disks, tmp_path):
    source = str(tmp_path / "guest.qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", disks.mbr_ext4.path, source], check=True)
    before = diskbuild.file_hash(source)
    output = str(tmp_path / "repaired.img")   # the output's format follows the source's
    target = session.resolve_target(path=source, output=output)
    assert target.describe()["format"] == "qcow2" and target.describe()["output"] == output
    with session.open_guest(target) as guest:
        with open(os.path.join(guest.root, "etc/repaired"), "w") as handle:
            handle.write("yes\n")
    assert diskbuild.file_hash(source) == before
    assert formats.detect_format(output) == "qcow2"
    with session.open_guest(session.resolve_target(path=output, read_only=True)) as guest:
        assert open(os.path.join(guest.root, "etc/repaired")).read() == "yes\n"
    assert [n for n in os.listdir(str(tmp_path)) if n.startswith(".image-repair")] == []


def test_qcow2_repaired_in_place_stays_qcow2(disks, tmp_path):
    source = str(tmp_path / "guest.qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", disks.mbr_ext4.path, source], check=True)
    os.chmod(source, 0o640)
    with session.open_guest(session.resolve_target(path=source)) as guest:
        with open(os.path.join(guest.root, "etc/repaired"), "w") as handle:
            handle.write("in place\n")
    assert formats.detect_format(source) == "qcow2"
    assert os.stat(source).st_mode & 0o777 == 0o640
    with session.open_guest(session.resolve_target(path=source, read_only=True)) as guest:
        assert open(os.path.join(guest.root, "etc/repaired")).read() == "in place\n"


def test_raw_output_is_a_sparse_copy_and_the_source_is_untouched(disks, tmp_path):
    source = disks.mbr_ext4.path
    before = diskbuild.file_hash(source)
    output = str(tmp_path / "copy.img")
    with session.open_guest(session.resolve_target(path=source, output=output)) as guest:
        with open(os.path.join(guest.root, "etc/repaired"), "w") as handle:
            handle.write("copy\n")
    assert diskbuild.file_hash(source) == before
    assert os.path.getsize(output) == os.path.getsize(source)
    assert os.stat(output).st_blocks * 512 < os.path.getsize(output) // 2   # still sparse
    with session.open_guest(session.resolve_target(path=output, read_only=True)) as guest:
        assert os.path.isfile(os.path.join(guest.root, "etc/repaired"))


@pytest.mark.parametrize("error", [RuntimeError("boom"), SystemExit(143), BadInput("bad")])
def test_everything_is_undone_when_the_body_raises(disks, tmp_path, error):
    path = disks.copy("gpt_uefi", tmp_path)
    output = str(tmp_path / "out.img")
    with pytest.raises(type(error)):
        with session.open_guest(session.resolve_target(path=path, output=output)) as guest:
            guest.prepare_chroot(type("Facts", (), {"boot_mode": "UEFI"})())
            assert os.path.ismount(os.path.join(guest.root, "dev/pts"))
            raise error
    assert not os.path.exists(output)   # an incomplete copy is not left as if it were repaired
    # (the autouse fixture checks mounts, loop devices and temporary folders)


def test_a_disk_without_a_linux_root_is_a_clear_error(tmp_path):
    path = str(tmp_path / "data.img")
    parts = diskbuild.partition(path, 16, "label: dos\nstart=1MiB, type=83\n")
    data = diskbuild.tmp_tree(str(tmp_path), "data")
    open(os.path.join(data, "README"), "w").close()
    diskbuild.fs_on_partition(path, parts, 1, "ext4", tree=data)
    with pytest.raises(Exception, match="no root filesystem .* looked at: partition 1 \\(ext4\\)"):
        with session.open_guest(session.resolve_target(path=path, read_only=True)):
            pass


SIGTERM_CHILD = r'''
import os, signal, sys, time
from image_repair.agent import cli
from image_repair.agent.disk import session
signal.signal(signal.SIGTERM, cli._raise_on_signal)
with session.open_guest(session.resolve_target(path=sys.argv[1])) as guest:
    guest.prepare_chroot(type("Facts", (), {"boot_mode": "BIOS"})())
    print(guest.root, flush=True)
    time.sleep(60)
'''


def test_sigterm_during_a_repair_undoes_everything(disks, tmp_path):
    import signal
    path = disks.copy("mbr_ext4", tmp_path)
    child = subprocess.Popen([sys.executable, "-c", SIGTERM_CHILD, path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True,
                             env=dict(os.environ, TMPDIR=tempfile.tempdir))
    root = child.stdout.readline().strip()
    assert os.path.ismount(root) and os.path.ismount(root + "/proc")
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 128 + signal.SIGTERM
    assert not os.path.exists(root)
    # the autouse fixture checks that no mount, loop device or temporary folder is left


def test_a_busy_mount_is_retried_then_detached_lazily(disks, tmp_path, monkeypatch, capfd):
    from image_repair.agent.disk import mounts
    monkeypatch.setattr(mounts, "UMOUNT_PAUSE", 0.01)
    path = disks.copy("mbr_ext4", tmp_path)
    with session.open_guest(session.resolve_target(path=path)) as guest:
        squatter = subprocess.Popen(["sleep", "60"], cwd=os.path.join(guest.root, "var"))
    try:
        assert "detaching it lazily (umount -l)" in capfd.readouterr().err
    finally:
        squatter.kill()
        squatter.wait()
    import time
    for _ in range(50):   # the loop devices go once the last user of the filesystem is gone
        if not diskbuild.loops_backed_by(str(tmp_path)):
            break
        time.sleep(0.1)


def test_the_root_whose_fstab_names_itself_wins_over_a_rescue_system(tmp_path):
    path = str(tmp_path / "two.img")
    parts = diskbuild.partition(path, 48, "label: dos\nstart=1MiB, size=16MiB, type=83\nstart=17MiB, type=83\n")
    real_uuid = diskbuild.new_uuid()
    rescue = diskbuild.guest_tree(diskbuild.tmp_tree(str(tmp_path), "rescue"), "LABEL=rescue / ext4 defaults 0 1\n",
                                  files={"etc/marker": "rescue\n"})
    real = diskbuild.guest_tree(diskbuild.tmp_tree(str(tmp_path), "real"), "UUID=%s / ext4 defaults 0 1\n" % real_uuid,
                                files={"etc/marker": "real\n"})
    diskbuild.fs_on_partition(path, parts, 1, "ext4", label="other", tree=rescue)
    diskbuild.fs_on_partition(path, parts, 2, "ext4", fs_uuid=real_uuid, tree=real)
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        assert open(os.path.join(guest.root, "etc/marker")).read() == "real\n"
        assert guest.layout["summary"] == "mbr; / ext4 on partition 2"


@pytest.mark.parametrize("qemu_format, fmt, options", [
    ("vmdk", "vmdk", []), ("vpc", "vhd", ["-o", "subformat=fixed"]), ("vhdx", "vhdx", [])])
def test_other_formats_repaired_into_an_output_of_the_same_format(disks, tmp_path, qemu_format, fmt, options):
    source = str(tmp_path / ("guest." + fmt))
    subprocess.run(["qemu-img", "convert", "-O", qemu_format] + options + [disks.mbr_ext4.path, source], check=True)
    output = str(tmp_path / ("repaired." + fmt))
    with session.open_guest(session.resolve_target(path=source, output=output)) as guest:
        open(os.path.join(guest.root, "etc/repaired"), "w").close()
    assert formats.detect_format(output) == fmt
    if fmt == "vhd":
        assert imagefile.vhd_subformat(output) == "fixed"
    with session.open_guest(session.resolve_target(path=output, read_only=True)) as guest:
        assert os.path.isfile(os.path.join(guest.root, "etc/repaired"))


def test_checking_a_qcow2_creates_nothing_that_stays(disks, tmp_path):
    source = str(tmp_path / "guest.qcow2")
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", disks.mbr_ext4.path, source], check=True)
    before = (sorted(os.listdir(str(tmp_path))), diskbuild.file_hash(source))
    with session.open_guest(session.resolve_target(path=source, read_only=True)) as guest:
        assert os.path.isfile(os.path.join(guest.root, "etc/marker"))
    assert (sorted(os.listdir(str(tmp_path))), diskbuild.file_hash(source)) == before


def test_a_block_device_target(disks, tmp_path):
    path = disks.copy("lvm", tmp_path)
    with diskbuild.loop(path) as device:
        target = session.resolve_target(path=device)
        assert target.describe() == {"kind": "block", "path": device, "serial": None, "format": "raw",
                                     "size_bytes": os.path.getsize(path), "output": None, "chain": []}
        with session.open_guest(target) as guest:
            assert guest.layout["disk_device"] == device
            assert open(os.path.join(guest.root, "etc/marker")).read() == "guest\n"
            open(os.path.join(guest.root, "etc/via-block"), "w").close()
            # while the guest is mounted, the same device is refused to a second run
            with pytest.raises(RefusedDisk, match="is mounted on"):
                session.resolve_target(path=device, read_only=True)
        with pytest.raises(BadInput, match="--output applies to disk image files"):
            session.resolve_target(path=device, output=str(tmp_path / "copy.img"))
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        assert os.path.isfile(os.path.join(guest.root, "etc/via-block"))


def test_btrfs_root_in_the_default_subvolume(tmp_path):
    path = str(tmp_path / "default.img")
    parts = diskbuild.partition(path, 160, "label: gpt\nstart=1MiB, type=L\n")
    fs_uuid = diskbuild.new_uuid()
    tree = diskbuild.guest_tree(diskbuild.tmp_tree(str(tmp_path), "tree"), "UUID=%s / btrfs defaults 0 0\n" % fs_uuid)
    diskbuild.fs_on_partition(path, parts, 1, "btrfs", fs_uuid=fs_uuid, subvolumes={"snapshots": None})
    start, size = parts[1]
    with diskbuild.loop(path, start, size) as device, diskbuild.mounted(device) as point:
        diskbuild.sh("btrfs", "-q", "subvolume", "create", point + "/snapshots/1")
        diskbuild.sh("cp", "-a", tree + "/.", point + "/snapshots/1")
        subvol_id = diskbuild.sh("btrfs", "inspect-internal", "rootid", point + "/snapshots/1", report=True).strip()
        diskbuild.sh("btrfs", "subvolume", "set-default", subvol_id, point)
    with session.open_guest(session.resolve_target(path=path, read_only=True)) as guest:
        assert "subvol=/snapshots/1" in mount_options_of(guest.root)
        assert guest.layout["filesystems"][0]["subvol"] == "snapshots/1"


def test_a_dry_run_with_output_creates_no_output(disks, tmp_path):
    output = str(tmp_path / "never.img")
    before = diskbuild.file_hash(disks.mbr_ext4.path)
    target = session.resolve_target(path=disks.mbr_ext4.path, output=output, read_only=True)
    with session.open_guest(target) as guest:
        assert "ro" in mount_options_of(guest.root)
    assert not os.path.exists(output)
    assert diskbuild.file_hash(disks.mbr_ext4.path) == before
