"""The skips CI accepts (tests/skip_policy.py): under ``CI=true`` any other skip fails the run.

Each entry names the test (a node id: a module, a test, or one parametrized case), a part of the
skip message it is expected to give, and why that skip is acceptable rather than a check that
silently did not run. Keep it empty: a test that cannot run in CI belongs to another layer or needs
its tool installed by scripts/setup.sh.
"""
from typing import Tuple

from tests.skip_policy import ExpectedSkip

EXPECTED_SKIPS: Tuple[ExpectedSkip, ...] = ()
