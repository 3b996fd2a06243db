"""`image-repair repair --endpoint` against `image-repair emulator serve --latency fast` (real
sockets, the real SDK, the local flow runner): the command asks the emulator for its clock and
runs the modelled minutes at the emulator's pace, with no --time-scale."""
import json

import pytest

from tests.integration.served_cli import cli, served_emulator

SOURCE = "m-bp1emulatorbrokenimg01"       # the built-in seed's broken image


@pytest.fixture
def fast_emulator(tmp_path):
    with served_emulator(tmp_path, "--latency", "fast") as (endpoint, env):
        yield endpoint, env


def test_repair_learns_the_emulators_pace_without_time_scale(fast_emulator):
    endpoint, env = fast_emulator
    done = cli("repair", SOURCE, "--endpoint", endpoint, "--engine", "alibaba", "--items", "auto", "--json", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "runs 600 times faster than real time" in done.stderr
    assert "failed without a recorded cause" not in done.stderr, done.stderr[-3000:]     # no step judged timed out
    out = json.loads(done.stdout)
    assert out["status"] == "SUCCEEDED" and out["report"]["newImageId"], out
    # the flow waited the modelled minutes (the image checks alone are minutes), on the emulator's clock
    assert sum(out["report"]["stepSeconds"].values()) > 5 * 60, out["report"]["stepSeconds"]
    # the same command again shows the finished execution
    again = cli("repair", SOURCE, "--endpoint", endpoint, "--engine", "alibaba", "--items", "auto", env=env)
    assert again.returncode == 0 and "already ran" in again.stderr, again.stderr[-2000:]
    listed = cli("list", env=env)
    assert out["executionId"] in listed.stdout
