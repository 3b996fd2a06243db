"""GuestFS: guest paths never escape the guest, originals are backed up once, dry runs write nothing."""
import os

import pytest

from image_repair.agent.errors import AgentError
from image_repair.agent.guestfs import BACKUP_DIR, GuestFS


@pytest.fixture
def guest_root(tmp_path):
    root = tmp_path / "guest"
    (root / "etc").mkdir(parents=True)
    (root / "run" / "systemd").mkdir(parents=True)
    (root / "etc" / "fstab").write_text("/dev/sda1 / ext4 defaults 0 1\n")
    return root


def test_absolute_symlinks_resolve_inside_the_guest(guest_root, tmp_path):
    host_file = tmp_path / "host-resolv.conf"
    host_file.write_text("host\n")
    # A guest symlink that points at an absolute path must land inside the guest, not on the host.
    os.symlink(str(host_file), str(guest_root / "etc" / "resolv.conf"))
    fs = GuestFS(str(guest_root))
    assert fs.host_path("/etc/resolv.conf") == str(guest_root) + str(host_file)
    fs.write_text("/etc/resolv.conf", "nameserver 10.0.0.1\n")
    assert host_file.read_text() == "host\n"


def test_dotdot_cannot_climb_above_the_guest_root(guest_root):
    fs = GuestFS(str(guest_root))
    assert fs.host_path("/../../etc/fstab") == str(guest_root / "etc" / "fstab")
    os.symlink("../../../../../../etc/passwd", str(guest_root / "etc" / "escape"))
    assert fs.host_path("/etc/escape") == str(guest_root / "etc" / "passwd")


def test_relative_paths_are_refused(guest_root):
    with pytest.raises(AgentError):
        GuestFS(str(guest_root)).host_path("etc/fstab")


def test_symlink_loops_are_refused(guest_root):
    os.symlink("/etc/b", str(guest_root / "etc" / "a"))
    os.symlink("/etc/a", str(guest_root / "etc" / "b"))
    with pytest.raises(AgentError, match="too many symlinks"):
        GuestFS(str(guest_root)).host_path("/etc/a")


def test_write_backs_up_the_original_once_and_skips_identical_content(guest_root):
    fs = GuestFS(str(guest_root))
    assert fs.write_text("/etc/fstab", "UUID=1 / ext4 defaults 0 1\n") is True
    backup = guest_root / BACKUP_DIR.lstrip("/") / "etc" / "fstab"
    assert backup.read_text() == "/dev/sda1 / ext4 defaults 0 1\n"
    assert fs.record.files == ["/etc/fstab"]
    assert fs.record.backups == [BACKUP_DIR + "/etc/fstab"]
    # A second change keeps the first original; identical content is not a change.
    assert fs.write_text("/etc/fstab", "UUID=2 / ext4 defaults 0 1\n") is True
    assert backup.read_text() == "/dev/sda1 / ext4 defaults 0 1\n"
    assert fs.write_text("/etc/fstab", "UUID=2 / ext4 defaults 0 1\n") is False


def test_write_keeps_mode_and_creates_new_files(guest_root):
    target = guest_root / "etc" / "fstab"
    os.chmod(str(target), 0o600)
    fs = GuestFS(str(guest_root))
    fs.write_text("/etc/fstab", "x\n")
    assert oct(os.stat(str(target)).st_mode & 0o777) == "0o600"
    fs.write_text("/etc/cloud/cloud.cfg.d/90.cfg", "datasource_list: [AliYun]\n")
    assert (guest_root / "etc/cloud/cloud.cfg.d/90.cfg").read_text() == "datasource_list: [AliYun]\n"
    assert not list(guest_root.glob("**/*.image-repair.tmp"))


def test_dry_run_records_a_diff_and_writes_nothing(guest_root):
    before = sorted(str(p) for p in guest_root.rglob("*"))
    fs = GuestFS(str(guest_root), dry_run=True)
    assert fs.write_text("/etc/fstab", "UUID=1 / ext4 defaults 0 1\n") is True
    assert fs.remove("/etc/fstab") is True
    assert (guest_root / "etc" / "fstab").read_text() == "/dev/sda1 / ext4 defaults 0 1\n"
    assert sorted(str(p) for p in guest_root.rglob("*")) == before
    assert "-/dev/sda1 / ext4 defaults 0 1" in fs.record.diffs[0]
    assert "+UUID=1 / ext4 defaults 0 1" in fs.record.diffs[0]


def test_remove_backs_up_files_and_reports_missing_ones(guest_root):
    fs = GuestFS(str(guest_root))
    assert fs.remove("/etc/fstab") is True
    assert not (guest_root / "etc" / "fstab").exists()
    assert (guest_root / BACKUP_DIR.lstrip("/") / "etc" / "fstab").exists()
    assert fs.remove("/etc/fstab") is False


def test_which_in_the_guest_never_finds_host_tools(guest_root):
    from image_repair.agent.runner import which
    # An absolute /sbin -> /usr/sbin link is followed inside the guest: the host's tools don't count.
    (guest_root / "usr" / "sbin").mkdir(parents=True)
    os.symlink("/usr/sbin", str(guest_root / "sbin"))
    assert which("losetup", root=str(guest_root)) is None
    tool = guest_root / "usr" / "sbin" / "grub-mkconfig"
    tool.write_text("#!/bin/sh\n")
    os.chmod(str(tool), 0o755)
    assert which("grub-mkconfig", root=str(guest_root)) == "/usr/sbin/grub-mkconfig"
    assert which("sh") is not None
