"""The boot suite's shared pieces: where cells work, and the matrix written at the end.

Each cell's record is collected during the session and merged into docs/boot-matrix.{json,md}
(or ``IMAGE_REPAIR_BOOT_MATRIX_DIR``) when the session ends. A run with the repair skipped
(IMAGE_REPAIR_BOOT_SKIP_REPAIR=1) does not touch the committed matrix: it writes to its work dir.
"""
import os
from pathlib import Path

import pytest

from image_repair.bootproof import matrix
from image_repair.bootproof.runcell import skip_repair

REPO = Path(__file__).resolve().parents[2]
RECORDS = []


def work_root() -> Path:
    return Path(os.environ.get("IMAGE_REPAIR_BOOT_WORK") or "/var/tmp/image-repair-bootproof")


@pytest.fixture(scope="session")
def boot_work() -> Path:
    if os.geteuid() != 0:
        pytest.skip("boot tests need root (loop devices, mounts, chroot)")
    path = work_root()
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def record_cell():
    return RECORDS.append


def pytest_sessionfinish(session, exitstatus):
    if not RECORDS:
        return
    if skip_repair():
        directory = work_root() / "skip-repair-matrix"
    else:
        directory = Path(os.environ.get("IMAGE_REPAIR_BOOT_MATRIX_DIR") or REPO / "docs")
    matrix.merge(directory, RECORDS)
