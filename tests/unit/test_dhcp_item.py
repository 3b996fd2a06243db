"""dhcp item on fixture guests of every network stack."""
import os


from image_repair.agent import engine
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import BACKUP_DIR, GuestFS
from image_repair.agent.items.dhcp import ITEM
from tests.fixtures import stubs_grub
from tests.fixtures.guests import build_guest, read_stub_calls

NAMING = " net.ifnames=0 biosdevname=0"


def guest_of(tree, **options):
    facts = detect_facts(GuestFS(str(tree)))
    return Guest(str(tree), facts, stubs_grub.fixture_layout(facts.boot_mode or "BIOS"), **options)


def host(tree, path):
    return os.path.join(str(tree), path.lstrip("/"))


def text(tree, path):
    return open(host(tree, path)).read()


def test_dhcp_eth0_with_naming_args_is_healthy(tmp_path):
    tree = build_guest(tmp_path, "debian12", kernel_args="quiet" + NAMING)
    detection = ITEM.detect(guest_of(tree))
    assert not detection.at_risk, detection.findings
    assert detection.findings == ["eth0 by DHCP (ifupdown)"]


def test_missing_naming_args_alone_is_a_risk(tmp_path):
    tree = build_guest(tmp_path, "debian12", kernel_args="quiet")
    detection = ITEM.detect(guest_of(tree))
    assert detection.at_risk
    assert detection.findings == ["net.ifnames=0 biosdevname=0 missing from /etc/default/grub, "
                                  "/boot/grub/grub.cfg (2 linux lines)"], detection.findings


def test_secondary_stack_without_primary_config_is_left_alone(tmp_path):
    # ubuntu2204: netplan (ens33) and systemd-networkd (ens33): both configure the primary NIC
    tree = build_guest(tmp_path, "ubuntu2204", kernel_args=NAMING.strip())
    guest = guest_of(tree)
    assert guest.facts.network_stacks == ["netplan", "systemd-networkd"]
    os.unlink(host(tree, "/etc/systemd/network/10-ens33.network"))
    os.makedirs(host(tree, "/etc/systemd/network/keep"))
    [result] = engine.repair(guest, ["dhcp"])
    assert result.status == "repaired", result.to_dict()
    assert result.changes.files == ["/etc/netplan/00-installer-config.yaml"]
    assert os.listdir(host(tree, "/etc/systemd/network")) == ["keep"]


def test_persistent_net_rules_removed_and_backed_up(tmp_path):
    tree = build_guest(tmp_path, "sles12", kernel_args="quiet" + NAMING, network_style="dhcp",
                       persistent_net_rules=True)
    guest = guest_of(tree)
    detection = ITEM.detect(guest)
    assert detection.findings == ["/etc/udev/rules.d/70-persistent-net.rules pins interface names to old MAC "
                                  "addresses"]
    [result] = engine.repair(guest, ["dhcp"])
    assert result.status == "repaired"
    assert not os.path.exists(host(tree, "/etc/udev/rules.d/70-persistent-net.rules"))
    assert os.path.isfile(host(tree, BACKUP_DIR + "/etc/udev/rules.d/70-persistent-net.rules"))
    assert read_stub_calls(tree) == []


def test_guest_without_any_network_config_gets_its_family_default(tmp_path):
    tree = build_guest(tmp_path, "alinux2", kernel_args=NAMING.strip(), network_style="dhcp")
    for name in os.listdir(host(tree, "/etc/sysconfig/network-scripts")):
        os.unlink(host(tree, "/etc/sysconfig/network-scripts/" + name))
    guest = guest_of(tree)
    guest.facts.network_stacks = []
    detection = ITEM.detect(guest)
    assert detection.at_risk and "no network configuration found" in detection.findings[0]
    ITEM.fix(guest, detection)
    assert "BOOTPROTO=dhcp\n" in text(tree, "/etc/sysconfig/network-scripts/ifcfg-eth0")
    assert not ITEM.detect(guest_of(tree)).at_risk
