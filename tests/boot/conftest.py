"""The boot suite's shared pieces: where cells work, running the cells, and the matrix.

The selected cells run IMAGE_REPAIR_BOOT_JOBS at a time (default 3 on 2 cores: a cell's own boots
and repair are sequential, and a cell is often idle, e.g. an unrepaired guest waiting 30 s for a
root device that never comes, so a third cell fills the cores), longest first by the durations
the committed matrix recorded.

Each cell's record is collected during the session and merged, when the session ends, into the
matrix files of the folder ``bootproof.matrix.destination`` chooses: the work dir's ``matrix/`` by
default, docs/boot-matrix.{json,md} only with IMAGE_REPAIR_BOOT_MATRIX_PUBLISH=1
(``scripts/boot-matrix.sh --update``), never docs when the repair is skipped
(IMAGE_REPAIR_BOOT_SKIP_REPAIR=1). The summary names the folder.
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from image_repair_lab.bootproof import matrix
from image_repair_lab.bootproof.runcell import run_cell, skip_repair

REPO = Path(__file__).resolve().parents[2]
RECORDS = []


def work_root() -> Path:
    return Path(os.environ.get("IMAGE_REPAIR_BOOT_WORK") or "/var/tmp/image-repair-bootproof")


@pytest.fixture(scope="session")
def boot_work() -> Path:
    path = work_root()
    # A bad IMAGE_REPAIR_BOOT_MATRIX_PUBLISH fails here, not after the boots.
    matrix.destination(os.environ, path, REPO / "docs", skip_repair())
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def record_cell():
    return RECORDS.append


def _previous_seconds() -> dict:
    try:
        records = json.loads((REPO / "docs" / "boot-matrix.json").read_text())
    except (OSError, ValueError):
        return {}
    cells = records.get("cells", records) if isinstance(records, dict) else records
    return {r.get("cell"): r.get("seconds") or 0 for r in cells if isinstance(r, dict)}


@pytest.fixture(scope="session")
def cell_outcomes(request, boot_work):
    """{cell name: record or exception} for every selected cell, run in parallel."""
    cells = [item.callspec.params["cell"] for item in request.session.items
             if hasattr(item, "callspec") and "cell" in item.callspec.params]
    previous = _previous_seconds()
    cells.sort(key=lambda cell: previous.get(cell.name, 0), reverse=True)
    jobs = max(1, int(os.environ.get("IMAGE_REPAIR_BOOT_JOBS", "3")))

    def outcome(cell):
        try:
            return run_cell(cell, boot_work / cell.name)
        except Exception as error:  # reported by that cell's test, not by the others
            return error

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip((cell.name for cell in cells), pool.map(outcome, cells)))


WRITTEN = []     # the folder this session's matrix went to, for the terminal summary


def pytest_sessionfinish(session, exitstatus):
    if not RECORDS:
        return
    directory = matrix.destination(os.environ, work_root(), REPO / "docs", skip_repair())
    matrix.merge(directory, RECORDS)
    WRITTEN.append(directory)


def pytest_terminal_summary(terminalreporter):
    for directory in WRITTEN:
        published = directory.resolve() == (REPO / "docs").resolve()
        terminalreporter.write_line("boot matrix: %s and %s in %s%s" % (
            matrix.JSON_NAME, matrix.MD_NAME, directory,
            "" if published else " (docs/ untouched; scripts/boot-matrix.sh --update publishes a run there)"))
