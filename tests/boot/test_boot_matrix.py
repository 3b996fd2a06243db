"""The boot proof (issue 3): every cell of bootproof.cells.CELLS, unrepaired then repaired, in qemu.

A cell passes when the unrepaired guest fails the way its breakage predicts (no marker, no DHCP
address on eth0, no kernel console on ttyS0, or a hostname not from the metadata service) and
the guest repaired by ``image-repair repair-disk --items all`` boots healthy on its bus and (every
guest at least once) on the other one:
marker, root by UUID, eth0 with qemu's DHCP address, kernel console on ttyS0; plus, per cell, a grown root
filesystem (growpart) and the hostname from the AliYun metadata emulator (cloud-init).
"""
import pytest

from image_repair_lab.bootproof.cells import CELLS


@pytest.mark.parametrize("cell", CELLS, ids=[cell.name for cell in CELLS])
def test_boot_cell(cell, cell_outcomes, record_cell):
    record = cell_outcomes[cell.name]
    if isinstance(record, Exception):
        raise record
    record_cell(record)
    before = record["before"]
    assert not before["boots"], "unrepaired guest booted healthy; serial log %s" % before["serial_log"]
    assert any(cell.expect_before in p for p in before["problems"]), (
        "unrepaired guest failed otherwise than expected (%r): %s" % (cell.expect_before, before["problems"]))
    if not record["repair"].get("skipped"):
        assert record["repair"]["exit_status"] == 0, "repair-disk failed: %s (log %s)" % (
            record["repair"].get("items"), record["repair"]["log"])
    afters = [after for after in (record["after"], record["after_other_bus"]) if after is not None]
    for after in afters:
        assert after["boots"], "repaired guest on %s: %s; serial log %s" % (
            after["bus"], "; ".join(after["problems"]), after["serial_log"])
    assert [after["bus"] for after in afters] == list(cell.after_buses)

