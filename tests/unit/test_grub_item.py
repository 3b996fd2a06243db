"""grub item: detection on fixture guests, fixes through the BootPlan, unusual layouts."""
import os


from image_repair.agent import engine
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guest.kernel_cmdline import read_kernel_args
from image_repair.agent.guestfs import GuestFS
from image_repair.agent.items.grub import ITEM
from tests.fixtures import stubs_grub
from tests.fixtures.guests import build_guest, read_stub_calls

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
