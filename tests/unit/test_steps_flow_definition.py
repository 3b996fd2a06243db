"""The deployed flow definition, s.yaml's functions and the handlers agree; handlers import lean."""
import json
import subprocess
import sys
from pathlib import Path

import yaml

from image_repair.handlers.local import DEFINITION, load_repair_flow
from image_repair.steps import FUNCTIONS, STEP_MODULES

ROOT = Path(__file__).resolve().parents[2]


def s_yaml_functions() -> set:
    doc = yaml.safe_load((ROOT / "s.yaml").read_text())
    return {r["props"]["functionName"]: r["props"]["handler"] for r in doc["resources"].values()}


def test_every_flow_target_is_a_function_of_s_yaml_with_its_handler():
    functions = s_yaml_functions()
    load_repair_flow()                                   # validates against the step functions
    from image_repair.flow import load_definition_file
    load_definition_file(str(DEFINITION), functions=set(functions))
    for name, step in FUNCTIONS.items():
        assert functions[name] == "image_repair.handlers.%s.handler" % step
    assert functions["image-repair-start"] == "image_repair.handlers.start.handler"


def test_flow_shape_retry_catch_and_bounded_waits():
    raw = yaml.safe_load(DEFINITION.read_text())
    states = {s["Name"]: s for s in raw["States"]}
    for state in states.values():
        if state["Type"] == "Task" and state["Name"] not in ("CleanUp", "Finish"):
            assert state["Catch"][0]["Errors"] == ["FnF.ALL"] and state["Catch"][0]["Next"] == "CleanUp"
            assert any("FC.Throttled" in r["Errors"] for r in state["Retry"])
            assert any("FC.Transient" in r["Errors"] for r in state["Retry"])
        if state["Type"] == "Wait":
            assert "Seconds.$" in state
        if state["Type"] == "Choice" and state["Name"] not in ("IsCleanedUp", "IsWatchedImage"):   # no loop
            assert any("attempt >=" in b["Condition"] for b in state["Branches"])
    assert states["Finish"]["Next"] == "Succeeded" and states["RepairFailed"]["Type"] == "Fail"
    assert len(json.dumps(raw)) < 64 * 1024


def test_handlers_build_nothing_and_load_no_sdk_at_import():
    code = ("import sys; import image_repair.handlers.start, image_repair.handlers.clean_up;"
            "import image_repair.handlers.%s;" % ", image_repair.handlers.".join(STEP_MODULES) +
            "bad = [m for m in sys.modules if m.startswith(('alibabacloud', 'tablestore', 'darabonba'))];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
