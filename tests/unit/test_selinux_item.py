"""selinux: the config rewrite (golden files) and the item on fixture guests."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import BACKUP_DIR, GuestFS
from image_repair.agent.items.selinux import ITEM, disable, selinux_mode
from tests.fixtures import stubs_grub
from tests.fixtures.guests import build_guest

from .golden_files import cases, check, read

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chroot needs root")


@pytest.mark.parametrize("case", cases("selinux"))
def test_selinux_config_golden(case):
    text = read("selinux", case + ".input")
    new = disable(text)
    check("selinux", case, new)
    assert selinux_mode(new) == "disabled"
    assert disable(new) == new


def guest_of(tree):
    return Guest(str(tree), detect_facts(GuestFS(str(tree))), stubs_grub.fixture_layout())


def test_not_applicable_without_selinux(tmp_path):
    tree = build_guest(tmp_path, "debian12")
    detection = ITEM.detect(guest_of(tree))
    assert not detection.applicable
    assert "no /etc/selinux/config" in detection.findings[0]


@needs_root
def test_enforcing_kernel_arg_removed_and_config_backed_up(tmp_path):
    tree = build_guest(tmp_path, "centos7", selinux="enforcing", kernel_args="rhgb quiet enforcing=1")
    guest = guest_of(tree)
    stubs_grub.install_grub_tools(tree, guest.facts)
    detection = ITEM.detect(guest)
    assert detection.at_risk
    assert "/etc/selinux/config: SELINUX=enforcing" in detection.findings
    assert any("enforcing=1" in f for f in detection.findings)
    [result] = engine.repair(guest, ["selinux"])
    assert result.status == "repaired", result.to_dict()
    assert "SELINUX=disabled\n" in open(os.path.join(str(tree), "etc/selinux/config")).read()
    assert os.path.isfile(os.path.join(str(tree), BACKUP_DIR.lstrip("/"), "etc/selinux/config"))
    assert 'GRUB_CMDLINE_LINUX="rhgb quiet"' in open(os.path.join(str(tree), "etc/default/grub")).read()
    assert "enforcing=1" not in open(os.path.join(str(tree), "boot/grub2/grub.cfg")).read()
    assert result.changes.commands == ["grub2-mkconfig -o /boot/grub2/grub.cfg"]
    [again] = engine.repair(guest_of(tree), ["selinux"])
    assert again.status == "ok"


def test_check_only_reads(tmp_path):
    tree = build_guest(tmp_path, "rocky9", selinux="permissive")
    before = open(os.path.join(str(tree), "etc/selinux/config")).read()
    guest = Guest(str(tree), detect_facts(GuestFS(str(tree))), stubs_grub.fixture_layout(), read_only=True)
    [result] = engine.check(guest, ["selinux"])
    assert result.status == "skipped" and result.risk == "Medium"
    assert open(os.path.join(str(tree), "etc/selinux/config")).read() == before
