"""grub item fixes on fixture guests through the BootPlan (grub.cfg regenerated, BLS, LVM).

The pure cases are in tests/unit/test_grub_item.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.guest.kernel_cmdline import kernel_arg_sources
from tests.fixtures import guest_files, stubs_grub
from tests.fixtures.guests import build_guest, read_stub_calls
from tests.unit.test_grub_item import GOOD_ARGS, guest_of, text, write

pytestmark = pytest.mark.needs_root


def test_missing_cfg_regenerated_and_uuid_setting_removed(tmp_path):
    tree = build_guest(tmp_path, "centos7", kernel_args="crashkernel=auto " + GOOD_ARGS)
    write(tree, "/etc/default/grub", text(tree, "/etc/default/grub") + "GRUB_DISABLE_LINUX_UUID=true\n")
    os.unlink(os.path.join(str(tree), "boot/grub2/grub.cfg"))
    guest = guest_of(tree)
    stubs_grub.install_grub_tools(tree, guest.facts)
    [result] = engine.repair(guest, ["grub"])
    assert result.status == "repaired", result.to_dict()
    assert read_stub_calls(tree) == [["grub2-mkconfig", "-o", "/boot/grub2/grub.cfg"]]
    cfg = text(tree, "/boot/grub2/grub.cfg")
    assert "root=UUID=%s ro crashkernel=auto %s" % (guest_files.ROOT_UUID, GOOD_ARGS) in cfg
    assert "# image-repair: commented out, the root must be given by UUID: GRUB_DISABLE_LINUX_UUID=true" in \
        text(tree, "/etc/default/grub")
    assert any("GRUB_DISABLE_LINUX_UUID=true removed" in f for f in result.findings)


def test_lvm_root_keeps_its_mapper_path(tmp_path):
    tree = build_guest(tmp_path, "debian12", kernel_args="quiet")
    guest = guest_of(tree, layout={"filesystems": [
        {"device": None, "partition": None, "lvm": "vg-sys/root", "fstype": "ext4", "uuid": "u1",
         "label": None, "partuuid": None, "mountpoint": "/", "subvol": None}]})
    stubs_grub.install_grub_tools(tree, guest.facts)
    stubs_grub.give_root_device(tree, "/dev/mapper/vg--sys-root")
    [result] = engine.repair(guest, ["grub"])
    assert result.status == "repaired", result.to_dict()
    assert read_stub_calls(tree) == [["grub-mkconfig", "-o", "/boot/grub/grub.cfg"]]
    assert "root=/dev/mapper/vg--sys-root ro quiet " + GOOD_ARGS in text(tree, "/boot/grub/grub.cfg")
    assert not any("corrected" in f for f in result.findings)
    # the EFI wrapper was not regenerated
    assert "configfile" in text(tree, "/boot/efi/EFI/debian/grub.cfg")


def test_host_loop_device_in_regenerated_cfg_is_corrected(tmp_path):
    tree = build_guest(tmp_path, "ubuntu2204", kernel_args="")
    guest = guest_of(tree)
    stubs_grub.install_grub_tools(tree, guest.facts)
    stubs_grub.give_root_device(tree, "/dev/loop11")
    [result] = engine.repair(guest, ["grub"])
    assert result.status == "repaired", result.to_dict()
    cfg = text(tree, "/boot/grub/grub.cfg")
    assert "/dev/loop11" not in cfg and "root=UUID=" + guest_files.ROOT_UUID in cfg
    assert any("/dev/loop11" in f and "corrected" in f for f in result.findings)


def test_bls_guest_uses_grubby_only(tmp_path):
    tree = build_guest(tmp_path, "rocky9", fstab_style="devname")
    guest = guest_of(tree)
    stubs_grub.install_grub_tools(tree, guest.facts)
    [result] = engine.repair(guest, ["grub"])
    assert result.status == "repaired", result.to_dict()
    assert read_stub_calls(tree) == [[
        "grubby", "--update-kernel=ALL", "--args=%s root=UUID=%s" % (GOOD_ARGS, guest_files.ROOT_UUID),
        "--remove-args=root=/dev/sda1"]]
    for label, words in kernel_arg_sources(guest):
        if label.startswith("/boot/loader/entries"):
            assert "root=UUID=" + guest_files.ROOT_UUID in words and "root=/dev/sda1" not in words, label
    assert 'GRUB_CMDLINE_LINUX="rhgb quiet %s"' % GOOD_ARGS in text(tree, "/etc/default/grub")
