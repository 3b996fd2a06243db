"""The unit layer keeps its promise, "pure, no root": scripts/unit-as-nobody.sh runs tests/unit as
an unprivileged user (uid 65534, no capabilities) on a copy of the work tree, and every test must
pass there with nothing skipped. A unit test that chroots, mounts or attaches a loop device fails
this run; its place is tests/integration with ``@pytest.mark.needs_root``."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_tools("setpriv", "python3")]


def test_the_unit_layer_passes_as_an_unprivileged_user_with_nothing_skipped():
    # Without CI=true, so that a skip shows as a skip in the summary and is refused here by name.
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "PYTEST_ADDOPTS")}
    result = subprocess.run(["bash", str(REPO / "scripts" / "unit-as-nobody.sh"), "-q", "-rfEs"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    output = result.stdout
    assert "tests/unit as uid 65534" in output, output[-3000:]
    summary = output.strip().splitlines()[-1]
    assert result.returncode == 0, output[-6000:]
    # "N passed in S": no skipped, failed, error, xfailed or deselected part
    assert re.fullmatch(r"\d+ passed in [\d.]+s( \(\d+:\d\d:\d\d\))?", summary), output[-6000:]
    # the same tests as root collects: none lost to the unprivileged collection
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                "tests/unit"], cwd=str(REPO), env=env, stdout=subprocess.PIPE,
                               universal_newlines=True, check=True).stdout.strip().splitlines()[-1]
    assert int(summary.split()[0]) == int(collected.split()[0]), (summary, collected)
