"""The agent's progress lines, as the repair wait reads them from a running command's output and as
the emulator streams them (agent/progress.py, steps/wait_for_repair.py, emulator/resources.py)."""
import base64
import io
import json

import pytest

from image_repair.agent.progress import PREFIX, NoProgress, Progress, parse_line
from image_repair.control.steps.agent_delivery import last_progress
from image_repair.control.steps.wait_for_repair import RECHECK_SHARE, remaining_from_agent
from image_repair.emulator.resources import running_output

pytestmark = pytest.mark.unit


def line(percent, elapsed, **extra):
    return PREFIX + json.dumps(dict(extra, percent=percent, elapsed=elapsed)) + "\n"


def result_with(output: str) -> dict:
    return {"Output": base64.b64encode(output.encode()).decode(), "InvocationStatus": "Running"}


def test_one_reader_of_a_progress_line_types_its_fields():
    assert parse_line(line(40, 12.0, phase="fix")) == {"percent": 40, "elapsed": 12.0, "phase": "fix"}
    for bad in ("not ours", PREFIX + "{cut", PREFIX + "[1]", PREFIX + '{"percent": true, "elapsed": 1}',
                PREFIX + '{"percent": 1}', PREFIX + '{"percent": 1, "elapsed": "2"}'):
        assert parse_line(bad) is None, bad


def test_progress_counts_weighted_units_and_never_passes_100():
    out = io.StringIO()
    clock = iter([0.0, 2.0, 5.0, 9.0])
    progress = Progress(out, clock=lambda: next(clock))
    progress.plan(detect=2, regenerate=2)
    progress.advance("detect", units=2)
    progress.advance("regenerate", "initramfs", units=3)   # more than planned: capped
    lines = [json.loads(text[len(PREFIX):]) for text in out.getvalue().splitlines()]
    assert lines == [{"elapsed": 2.0, "percent": 20, "phase": "detect"},
                     {"elapsed": 5.0, "item": "initramfs", "percent": 100, "phase": "regenerate"}]
    NoProgress().advance("detect")          # prints nothing, anywhere


def test_the_last_good_line_is_read_and_anything_else_ignored():
    output = "starting\n" + line(10, 3.0) + line(40, 12.0) + PREFIX + '{"percent": 70, "ela\n'
    assert last_progress(output) == {"percent": 40, "elapsed": 12.0}
    assert last_progress("no lines here\n{\"items\": []}\n") is None
    assert last_progress(PREFIX + '{"percent": "x", "elapsed": 1}\n') is None


def test_the_wait_follows_the_agents_pace_then_rechecks_a_share_of_the_run():
    # 40 % after 12 s: a 30 s run; 20 s since the command started: 10 s left, 80 % of it at once
    assert remaining_from_agent(result_with(line(40, 12.0)), 20.0) == pytest.approx(8.0)
    # the pace has passed (a long phase prints nothing until it ends): a share of the time run
    assert remaining_from_agent(result_with(line(40, 12.0)), 100.0) == pytest.approx(RECHECK_SHARE * 100.0)
    # nothing to go by: the poll's own growing intervals
    for output in ("", line(0, 1.0), line(100, 30.0), "plain output\n"):
        assert remaining_from_agent(result_with(output), 20.0) is None
    assert remaining_from_agent(None, 20.0) is None


def test_the_emulator_streams_progress_lines_as_they_come_due_and_the_report_last():
    output = "header\n" + line(20, 10.0) + line(80, 50.0) + line(100, 60.0) + '{"items": []}\n'
    assert running_output(output, 5.0) == ""
    assert running_output(output, 10.0) == "header\n" + line(20, 10.0)
    assert running_output(output, 59.0) == "header\n" + line(20, 10.0) + line(80, 50.0)
    assert "items" not in running_output(output, 1e9)          # the report only once Finished
    assert running_output("no progress lines\n", 1e9) == ""     # a plain command shows nothing while running
