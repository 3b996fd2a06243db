"""dhcp item repairs on fixture guests (the naming arguments through the stub grub tools).

The pure cases are in tests/unit/test_dhcp_item.py. These run the guest's own (stub)
tools in a chroot, so they need root."""
import os
import stat

import pytest

from image_repair.agent import engine
from image_repair.agent.guestfs import BACKUP_DIR
from tests.fixtures import stubs_grub
from tests.fixtures.guests import build_guest, read_stub_calls
from tests.unit.test_dhcp_item import guest_of, host, text

pytestmark = pytest.mark.needs_root


def test_dhcp_alone_asks_the_naming_args_and_regenerates(tmp_path):
    tree = build_guest(tmp_path, "ubuntu2004", kernel_args="")   # static netplan on eth0
    guest = guest_of(tree)
    stubs_grub.install_grub_tools(tree, guest.facts)
    [result] = engine.repair(guest, ["dhcp"])
    assert result.status == "repaired", result.to_dict()
    assert read_stub_calls(tree) == [["grub-mkconfig", "-o", "/boot/grub/grub.cfg"]]
    assert " ro net.ifnames=0 biosdevname=0 \n" in text(tree, "/boot/grub/grub.cfg")
    netplan = "/etc/netplan/00-installer-config.yaml"
    assert "      dhcp4: true\n" in text(tree, netplan) and "addresses" not in text(tree, netplan)
    assert stat.S_IMODE(os.stat(host(tree, netplan)).st_mode) == 0o600
    assert "addresses" in open(host(tree, BACKUP_DIR + netplan)).read()
    [again] = engine.repair(guest_of(tree), ["dhcp"])
    assert again.status == "ok", again.to_dict()


def test_ens33_keyfile_renamed_to_eth0_with_private_mode(tmp_path):
    tree = build_guest(tmp_path, "centos-stream9", network_style="static")  # ens33 keyfile
    guest = guest_of(tree)
    stubs_grub.install_grub_tools(tree, guest.facts)
    [result] = engine.repair(guest, ["dhcp"])
    assert result.status == "repaired", result.to_dict()
    directory = "/etc/NetworkManager/system-connections/"
    assert not os.path.exists(host(tree, directory + "ens33.nmconnection"))
    keyfile = text(tree, directory + "eth0.nmconnection")
    assert "interface-name=eth0\n" in keyfile and "method=auto\n" in keyfile and "address1" not in keyfile
    assert stat.S_IMODE(os.stat(host(tree, directory + "eth0.nmconnection")).st_mode) == 0o600
    assert os.path.isfile(host(tree, BACKUP_DIR + directory + "ens33.nmconnection"))
