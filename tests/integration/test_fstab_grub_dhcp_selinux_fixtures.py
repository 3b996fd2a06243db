"""fstab, grub, dhcp and selinux end to end on every fixture guest, broken on purpose.

The engine runs the four items on the fixture tree (stub grub tools really regenerate grub.cfg
or edit BLS entries in a chroot); then a second run must report every item ok and change no file."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guest.kernel_cmdline import read_kernel_args
from image_repair.agent.guestfs import GuestFS
from tests.fixtures import guest_files, stubs_grub
from tests.fixtures.guests import GUESTS, build_guest

pytestmark = pytest.mark.needs_root

ITEMS = ["fstab", "grub", "dhcp", "selinux"]


def snapshot(root):
    files = {}
    for folder, _dirs, names in os.walk(str(root)):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                files[os.path.relpath(path, str(root))] = "-> " + os.readlink(path)
            else:
                with open(path, "rb") as handle:
                    files[os.path.relpath(path, str(root))] = handle.read()
    files.pop("var/log/stub-calls.log", None)
    return files


def open_guest(tree, boot_mode, root_fs):
    facts = detect_facts(GuestFS(str(tree)))
    return Guest(str(tree), facts, stubs_grub.fixture_layout(boot_mode, root_fs))


def broken_guest(tmp_path, name):
    spec = GUESTS[name]
    breakages = {"fstab_style": "devname", "network_style": "static", "persistent_net_rules": True}
    if spec.family == "rhel":
        breakages["selinux"] = "enforcing"
    tree = build_guest(tmp_path, name, **breakages)
    guest = open_guest(tree, spec.boot_mode, spec.root_fs)
    stubs_grub.install_grub_tools(tree, guest.facts)
    return tree, guest


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_repair_then_second_run_changes_nothing(tmp_path, name):
    spec = GUESTS[name]
    tree, guest = broken_guest(tmp_path, name)
    results = dict((r.name, r) for r in engine.repair(guest, ITEMS))
    for item in ITEMS:
        assert results[item].status in ("repaired", "not_applicable"), (item, results[item].to_dict())
    assert results["selinux"].status == ("repaired" if spec.family == "rhel" else "not_applicable")

    # what every guest must have now
    fstab = open(os.path.join(str(tree), "etc/fstab")).read()
    assert "UUID=%s  /  " % guest_files.ROOT_UUID in fstab
    assert "/dev/sdb1  /data  ext4  defaults,nofail" in fstab
    assert not os.path.lexists(os.path.join(str(tree), "etc/udev/rules.d/70-persistent-net.rules"))
    args = read_kernel_args(guest)
    for arg in ("console=tty0", "console=ttyS0,115200n8", "net.ifnames=0", "biosdevname=0"):
        assert arg in args, (arg, args)
    assert "root=/dev/sda1" not in args, args

    # a second run: every item ok (or not applicable), no file changed
    before = snapshot(tree)
    again = open_guest(tree, spec.boot_mode, spec.root_fs)
    second = engine.repair(again, ITEMS)
    for result in second:
        assert result.status in ("ok", "not_applicable"), result.to_dict()
        assert result.changes.files == [] and result.changes.commands == [], result.to_dict()
    assert snapshot(tree) == before


@pytest.mark.parametrize("name", sorted(GUESTS))
def test_check_finds_the_planted_problems_and_writes_nothing(tmp_path, name):
    spec = GUESTS[name]
    tree, _guest = broken_guest(tmp_path, name)
    before = snapshot(tree)
    facts = detect_facts(GuestFS(str(tree)))
    guest = Guest(str(tree), facts, stubs_grub.fixture_layout(spec.boot_mode, spec.root_fs), read_only=True)
    results = dict((r.name, r) for r in engine.check(guest, ITEMS))
    for item in ("fstab", "grub", "dhcp"):
        assert results[item].status == "skipped" and results[item].risk == "High", results[item].to_dict()
    assert any("/dev/sda1 -> UUID=" in f for f in results["fstab"].findings)
    assert any("root given by device name root=/dev/sda1" in f for f in results["grub"].findings)
    assert any("70-persistent-net.rules" in f for f in results["dhcp"].findings)
    assert results["selinux"].status == ("skipped" if spec.family == "rhel" else "not_applicable")
    assert snapshot(tree) == before
