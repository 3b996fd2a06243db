"""selinux: the config rewrite (golden files) and the item on fixture guests."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import GuestFS
from image_repair.agent.items.selinux import ITEM, disable, selinux_mode
from tests.fixtures import stubs_grub
from tests.fixtures.guests import build_guest

from .golden_files import cases, check, read


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


def test_check_only_reads(tmp_path):
    tree = build_guest(tmp_path, "rocky9", selinux="permissive")
    before = open(os.path.join(str(tree), "etc/selinux/config")).read()
    guest = Guest(str(tree), detect_facts(GuestFS(str(tree))), stubs_grub.fixture_layout(), read_only=True)
    [result] = engine.check(guest, ["selinux"])
    assert result.status == "skipped" and result.risk == "Medium"
    assert open(os.path.join(str(tree), "etc/selinux/config")).read() == before
