"""Test layers by folder: tests/unit -> unit, tests/integration -> integration, tests/boot -> boot.

Run one layer alone with ``scripts/test.sh -m unit`` (or integration, boot).

This file is also the one place that decides what happens when a test's needs are not met:

* ``@pytest.mark.needs_root``: the test chroots, mounts, attaches loop devices or boots qemu.
  Every test of the boot layer gets it here; integration tests declare it (module ``pytestmark``).
  The unit layer never needs root (tests/integration/test_layers.py runs it as an unprivileged
  user and expects nothing skipped).
* ``@pytest.mark.needs_tools("zstd", ...)``: programs that must be on PATH (scripts/setup.sh
  installs them).

A test whose needs are unmet is skipped with a reason naming what is missing, and under
``CI=true`` that skip fails the run unless tests/expected_skips.py declares it (tests/skip_policy.py).
"""
import os
import shutil
from typing import Callable, Iterable, Optional

import pytest

from tests.expected_skips import EXPECTED_SKIPS
from tests.skip_policy import SkipPolicy

LAYERS = ("unit", "integration", "boot")
# Tools the boot layer drives on top of what its cells' image builds need.
BOOT_TOOLS = ("qemu-system-x86_64",)


def pytest_configure(config):
    # The markers are registered in pyproject.toml.
    config.pluginmanager.register(SkipPolicy(EXPECTED_SKIPS), "image-repair-skip-policy")


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = os.path.relpath(str(item.fspath), os.path.dirname(__file__)).split(os.sep)
        layer = parts[0] if parts and parts[0] in LAYERS else None
        if layer:
            item.add_marker(getattr(pytest.mark, layer))
        if layer == "boot":
            item.add_marker(pytest.mark.needs_root)
            item.add_marker(pytest.mark.needs_tools(*BOOT_TOOLS))
        if layer == "unit" and item.get_closest_marker("needs_root"):
            raise pytest.UsageError("%s is marked needs_root: the unit layer needs no root, move it to "
                                    "tests/integration" % item.nodeid)


def unmet_needs(needs_root: bool, tools: Iterable[str], is_root: bool,
                which: Callable[[str], Optional[str]] = shutil.which) -> Optional[str]:
    """Why a test with these needs cannot run here (None when it can)."""
    missing = []
    if needs_root and not is_root:
        missing.append("root (chroot, mounts, loop devices)")
    absent = sorted({tool for tool in tools if not which(tool)})
    if absent:
        missing.append("%s on PATH (scripts/setup.sh installs them)" % ", ".join(absent))
    return "needs " + " and ".join(missing) if missing else None


def pytest_runtest_setup(item):
    tools = [name for mark in item.iter_markers("needs_tools") for name in mark.args]
    reason = unmet_needs(item.get_closest_marker("needs_root") is not None, tools, is_root=os.geteuid() == 0)
    if reason:
        pytest.skip(reason)


@pytest.fixture
def store(tmp_path):
    """An empty SQLite state store in the test's own directory (closed afterwards). Test files
    needing another store (a clock, the contract suite's two backends) define their own."""
    from image_repair.control.store.sqlite import SQLiteStore
    store = SQLiteStore(str(tmp_path / "state.db"))
    yield store
    store.close()


@pytest.fixture(autouse=True)
def new_function_container():
    """Each test starts as a new Function Compute container would: no settings or ports kept
    from another test (handlers/fc.py builds them on a container's first invocation)."""
    forget_function_container()
    yield
    forget_function_container()


def forget_function_container() -> None:
    import sys
    container = sys.modules.get("image_repair.control.handlers.fc")      # not imported: nothing kept
    if container is not None:
        container.use_ports(None)
