"""What each kind of ``image-repair`` run loads (src/image_repair/cli/__init__.py's docstring).

The CLI's imports are at the top of its modules except the few that keep a heavy part out of the
runs that do not use it (each says why on its line; tests/unit/test_architecture.py counts them).
These tests pin the result by module, in a fresh interpreter per run (no timing):

* ``--help`` and a refused argument load the parser tree only: no pydantic, no control plane
  beyond control/inputs.py, no emulator, no SDK;
* a command that runs (``list``) loads the control plane, but neither the emulator, nor the test
  helpers, nor the flow runner and PyYAML, nor a cloud SDK, nor the other commands' triggers;
* a delegated command (``check-disk --help``) loads the agent, not the control-plane commands.
"""
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

HEAVY_FOR_ALL = ("image_repair.emulator", "image_repair.testing", "image_repair.control.local_run",
                 "image_repair_lab", "yaml", "alibabacloud_ecs20140526", "alibabacloud_tea_openapi",
                 "alibabacloud_credentials", "alibabacloud_fnf20190315", "alibabacloud_fc20230330", "tablestore",
                 "darabonba")
CONTROL_PLANE = ("pydantic", "image_repair.control.settings", "image_repair.control.store",
                 "image_repair.control.models", "image_repair.cli.dispatch", "image_repair.cli.local_session")


def loaded_by(argv, env=None):
    """(exit status, the modules loaded) of ``image-repair ARGV`` run in a fresh interpreter."""
    code = ("import json, sys\n"
            "from image_repair.cli import main\n"
            "status = main(%r)\n"
            "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n')\n"
            "sys.exit(status)\n" % (list(argv),))
    result = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, env=env)
    line = [text for text in result.stderr.splitlines() if text.startswith("MODULES ")]
    assert line, result.stderr[-2000:]
    return result.returncode, set(json.loads(line[-1][len("MODULES "):]))


def among(modules, prefixes):
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


@pytest.mark.parametrize("argv", [["--help"], ["repair", "--help"], ["events", "deliver", "--help"],
                                  ["repair", "m-1", "--retry", "1000"], ["sweep", "--max-starts", "x"]],
                         ids=["help", "repair-help", "events-help", "refused-retry", "refused-max-starts"])
def test_help_and_a_refused_argument_load_the_parser_tree_only(argv):
    status, modules = loaded_by(argv)
    assert status in (0, 2)
    assert "image_repair.cli.parsers" in modules
    assert among(modules, HEAVY_FOR_ALL + CONTROL_PLANE) == []


def test_a_command_that_runs_loads_the_control_plane_but_no_emulator_flow_runner_or_sdk(tmp_path):
    env = dict(os.environ, IMAGE_REPAIR_STORE="sqlite://%s" % (tmp_path / "state.db"))
    for name in ("IMAGE_REPAIR_ECS_ENDPOINT", "IMAGE_REPAIR_DEBUG"):
        env.pop(name, None)
    status, modules = loaded_by(["list"], env)
    assert status == 0
    assert {"image_repair.cli.dispatch", "image_repair.control.store"} <= modules     # pydantic: not needed (issue 12)
    assert among(modules, HEAVY_FOR_ALL + ("image_repair.control.triggers", "image_repair.cli.sweep",
                                           "image_repair.cli.events")) == []


def test_every_parser_names_a_command_that_dispatch_runs():
    from image_repair.cli import build_parser, commands
    from image_repair.cli.dispatch import RUNS, command_function
    named = sorted(command.get_default("run") for command, _help in commands(build_parser())
                   if command.get_default("run") is not None)
    assert named == sorted(RUNS)
    assert all(callable(command_function(name)) for name in RUNS)


def test_a_delegated_command_loads_its_own_tool_not_the_control_plane_commands():
    status, modules = loaded_by(["check-disk", "--help"])
    assert status == 0
    assert "image_repair.agent.cli" in modules
    assert among(modules, HEAVY_FOR_ALL + CONTROL_PLANE) == []
