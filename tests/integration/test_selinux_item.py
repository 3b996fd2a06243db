"""selinux item repairs on fixture guests (kernel argument through the stub grub tools).

The pure cases are in tests/unit/test_selinux_item.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os

import pytest

from image_repair.agent import engine
from image_repair.agent.guestfs import BACKUP_DIR
from image_repair.agent.items.selinux import ITEM
from tests.fixtures import stubs_grub
from tests.fixtures.guests import build_guest

from tests.unit.test_selinux_item import guest_of

pytestmark = pytest.mark.needs_root


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
