"""The chroot's host-side switches that are plain files: SELinux enforce, /dev/disk/by-uuid links.

The real paths are in sysfs and /dev; the functions take the path, so these run on files."""
import os

from image_repair.agent.disk import chroot
from image_repair.agent.disk.mounts import MountStack


def test_selinux_enforcing_is_set_permissive_and_restored(tmp_path):
    enforce = tmp_path / "enforce"
    enforce.write_text("1")
    with MountStack() as stack:
        assert chroot.set_selinux_permissive(stack, str(enforce))
        assert enforce.read_text() == "0"
    assert enforce.read_text() == "1"


def test_selinux_permissive_or_absent_is_left_alone(tmp_path):
    enforce = tmp_path / "enforce"
    enforce.write_text("0")
    with MountStack() as stack:
        assert not chroot.set_selinux_permissive(stack, str(enforce))
        assert not chroot.set_selinux_permissive(stack, str(tmp_path / "absent"))
    assert enforce.read_text() == "0"


def test_by_uuid_links_are_created_where_missing_and_removed(tmp_path):
    by_uuid = tmp_path / "dev" / "disk" / "by-uuid"
    os.makedirs(str(tmp_path / "dev"))
    filesystems = [{"uuid": "aaaa", "device": "/dev/loop5", "fstype": "ext4"},
                   {"uuid": "aaaa", "device": "/dev/loop5", "fstype": "btrfs"},   # second subvolume
                   {"uuid": "bbbb", "device": "/dev/loop6", "fstype": "swap"},
                   {"uuid": None, "device": "/dev/loop7", "fstype": "ext4"}]
    with MountStack() as stack:
        chroot.add_by_uuid_links(stack, filesystems, str(by_uuid))
        assert os.readlink(str(by_uuid / "aaaa")) == "/dev/loop5"
        assert sorted(os.listdir(str(by_uuid))) == ["aaaa"]
    assert not os.path.exists(str(tmp_path / "dev" / "disk"))   # the folders it made are gone too


def test_existing_by_uuid_links_are_kept(tmp_path):
    by_uuid = tmp_path / "by-uuid"
    os.makedirs(str(by_uuid))
    os.symlink("../../sda1", str(by_uuid / "aaaa"))
    with MountStack() as stack:
        chroot.add_by_uuid_links(stack, [{"uuid": "aaaa", "device": "/dev/loop5", "fstype": "ext4"}], str(by_uuid))
    assert os.readlink(str(by_uuid / "aaaa")) == "../../sda1"
