"""The boot matrix files: docs/boot-matrix.json (every cell's record) and docs/boot-matrix.md
(a table: guest x breakage x disk bus x firmware, before on the breakage's bus, after on virtio and
on NVMe, boot seconds and the CPU seconds qemu used).

Records are merged by cell name, so running a few cells (``pytest -k``) updates only those; cells
no longer defined in cells.CELLS are dropped.

A test run never writes the tracked files unless asked: ``destination`` sends a run's matrix to
the boot work directory (``<work>/matrix``) by default, to docs/ only with
``IMAGE_REPAIR_BOOT_MATRIX_PUBLISH=1`` (what ``scripts/boot-matrix.sh --update`` sets).
"""
import json
import time
from pathlib import Path
from typing import Mapping

from .cells import CELLS

JSON_NAME = "boot-matrix.json"
MD_NAME = "boot-matrix.md"
PUBLISH_ENV = "IMAGE_REPAIR_BOOT_MATRIX_PUBLISH"
DIR_ENV = "IMAGE_REPAIR_BOOT_MATRIX_DIR"


def destination(environ: Mapping[str, str], work: Path, docs: Path, repair_skipped: bool) -> Path:
    """The folder a boot run's matrix goes to.

    * the repair skipped (IMAGE_REPAIR_BOOT_SKIP_REPAIR=1, the run that must fail): ``work/skip-repair-matrix``,
      never docs;
    * ``IMAGE_REPAIR_BOOT_MATRIX_DIR`` set: that folder;
    * ``IMAGE_REPAIR_BOOT_MATRIX_PUBLISH=1``: ``docs`` (the tracked docs/boot-matrix.{json,md});
    * otherwise ``work/matrix``: a test run leaves the work tree as it found it.
    """
    publish = environ.get(PUBLISH_ENV, "").strip()
    if publish not in ("", "0", "1"):
        raise ValueError("%s must be 1 (publish into %s) or 0, not %r" % (PUBLISH_ENV, docs, publish[:40]))
    if repair_skipped:
        return Path(work) / "skip-repair-matrix"
    if environ.get(DIR_ENV):
        return Path(environ[DIR_ENV])
    if publish == "1":
        return Path(docs)
    return Path(work) / "matrix"


def load(directory: Path) -> dict:
    path = Path(directory) / JSON_NAME
    if not path.exists():
        return {}
    return {record["cell"]: record for record in json.loads(path.read_text()).get("cells", [])}


def merge(directory: Path, records) -> list:
    """Write both files with ``records`` replacing the stored ones of the same cells; returns the cells."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stored = load(directory)
    for record in records:
        record = dict(record, finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        stored[record["cell"]] = record
    order = [cell.name for cell in CELLS]
    cells = [stored[name] for name in order if name in stored]
    (directory / JSON_NAME).write_text(json.dumps({"cells": cells}, indent=2) + "\n")
    (directory / MD_NAME).write_text(markdown(cells))
    return cells


def _esc(text: str) -> str:
    """Table-safe text (a problem may quote a log line with a pipe)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _boot_cell(outcome: dict) -> str:
    if outcome is None:
        return "-"
    state = "boots" if outcome["boots"] else "FAILS: " + "; ".join(outcome["problems"])
    cpu = ", %.0f s CPU" % outcome["cpu_seconds"] if outcome.get("cpu_seconds") is not None else ""
    # A boot qemu itself crashed (serial.emulator_fault) and booted again: shown, never hidden.
    again = ", booted again after a qemu fault" if outcome.get("emulator_faults") else ""
    return "%s (%s, %.0f s%s%s)" % (state, outcome["ended"], outcome["seconds"], cpu, again)


def after_on(record: dict, bus: str):
    """The repaired boot of ``record`` on ``bus`` (None when there was none)."""
    for key in ("after", "after_other_bus"):
        outcome = record.get(key)
        if outcome and outcome.get("bus", record["bus"]) == bus:
            return outcome
    return None


def boots_of(record: dict) -> list:
    return [record[key] for key in ("before", "after", "after_other_bus") if record.get(key)]


def markdown(cells: list) -> str:
    lines = ["# Boot matrix", "",
             "Written by the boot suite (`scripts/test.sh -m boot`, see [boot-proof.md](boot-proof.md)); every cell",
             "is a real Debian guest booted in `qemu-system-x86_64 -accel tcg` before and after",
             "`image-repair repair-disk --items all`. *before* (on the bus the breakage targets) must fail",
             "the way the breakage predicts; *after*, on virtio and on NVMe (the cell's bus first, with the",
             "growpart resize before it; every guest on both buses, `-` where a sibling cell of the same",
             "guest does it), must reach the boot marker with the root filesystem by UUID, eth0",
             "by DHCP and the kernel console on ttyS0. Seconds are wall-clock under TCG on a shared 2-core",
             "machine; CPU is the CPU time qemu used (less than wall-clock when the guest idles, e.g. waiting",
             "for a root device that never comes).", "",
             "| cell | guest | Debian | breakage | bus | firmware | before (unrepaired) | repair "
             "| after on virtio | after on nvme | extra | verdict |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for record in cells:
        repair = record.get("repair", {})
        repair_text = "skipped" if repair.get("skipped") else "exit %s, %.0f s%s" % (
            repair.get("exit_status"), repair.get("seconds", 0),
            ", %.0f s CPU" % repair["cpu_seconds"] if repair.get("cpu_seconds") is not None else "")
        extra = []
        grow = record.get("grow")
        if grow and "filesystem_bytes_after" in grow:
            extra.append("growpart: root fs %.2f -> %.2f GiB" % (grow["filesystem_bytes_before"] / 1024 ** 3,
                                                                  grow["filesystem_bytes_after"] / 1024 ** 3))
        after = record.get("after") or {}
        roots = [o["root_source"] for o in (after, record.get("after_other_bus") or {}) if o.get("root_source")]
        if roots:
            extra.append("root %s, kernel root=%s" % (" and ".join(roots), after.get("kernel_root")))
        if record.get("metadata"):
            extra.append("cloud-init: hostname %s (%s), %s metadata requests" % (
                after.get("hostname"), after.get("cloud_init_datasource"), after.get("metadata_requests")))
        if after.get("eth0"):
            extra.append("eth0 " + ", ".join(after["eth0"]))
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            record["cell"], record["guest"], record["debian"], record["breakage"], record["bus"], record["firmware"],
            _esc(_boot_cell(record.get("before"))), repair_text,
            _esc(_boot_cell(after_on(record, "virtio"))), _esc(_boot_cell(after_on(record, "nvme"))),
            _esc("; ".join(extra) or "-"), "**pass**" if record.get("verdict") == "pass" else _esc(record.get("verdict"))))
    passed = sum(1 for r in cells if r.get("verdict") == "pass")
    boots = [b for r in cells for b in boots_of(r)]
    cpu = [b["cpu_seconds"] for b in boots if b.get("cpu_seconds") is not None]
    lines += ["", "%d of %d cells pass; the cells took %.0f s in all (image copies, the boots, the repair);" % (
        passed, len(cells), sum(r.get("seconds", 0) for r in cells)),
        "their %d boots %.0f s of wall-clock%s, the repairs %.0f s%s." % (
            len(boots), sum(b["seconds"] for b in boots),
            " and %.0f s of qemu CPU" % sum(cpu) if len(cpu) == len(boots) else "",
            sum(r.get("repair", {}).get("seconds", 0) for r in cells),
            " and %.0f s of CPU" % sum(r["repair"]["cpu_seconds"] for r in cells)
            if all(r.get("repair", {}).get("cpu_seconds") is not None for r in cells) else "")]
    missing = [cell.name for cell in CELLS if cell.name not in {r["cell"] for r in cells}]
    if missing:
        lines += ["", "Not run yet: " + ", ".join(missing) + "."]
    return "\n".join(lines) + "\n"
