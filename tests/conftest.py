"""Test layers by folder: tests/unit -> unit, tests/integration -> integration, tests/boot -> boot.

Run one layer alone with ``scripts/test.sh -m unit`` (or integration, boot)."""
import os

import pytest

LAYERS = ("unit", "integration", "boot")


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = os.path.relpath(str(item.fspath), os.path.dirname(__file__)).split(os.sep)
        if parts and parts[0] in LAYERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


def pytest_configure(config):
    # Integration and boot layers mount filesystems and attach loop devices: they need root.
    config.addinivalue_line("markers", "needs_root: mounts filesystems or attaches loop devices")


@pytest.fixture
def store(tmp_path):
    """An empty SQLite state store in the test's own directory (closed afterwards). Test files
    needing another store (a clock, the contract suite's two backends) define their own."""
    from image_repair.store.sqlite import SQLiteStore
    store = SQLiteStore(str(tmp_path / "state.db"))
    yield store
    store.close()
