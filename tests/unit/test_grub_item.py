"""grub item: detection on fixture guests, fixes through the BootPlan, unusual layouts."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.guest.bootloader import kernel_arg_sources, read_kernel_args
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import GuestFS
from image_repair.agent.items.grub import ITEM
from tests.fixtures import guest_files, stubs_grub
from tests.fixtures.guests import build_guest, read_stub_calls

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")
GOOD_ARGS = "console=tty0 console=ttyS0,115200n8 net.ifnames=0 biosdevname=0"


def guest_of(tree, layout=None, **options):
    facts = detect_facts(GuestFS(str(tree)))
    return Guest(str(tree), facts, layout or stubs_grub.fixture_layout(facts.boot_mode or "BIOS"), **options)


def text(tree, path):
    return open(os.path.join(str(tree), path.lstrip("/"))).read()


def write(tree, path, content):
    with open(os.path.join(str(tree), path.lstrip("/")), "w") as handle:
        handle.write(content)


def test_healthy_guest_is_ok(tmp_path):
    tree = build_guest(tmp_path, "debian12", kernel_args="quiet " + GOOD_ARGS)
    detection = ITEM.detect(guest_of(tree))
    assert not detection.at_risk, detection.findings


def test_console_order_matters(tmp_path):
    tree = build_guest(tmp_path, "debian12",
                       kernel_args="console=ttyS0,115200n8 console=tty0 net.ifnames=0 biosdevname=0")
    detection = ITEM.detect(guest_of(tree))
    assert detection.at_risk
    assert any("must come before" in f for f in detection.findings), detection.findings


def test_not_applicable_without_grub(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    # a guest booted by something else (extlinux, systemd-boot): no grub file and no grub tool
    for path in ("etc/default/grub", "boot/grub/grub.cfg", "boot/efi/EFI/debian/grub.cfg",
                 "usr/sbin/grub-mkconfig", "usr/sbin/update-grub", "usr/sbin/grub-install"):
        os.unlink(os.path.join(str(tree), path))
    detection = ITEM.detect(guest_of(tree))
    assert not detection.applicable
    assert "no GRUB" in detection.findings[0]


def test_disable_linux_uuid_and_missing_cfg_are_found(tmp_path):
    tree = build_guest(tmp_path, "centos7", kernel_args="crashkernel=auto " + GOOD_ARGS)
    write(tree, "/etc/default/grub", text(tree, "/etc/default/grub") + "GRUB_DISABLE_LINUX_UUID=true\n")
    os.unlink(os.path.join(str(tree), "boot/grub2/grub.cfg"))
    detection = ITEM.detect(guest_of(tree))
    assert detection.at_risk
    assert any("GRUB_DISABLE_LINUX_UUID=true" in f for f in detection.findings)
    assert any("no generated grub.cfg" in f for f in detection.findings)


@needs_root
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


@needs_root
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


@needs_root
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


@needs_root
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


@needs_root
def test_dry_run_changes_nothing(tmp_path):
    tree = build_guest(tmp_path, "kylin10")
    guest = guest_of(tree, dry_run=True)
    stubs_grub.install_grub_tools(tree, guest.facts)
    before = text(tree, "/etc/default/grub"), text(tree, "/boot/grub2/grub.cfg")
    [result] = engine.repair(guest, ["grub"])
    assert result.status == "skipped"
    assert (text(tree, "/etc/default/grub"), text(tree, "/boot/grub2/grub.cfg")) == before
    assert read_stub_calls(tree) == []
    assert result.changes.commands == ["grub2-mkconfig -o /boot/grub2/grub.cfg"]
    assert "console=ttyS0,115200n8" not in read_kernel_args(guest)
