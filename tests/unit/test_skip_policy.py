"""Under CI=true a skip fails the run unless declared (tests/skip_policy.py), shown on real pytest
runs: a subprocess runs pytest on a tiny temporary test suite whose conftest registers the same
SkipPolicy plugin as tests/conftest.py, with a one-entry allow-list of its own."""
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import unmet_needs
from tests.expected_skips import EXPECTED_SKIPS
from tests.skip_policy import ExpectedSkip, SkipPolicy, ci_requested, skip_message

REPO = Path(__file__).resolve().parents[2]

CONFTEST = '''
from tests.skip_policy import ExpectedSkip, SkipPolicy

def pytest_configure(config):
    config.pluginmanager.register(SkipPolicy([
        ExpectedSkip("test_tiny.py::test_declared", "no frobnicator on this host", "the tiny suite's declared skip"),
    ]))
'''

TESTS = {
    "undeclared": '''
        import pytest

        def test_passes():
            assert True

        def test_undeclared():
            pytest.skip("the tool is missing")
        ''',
    "declared": '''
        import pytest

        def test_passes():
            assert True

        def test_declared():
            pytest.skip("no frobnicator on this host")
        ''',
    "declared_test_other_reason": '''
        import pytest

        def test_declared():
            pytest.skip("root is missing")
        ''',
    "fixture_and_mark": '''
        import pytest

        @pytest.fixture
        def cache():
            pytest.skip("the cache is empty")

        def test_uses_the_cache(cache):
            assert cache

        @pytest.mark.skipif(True, reason="never here")
        def test_marked():
            assert False

        @pytest.mark.xfail(reason="a known bug, declared in the test", strict=True)
        def test_known_bug():
            assert False
        ''',
    "module": '''
        import pytest

        pytest.skip("this whole module cannot run here", allow_module_level=True)

        def test_never_collected():
            assert True
        ''',
}


def run_tiny(tmp_path: Path, suite: str, ci) -> tuple:
    """(exit status, output) of pytest on the suite ``suite`` as tmp_path/test_tiny.py."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_tiny.py").write_text(textwrap.dedent(TESTS[suite]))
    env = {key: value for key, value in os.environ.items() if key not in ("CI", "PYTEST_ADDOPTS")}
    env["PYTHONPATH"] = str(REPO)
    if ci is not None:
        env["CI"] = ci
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-rA", "test_tiny.py"],
                            cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True, timeout=120)
    return result.returncode, result.stdout


def summary(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_an_undeclared_skip_fails_the_run_under_ci(tmp_path):
    status, output = run_tiny(tmp_path, "undeclared", ci="true")
    assert status == 1, output
    assert re.search(r"=+ 1 failed, 1 passed in ", summary(output)), output
    assert "FAILED test_tiny.py::test_undeclared" in output
    assert "unexpected skip under CI=true: the tool is missing" in output


def test_without_ci_the_same_skip_stays_a_skip(tmp_path):
    for ci in (None, "", "false"):
        status, output = run_tiny(tmp_path, "undeclared", ci=ci)
        assert status == 0, output
        assert re.search(r"=+ 1 passed, 1 skipped in ", summary(output)), output


def test_a_declared_skip_stays_a_skip_under_ci(tmp_path):
    status, output = run_tiny(tmp_path, "declared", ci="true")
    assert status == 0, output
    assert re.search(r"=+ 1 passed, 1 skipped in ", summary(output)), output
    assert "SKIPPED [1] test_tiny.py:8: no frobnicator on this host" in output


def test_a_declared_test_skipping_for_another_reason_fails(tmp_path):
    status, output = run_tiny(tmp_path, "declared_test_other_reason", ci="1")
    assert status == 1, output
    assert "unexpected skip under CI=true: root is missing" in output


def test_skips_in_fixtures_and_skip_marks_fail_too_and_xfail_is_left_alone(tmp_path):
    status, output = run_tiny(tmp_path, "fixture_and_mark", ci="true")
    assert status == 1, output
    assert "ERROR test_tiny.py::test_uses_the_cache" in output      # skipped in its setup
    assert "unexpected skip under CI=true: the cache is empty" in output
    assert "ERROR test_tiny.py::test_marked - unexpected skip under CI=true: never here" in output
    assert "XFAIL test_tiny.py::test_known_bug" in output
    assert re.search(r"=+ 1 xfailed, 2 errors in ", summary(output)), output


def test_a_module_skipped_at_collection_fails_under_ci(tmp_path):
    status, output = run_tiny(tmp_path, "module", ci="true")
    assert status != 0, output
    assert "unexpected skip under CI=true: this whole module cannot run here" in output
    assert re.search(r"=+ 1 error in ", summary(output)), output
    status, output = run_tiny(tmp_path, "module", ci=None)
    assert status == 5 and "1 skipped" in summary(output), output   # without CI: skipped, no test ran


def test_ci_words():
    assert ci_requested({"CI": "true"}) and ci_requested({"CI": "TRUE"}) and ci_requested({"CI": "1"})
    assert not ci_requested({}) and not ci_requested({"CI": ""}) and not ci_requested({"CI": "false"})


def test_an_entry_matches_its_test_its_cases_and_its_reason_only():
    entry = ExpectedSkip("tests/x.py::test_a", "no zstd", "why")
    assert entry.matches("tests/x.py::test_a", "needs no zstd here")
    assert entry.matches("tests/x.py::test_a[case]", "no zstd")
    assert not entry.matches("tests/x.py::test_ab", "no zstd")
    assert not entry.matches("tests/x.py::test_a", "needs root")
    assert ExpectedSkip("tests/x.py", "r", "why").matches("tests/x.py::test_b", "r")
    skipped = SimpleNamespace(skipped=True, nodeid="tests/x.py::test_a", longrepr=("x.py", 3, "Skipped: no zstd"))
    assert SkipPolicy([entry], environ={"CI": "true"}).unexpected(skipped) is None
    assert SkipPolicy([], environ={"CI": "true"}).unexpected(skipped).startswith("unexpected skip under CI=true: no zstd")
    assert SkipPolicy([], environ={}).unexpected(skipped) is None
    assert skip_message(("x.py", 3, "Skipped: no zstd")) == "no zstd"


def test_the_projects_allow_list_gives_every_entry_a_test_a_reason_and_why():
    for entry in EXPECTED_SKIPS:
        assert entry.test.startswith("tests/") and entry.reason.strip() and len(entry.why.split()) >= 3, entry


def test_unmet_needs_name_what_is_missing():
    which = {"zstd": "/usr/bin/zstd"}.get
    assert unmet_needs(False, [], is_root=False, which=which) is None
    assert unmet_needs(True, ["zstd"], is_root=True, which=which) is None
    assert unmet_needs(True, [], is_root=False, which=which) == "needs root (chroot, mounts, loop devices)"
    assert unmet_needs(False, ["lz4", "zstd", "lsinitramfs"], is_root=True, which=which) == (
        "needs lsinitramfs, lz4 on PATH (scripts/setup.sh installs them)")
    assert unmet_needs(True, ["lz4"], is_root=False, which=which) == (
        "needs root (chroot, mounts, loop devices) and lz4 on PATH (scripts/setup.sh installs them)")

