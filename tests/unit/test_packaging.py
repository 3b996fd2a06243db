"""What ships: the flow definition as package data (one file, state_machine/repair_image.yaml, seen
by the package through a link), and the Function Compute code package with the product only.

The wheel itself, installed in a clean venv and run: tests/integration/test_installed_wheel.py."""
import subprocess
import sys
import sysconfig
from importlib import resources
from pathlib import Path

import pytest

from image_repair.control.local_run import DEFINITION, load_repair_flow
from image_repair.control.steps import FUNCTIONS
from tests.unit.serverless_devs import fc3_functions, resolved_s_yaml

ROOT = Path(__file__).resolve().parents[2]
STATE_MACHINE = ROOT / "state_machine" / "repair_image.yaml"
# What a function never runs; none of it may be in the code package.
NOT_IN_FC = ("image_repair.cli", "image_repair.emulator", "image_repair.testing", "image_repair.__main__",
             "image_repair_lab", "tests", "bench", "scripts")


def test_the_packaged_flow_definition_is_the_state_machine_file():
    packaged = resources.files("image_repair.control") / "repair_image.yaml"
    assert packaged.read_bytes() == STATE_MACHINE.read_bytes()
    assert DEFINITION.read_bytes() == STATE_MACHINE.read_bytes()
    link = ROOT / "src" / "image_repair" / "control" / "repair_image.yaml"
    assert link.is_symlink() and link.resolve() == STATE_MACHINE.resolve()     # one definition, not a copy
    assert load_repair_flow().functions == set(FUNCTIONS)      # loaded from the package, every step there


@pytest.fixture(scope="module")
def fc_code(tmp_path_factory) -> Path:
    """The project's part of the FC package, copied by the build script's own copy step."""
    out = tmp_path_factory.mktemp("fc") / "code"
    subprocess.run(["bash", str(ROOT / "scripts" / "build-fc-package.sh"), "--code-only", str(out)], check=True,
                   cwd=str(ROOT))
    return out


def modules_under(folder: Path) -> set:
    names = set()
    for path in folder.rglob("*.py"):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.add(".".join(parts))
    return names


def test_the_fc_package_holds_the_product_only(fc_code):
    modules = modules_under(fc_code)
    tops = {name.split(".")[0] for name in modules}
    assert tops == {"image_repair"}, tops
    assert [m for m in modules if m.startswith(NOT_IN_FC)] == []
    assert {m.split(".")[1] for m in modules if m.count(".") >= 1} == {"control", "agent"}
    # every handler s.yaml deploys is there, and the flow definition, as a file with the same bytes
    handlers = {function["handler"].rsplit(".", 1)[0] for function in fc3_functions(resolved_s_yaml()).values()}
    assert handlers and handlers <= modules, handlers - modules
    packaged = fc_code / "image_repair" / "control" / "repair_image.yaml"
    assert not packaged.is_symlink() and packaged.read_bytes() == STATE_MACHINE.read_bytes()
    assert not list(fc_code.rglob("__pycache__"))


def test_every_handler_imports_from_the_fc_package_alone(fc_code):
    """The handlers import with the package's copy and the installed SDKs only: no site hook (an
    editable install's finder could serve a module the copy lacks), nothing from the source tree."""
    handlers = sorted(m for m in modules_under(fc_code) if m.startswith("image_repair.control.handlers."))
    script = (
        "import importlib, sys\n"
        "sys.path[:0] = sys.argv[1:4]\n"
        "for name in sys.argv[4:]:\n"
        "    module = importlib.import_module(name)\n"
        "    assert module.__file__.startswith(sys.argv[1]), module.__file__\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(%r))\n"
        "print('\\n'.join(loaded))\n" % (NOT_IN_FC,))
    paths = sysconfig.get_paths()
    result = subprocess.run([sys.executable, "-S", "-c", script, str(fc_code), paths["purelib"], paths["platlib"],
                             *handlers], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            cwd=str(fc_code))
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == ""
    assert len(handlers) >= len(FUNCTIONS) + 3      # the steps' handlers, start, events, sweep
