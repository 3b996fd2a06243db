"""Under ``CI=true`` a skipped test fails the run, unless the skip is declared and expected.

A skip in CI means a check that did not run while the run still looks green: a tool setup did not
install, root that was missing, a cache that was empty. So when the environment variable ``CI`` is
true (CI sets ``CI=true``), every skip (in a test's setup, call or teardown, or of a whole module at
collection) becomes a failure naming the test and its reason, unless an entry of the allow-list
(tests/expected_skips.py) matches both the test and the reason. Without ``CI`` skips stay skips, so
a developer's run on a machine without root still works. ``xfail`` is left alone: it is declared
in the test itself.

tests/conftest.py registers ``SkipPolicy(EXPECTED_SKIPS)``; tests/unit/test_skip_policy.py runs
pytest on small test files with it to show each case.
"""
import os
from typing import Iterable, Mapping, NamedTuple, Optional

import pytest

TRUE_WORDS = ("1", "true", "yes")


class ExpectedSkip(NamedTuple):
    """A skip CI accepts: ``test`` is a node id (a module or a test: a parametrized test's cases and a
    module's tests match too), ``reason`` a part of the skip message, ``why`` the justification."""
    test: str
    reason: str
    why: str

    def matches(self, nodeid: str, message: str) -> bool:
        scope = nodeid == self.test or nodeid.startswith((self.test + "::", self.test + "["))
        return scope and self.reason in message


def ci_requested(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("CI", "").strip().lower() in TRUE_WORDS


def skip_message(longrepr) -> str:
    """The message of a skip report (pytest gives (path, line, "Skipped: message") for skips)."""
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        message = str(longrepr[2])
    else:
        message = str(longrepr)
    return message[len("Skipped: "):] if message.startswith("Skipped: ") else message


class SkipPolicy:
    """The pytest plugin: turns unexpected skips into failures when CI is requested."""

    def __init__(self, expected: Iterable[ExpectedSkip], environ: Optional[Mapping[str, str]] = None):
        self.expected = tuple(expected)
        self.environ = os.environ if environ is None else environ

    def unexpected(self, report) -> Optional[str]:
        """The failure text for ``report`` when it is a skip CI must not accept, else None."""
        if not report.skipped or hasattr(report, "wasxfail") or not ci_requested(self.environ):
            return None
        message = skip_message(report.longrepr)
        if any(entry.matches(report.nodeid, message) for entry in self.expected):
            return None
        return ("unexpected skip under CI=true: %s (a check that did not run: make it run here, scripts/setup.sh "
                "installs what tests need, or declare the skip in tests/expected_skips.py)" % message)

    def _fail_if_unexpected(self, report) -> None:
        failure = self.unexpected(report)
        if failure:
            report.outcome = "failed"
            report.longrepr = failure

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        self._fail_if_unexpected(outcome.get_result())

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        outcome = yield
        self._fail_if_unexpected(outcome.get_result())
