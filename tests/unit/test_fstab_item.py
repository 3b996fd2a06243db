"""fstab item on fixture guests: detection, repair, blockers, dry runs, check-disk."""
import os

from image_repair.agent import engine
from image_repair.agent.guest.context import Guest
from image_repair.agent.guest.facts import detect_facts
from image_repair.agent.guestfs import BACKUP_DIR, GuestFS
from image_repair.agent.items.fstab import ITEM
from tests.fixtures import guest_files, stubs_grub
from tests.fixtures.guests import build_guest


def guest_of(tree, layout=None, **options):
    return Guest(str(tree), detect_facts(GuestFS(str(tree))), layout or stubs_grub.fixture_layout(), **options)


def fstab(tree):
    return open(os.path.join(str(tree), "etc/fstab")).read()


def test_uuid_fstab_is_healthy(tmp_path):
    tree = build_guest(tmp_path, "centos7", fstab_style="uuid")
    detection = ITEM.detect(guest_of(tree))
    assert not detection.at_risk, detection.findings


def test_device_names_repaired_with_backup_and_systemd_timeout(tmp_path):
    tree = build_guest(tmp_path, "debian11")   # devname fstab
    os.makedirs(os.path.join(str(tree), "etc/systemd/system"))
    original = fstab(tree)
    guest = guest_of(tree)
    detection = ITEM.detect(guest)
    assert detection.at_risk and detection.risk == "High"
    [result] = engine.repair(guest, ["fstab"])
    assert result.status == "repaired", result.to_dict()
    assert fstab(tree) == (
        "UUID=%s  /  ext4  defaults  1 1\n"
        "UUID=%s  swap  swap  defaults,nofail  0 0\n"
        "/dev/sdb1  /data  ext4  defaults,nofail,x-systemd.device-timeout=10s  0 2\n"
        % (guest_files.ROOT_UUID, stubs_grub.SWAP_UUID))
    with open(os.path.join(str(tree), BACKUP_DIR.lstrip("/"), "etc/fstab")) as handle:
        assert handle.read() == original
    assert result.changes.files == ["/etc/fstab"]
    [again] = engine.repair(guest_of(tree), ["fstab"])
    assert again.status == "ok" and again.changes.is_empty()


def test_old_guest_without_systemd_gets_nofail_only(tmp_path):
    tree = build_guest(tmp_path, "centos6")
    engine.repair(guest_of(tree), ["fstab"])
    assert "x-systemd" not in fstab(tree)
    assert "/dev/sdb1  /data  ext4  defaults,nofail  0 2\n" in fstab(tree)


def test_root_partition_unknown_to_the_disk_fails_clearly(tmp_path):
    tree = build_guest(tmp_path, "sles12")
    layout = stubs_grub.fixture_layout()
    layout["filesystems"] = [fs for fs in layout["filesystems"] if fs["partition"] != 1]
    [result] = engine.repair(guest_of(tree, layout), ["fstab"])
    assert result.status == "failed"
    assert "/dev/sda1" in result.error and "not on this disk" in result.error
    # what could be fixed was fixed: swap by UUID and nofail
    assert "UUID=%s  swap" % stubs_grub.SWAP_UUID in fstab(tree)
    assert fstab(tree).startswith("/dev/sda1  /  xfs  defaults  1 1\n")


def test_no_fstab_is_not_applicable(tmp_path):
    tree = build_guest(tmp_path, "fedora39")
    os.unlink(os.path.join(str(tree), "etc/fstab"))
    assert not ITEM.detect(guest_of(tree)).applicable


def test_dry_run_and_check_write_nothing(tmp_path):
    tree = build_guest(tmp_path, "ubuntu2004")
    before = fstab(tree)
    [dry] = engine.repair(guest_of(tree, dry_run=True), ["fstab"])
    assert dry.status == "skipped" and dry.changes.diffs
    assert "+UUID=%s  /  ext4" % guest_files.ROOT_UUID in dry.changes.diffs[0]
    [checked] = engine.check(guest_of(tree, read_only=True), ["fstab"])
    assert checked.status == "skipped" and checked.risk == "High"
    assert fstab(tree) == before
    assert not os.path.exists(os.path.join(str(tree), BACKUP_DIR.lstrip("/")))
