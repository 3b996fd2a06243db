"""The flow definition's shape (Retry, Catch, bounded waits, size) and lean handler imports.
s.yaml against the flow and the handlers: tests/unit/test_deployment.py."""
import json
import subprocess
import sys

import yaml

from image_repair.handlers.local import DEFINITION
from image_repair.steps import STEP_MODULES


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
