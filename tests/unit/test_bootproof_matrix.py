"""The boot matrix files (image_repair_lab.bootproof.matrix) and the cells' coverage."""
import json

import pytest

from image_repair_lab.bootproof import matrix
from image_repair_lab.bootproof.cells import CELLS
from image_repair_lab.bootproof.runcell import verdict
from image_repair_lab.testimages import BREAKAGES


def outcome(boots, problems=(), seconds=42.0, bus="virtio"):
    return {"boots": boots, "problems": list(problems), "ended": "poweroff", "seconds": seconds, "eth0": [],
            "bus": bus, "cpu_seconds": seconds / 2}


def record(cell, before=None, after=None, repair_status=0, after_other_bus=None):
    result = {"cell": cell, "guest": "debian12-bios-initramfs-tools-ext4-plain", "debian": "12",
              "breakage": "no_virtio_initramfs", "bus": "virtio", "firmware": "bios", "metadata": False,
              "expect_before": "no boot marker",
              "before": before or outcome(False, ["no boot marker (initramfs gave up waiting for root)"]),
              "repair": {"exit_status": repair_status, "seconds": 70.0}, "after": after or outcome(True),
              "after_other_bus": after_other_bus or outcome(True, bus="nvme")}
    result["verdict"] = verdict(result)
    return result


def test_verdicts():
    assert record("virtio-missing")["verdict"] == "pass"
    assert record("x", before=outcome(True))["verdict"].startswith("fail: the unrepaired guest did not fail")
    assert record("x", before=outcome(False, ["eth0 has no eth0"]))["verdict"].startswith(
        "fail: the unrepaired guest did not fail as expected")
    assert record("x", repair_status=1)["verdict"] == "fail: repair-disk exit status 1"
    assert record("x", after=outcome(False, ["no boot marker"]))["verdict"] == \
        "fail: the repaired guest on virtio: no boot marker"
    skipped = record("x", after=outcome(False, ["no boot marker"]))
    skipped["repair"] = {"skipped": True}
    assert verdict(skipped) == "fail: the repaired guest on virtio: no boot marker"


def test_a_repaired_guest_must_boot_on_both_buses():
    failed_nvme = record("x", after_other_bus=outcome(False, ["no boot marker (initramfs gave up waiting for root)"],
                                                      bus="nvme"))
    assert failed_nvme["verdict"] == "fail: the repaired guest on nvme: no boot marker (initramfs gave up waiting for root)"
    missing = record("x")
    del missing["after_other_bus"]
    assert verdict(missing) == "fail: no repaired boot on the other bus"


def test_cells_boot_the_repaired_guest_on_their_bus_then_the_other():
    buses = {}
    for cell in CELLS:
        assert cell.after_buses[0] == cell.bus
        assert set(cell.after_buses) == ({"virtio", "nvme"} if cell.other_bus else {cell.bus})
        buses.setdefault(cell.guest, set()).update(cell.after_buses)
    # every guest is booted repaired on both buses by at least one of its cells
    assert all(found == {"virtio", "nvme"} for found in buses.values()), buses


def test_a_one_bus_cell_passes_without_the_other_bus():
    one = record("x")
    one["after_other_bus"], one["after_buses"] = None, ["virtio"]
    assert verdict(one) == "pass"
    one["after_buses"] = ["virtio", "nvme"]
    assert verdict(one) == "fail: no repaired boot on the other bus"


def test_merge_replaces_cells_by_name_and_keeps_order(tmp_path):
    matrix.merge(tmp_path, [record("vmware"), record("virtio-missing")])
    matrix.merge(tmp_path, [record("vmware", after=outcome(False, ["eth0 has a|b"]))])
    cells = json.loads((tmp_path / "boot-matrix.json").read_text())["cells"]
    assert [c["cell"] for c in cells] == ["virtio-missing", "vmware"]
    assert cells[1]["verdict"] == "fail: the repaired guest on virtio: eth0 has a|b"
    text = (tmp_path / "boot-matrix.md").read_text()
    assert "| virtio-missing | debian12-bios-initramfs-tools-ext4-plain | 12 | no_virtio_initramfs | virtio | bios |" in text
    # before, repair, after on virtio, after on nvme
    assert ("| FAILS: no boot marker (initramfs gave up waiting for root) (poweroff, 42 s, 21 s CPU) | exit 0, 70 s "
            "| boots (poweroff, 42 s, 21 s CPU) | boots (poweroff, 42 s, 21 s CPU) |") in text
    assert "their 6 boots 252 s of wall-clock and 126 s of qemu CPU, the repairs 140 s." in text
    assert "eth0 has a\\|b" in text
    assert "Not run yet: " in text


def test_merge_drops_unknown_cells(tmp_path):
    (tmp_path / "boot-matrix.json").write_text(json.dumps({"cells": [record("retired-cell")]}))
    matrix.merge(tmp_path, [record("vmware")])
    assert [c["cell"] for c in json.loads((tmp_path / "boot-matrix.json").read_text())["cells"]] == ["vmware"]


def test_cells_cover_breakages_buses_firmwares_and_suites():
    assert {c.breakage for c in CELLS} == set(BREAKAGES)
    assert {c.bus for c in CELLS} == {"virtio", "nvme"}
    assert {c.firmware for c in CELLS} == {"bios", "uefi"}
    assert {c.recipe.version for c in CELLS} == {"11", "12", "13"}
    assert {c.recipe.initramfs for c in CELLS} == {"initramfs-tools", "dracut"}
    assert any(c.growpart for c in CELLS) and any(c.metadata for c in CELLS)
    assert len({c.name for c in CELLS}) == len(CELLS)


def test_a_test_run_writes_its_matrix_outside_the_tracked_docs_unless_asked(tmp_path):
    work, docs = tmp_path / "work", tmp_path / "docs"
    assert matrix.destination({}, work, docs, repair_skipped=False) == work / "matrix"
    assert matrix.destination({"IMAGE_REPAIR_BOOT_MATRIX_PUBLISH": "0"}, work, docs, False) == work / "matrix"
    assert matrix.destination({"IMAGE_REPAIR_BOOT_MATRIX_PUBLISH": "1"}, work, docs, False) == docs
    assert matrix.destination({"IMAGE_REPAIR_BOOT_MATRIX_DIR": str(tmp_path / "mine")}, work, docs, False) == \
        tmp_path / "mine"
    # the run that skips the repair (it must fail) never reaches the docs, even when asked
    assert matrix.destination({"IMAGE_REPAIR_BOOT_MATRIX_PUBLISH": "1"}, work, docs, True) == \
        work / "skip-repair-matrix"
    with pytest.raises(ValueError, match="IMAGE_REPAIR_BOOT_MATRIX_PUBLISH must be 1 .* or 0, not 'yes please'"):
        matrix.destination({"IMAGE_REPAIR_BOOT_MATRIX_PUBLISH": "yes please"}, work, docs, False)


def test_the_boot_suite_merges_into_the_chosen_folder_only(tmp_path, monkeypatch):
    import tests.boot.conftest as boot_suite
    repo, work = tmp_path / "repo", tmp_path / "work"
    (repo / "docs").mkdir(parents=True)
    monkeypatch.setattr(boot_suite, "REPO", repo)
    monkeypatch.setenv("IMAGE_REPAIR_BOOT_WORK", str(work))
    monkeypatch.delenv("IMAGE_REPAIR_BOOT_MATRIX_DIR", raising=False)
    monkeypatch.delenv("IMAGE_REPAIR_BOOT_SKIP_REPAIR", raising=False)
    monkeypatch.setattr(boot_suite, "RECORDS", [record("vmware")])
    monkeypatch.setattr(boot_suite, "WRITTEN", [])
    monkeypatch.delenv("IMAGE_REPAIR_BOOT_MATRIX_PUBLISH", raising=False)
    boot_suite.pytest_sessionfinish(None, 0)
    assert boot_suite.WRITTEN == [work / "matrix"]
    assert [c["cell"] for c in json.loads((work / "matrix" / "boot-matrix.json").read_text())["cells"]] == ["vmware"]
    assert list((repo / "docs").iterdir()) == []
    monkeypatch.setenv("IMAGE_REPAIR_BOOT_MATRIX_PUBLISH", "1")
    boot_suite.pytest_sessionfinish(None, 0)
    assert sorted(p.name for p in (repo / "docs").iterdir()) == ["boot-matrix.json", "boot-matrix.md"]
