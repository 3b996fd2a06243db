"""The boot suite's shared pieces: where cells work, running the cells, and the matrix.

The selected cells run IMAGE_REPAIR_BOOT_JOBS at a time (default 3 on 2 cores: a cell's own boots
and repair are sequential, and a cell is often idle, e.g. an unrepaired guest waiting 30 s for a
root device that never comes, so a third cell fills the cores), longest first by the durations
the committed matrix recorded.

Each cell's record is collected during the session and merged into docs/boot-matrix.{json,md}
(or ``IMAGE_REPAIR_BOOT_MATRIX_DIR``) when the session ends. A run with the repair skipped
(IMAGE_REPAIR_BOOT_SKIP_REPAIR=1) does not touch the committed matrix: it writes to its work dir.
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from image_repair.bootproof import matrix
from image_repair.bootproof.runcell import run_cell, skip_repair

REPO = Path(__file__).resolve().parents[2]
RECORDS = []


def work_root() -> Path:
    return Path(os.environ.get("IMAGE_REPAIR_BOOT_WORK") or "/var/tmp/image-repair-bootproof")


@pytest.fixture(scope="session")
def boot_work() -> Path:
    path = work_root()
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


def pytest_sessionfinish(session, exitstatus):
    if not RECORDS:
        return
    if skip_repair():
        directory = work_root() / "skip-repair-matrix"
    else:
        directory = Path(os.environ.get("IMAGE_REPAIR_BOOT_MATRIX_DIR") or REPO / "docs")
    matrix.merge(directory, RECORDS)
