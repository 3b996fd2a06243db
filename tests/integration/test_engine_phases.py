"""The engine's phases on one fixture guest with every item: detect, fix, the shared
regenerations, verify. A failure names its phase and never stops the other items; the
regenerations' changes go to each item that asked for them; a dry run writes nothing.

The guest's own (stub) tools run in a chroot, so these need root."""
import os
import shutil

import pytest

from image_repair.agent import engine
from image_repair.agent.items import ITEM_NAMES
from tests.fixtures import stubs_grub
from tests.fixtures.guests import build_guest, install_stub
from tests.fixtures.stubs_initramfs import BROKEN_REBUILD, install_initramfs_stubs
from tests.unit.test_dhcp_item import guest_of
from tests.unit.test_virtio import tree_digest

pytestmark = pytest.mark.needs_root

KERNELS = ("6.1.0-13-amd64", "6.1.0-17-amd64")
REBUILDS = ["update-initramfs -u -k %s" % k for k in KERNELS]
MKCONFIG = "grub-mkconfig -o /boot/grub/grub.cfg"


def broken_debian(tmp_path):
    """Debian 12 with a static eth0, no console or naming arguments, no virtio or nvme in its
    initramfs, and working stub grub and initramfs tools."""
    tree = build_guest(tmp_path, "debian12", kernel_args="", network_style="static")
    guest = guest_of(tree)
    stubs_grub.install_grub_tools(tree, guest.facts)
    install_initramfs_stubs(tree, "debian12")
    return tree, guest


def test_each_failure_names_its_phase_and_the_other_items_go_on(tmp_path):
    tree, guest = broken_debian(tmp_path)
    install_stub(tree, "/usr/sbin/update-initramfs", BROKEN_REBUILD)
    # After the facts are read: fstab's own detection is the one that cannot read it.
    os.remove(str(tree / "etc/fstab"))
    os.mkdir(str(tree / "etc/fstab"))
    names = ["fstab", "virtio", "nvme", "dhcp", "assist"]

    results = engine.repair(guest, names)

    assert [r.name for r in results] == names
    fstab, virtio, nvme, dhcp, assist = results
    assert fstab.status == "failed" and fstab.findings == [] and fstab.risk is None
    assert fstab.error.startswith("detect: IsADirectoryError: ")   # not an AgentError: its type is named
    # One failed rebuild per kernel fails both items that asked for it, with both kernels' errors.
    for result in (virtio, nvme):
        assert result.status == "failed" and result.risk
        assert result.error.startswith("regenerate: kernel %s: command failed (exit 1)" % KERNELS[0])
        assert "kernel %s: command failed" % KERNELS[1] in result.error
        assert "stub: no space left on device" in result.error
    # Each item that asked lists the shared regenerations it took part in, in their order.
    assert virtio.changes.commands == REBUILDS
    assert nvme.changes.commands == REBUILDS + [MKCONFIG]
    assert dhcp.status == "repaired" and dhcp.changes.commands == [MKCONFIG]
    assert "/boot/grub/grub.cfg" in nvme.changes.files and "/boot/grub/grub.cfg" in dhcp.changes.files
    assert "net.ifnames=0" in (tree / "boot/grub/grub.cfg").read_text()
    assert assist.status == "failed" and assist.risk == "Medium"
    assert assist.error.startswith("fix: ") and "--assist-package-url" in assist.error
    assert assist.to_dict()["error"] == assist.error and "error" not in dhcp.to_dict()


def test_a_dry_run_reports_every_change_and_writes_nothing(tmp_path):
    tree, _guest = broken_debian(tmp_path)
    before = tree_digest(tree)

    results = dict((r.name, r) for r in engine.repair(guest_of(tree, dry_run=True), list(ITEM_NAMES)))

    assert tree_digest(tree) == before
    assert results["selinux"].status == "not_applicable"          # Debian: no SELinux
    for name in ("fstab", "grub", "virtio", "nvme", "dhcp", "cloudinit", "growpart"):
        result = results[name]
        assert result.status == "skipped" and result.risk, result.to_dict()
        assert result.findings[-1] == "dry run: not repaired"
    assert results["virtio"].changes.commands == REBUILDS
    assert results["nvme"].changes.commands == REBUILDS + [MKCONFIG]
    assert results["grub"].changes.commands == [MKCONFIG] and results["grub"].changes.diffs
    # An item that cannot even plan its fix fails in a dry run too.
    assert results["assist"].status == "failed" and results["assist"].error.startswith("fix: ")


def test_repaired_items_are_verified_then_a_second_run_finds_them_ok(tmp_path):
    tree, guest = broken_debian(tmp_path)
    names = ["fstab", "grub", "virtio", "nvme", "dhcp", "selinux"]

    first = engine.repair(guest, names)

    assert [(r.name, r.status) for r in first] == [
        ("fstab", "repaired"), ("grub", "repaired"), ("virtio", "repaired"), ("nvme", "repaired"),
        ("dhcp", "repaired"), ("selinux", "not_applicable")], [r.to_dict() for r in first]
    assert all(r.error is None and r.risk is None for r in first)
    # One rebuild per kernel and one grub-mkconfig for all the items that asked.
    assert first[2].changes.commands == REBUILDS and first[1].changes.commands == [MKCONFIG]
    second = engine.repair(guest_of(tree), names)
    assert [r.status for r in second] == ["ok"] * 5 + ["not_applicable"]
    assert all(r.changes.is_empty() for r in second)


def test_drivers_that_cannot_be_kept_for_future_kernels_fail_every_item_that_asked(tmp_path):
    tree = build_guest(tmp_path, "rocky9")
    install_initramfs_stubs(tree, "rocky9")
    guest = guest_of(tree)
    shutil.rmtree(str(tree / "etc/dracut.conf.d"))
    (tree / "etc/dracut.conf.d").write_text("a file where dracut's folder belongs\n")
    images = sorted((tree / "boot").glob("initramfs-*.img"))
    before = [image.read_bytes() for image in images]

    virtio, nvme = engine.repair(guest, ["virtio", "nvme"])

    for result in (virtio, nvme):
        assert result.status == "failed", result.to_dict()
        assert result.error.startswith("regenerate: keeping the drivers for future kernels: ")
    # Nothing is rebuilt when the drivers cannot be kept for the kernels installed later.
    assert virtio.changes.commands == [] and [image.read_bytes() for image in images] == before


def test_progress_lines_grow_to_100_and_name_each_phase(tmp_path):
    import io
    import json as jsonlib
    from image_repair.agent.progress import PREFIX, Progress
    from image_repair.control.steps.agent_delivery import last_progress, parse_report
    tree, guest = broken_debian(tmp_path)
    out = io.StringIO()
    ticks = iter(range(1000))
    results = engine.repair(guest, ["fstab", "virtio", "nvme", "dhcp"], Progress(out, clock=lambda: next(ticks)))

    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith(PREFIX) for line in lines)
    seen = [jsonlib.loads(line[len(PREFIX):]) for line in lines]
    percents = [s["percent"] for s in seen]
    assert percents == sorted(percents) and percents[-1] == 100 and percents[0] > 0
    assert [s["phase"] for s in seen][0] == "detect" and seen[-1]["phase"] == "verify"
    assert [s["item"] for s in seen if s["phase"] == "regenerate"] == ["initramfs", "bootloader"]
    # the initramfs rebuild is the biggest step of the percent
    jumps = {s.get("item"): s["percent"] - p for s, p in zip(seen[1:], percents)}
    assert jumps["initramfs"] == max(jumps.values())
    assert [r.status for r in results] == ["repaired"] * 4
    # the control plane reads the last line, and the report after the lines still parses
    assert last_progress(out.getvalue())["percent"] == 100
    assert parse_report(out.getvalue() + '{"items": []}\n') == {"items": []}
