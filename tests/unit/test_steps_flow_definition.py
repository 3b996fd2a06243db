"""The flow definition's shape (Retry, Catch, bounded waits, size) and lean handler imports.
s.yaml against the flow and the handlers: tests/unit/test_deployment.py."""
import json
import subprocess
import sys

import yaml

from image_repair.control.local_run import DEFINITION
from image_repair.control.steps import STEP_MODULES
from image_repair.control.steps.transient import MAX_RETRIES


# The only error names a Retry rule may match: those CloudFlow documents for FC tasks (FC.{ErrorCode}
# when Function Compute itself answers non-200: ResourceThrottled and ResourceExhausted, named on
# the error-handling page, https://www.alibabacloud.com/help/doc-detail/2500862.html; FC's own
# InternalServerError, https://www.alibabacloud.com/help/en/functioncompute/error-codes). How a
# function's own exception is named is not documented: nothing may depend on it.
DOCUMENTED_FC_ERRORS = {"FC.ResourceThrottled", "FC.ResourceExhausted", "FC.InternalServerError"}


def flow_states() -> dict:
    return {s["Name"]: s for s in yaml.safe_load(DEFINITION.read_text())["States"]}


def test_retry_rules_name_only_documented_errors_and_every_rule_has_a_description():
    for state in flow_states().values():
        for rule in state.get("Retry", []):
            assert set(rule["Errors"]) <= DOCUMENTED_FC_ERRORS, (state["Name"], rule["Errors"])
            assert rule["Description"].strip()
        for rule in state.get("Catch", []):
            assert rule["Errors"] == ["FnF.ALL"] and rule["Description"].strip(), state["Name"]


def test_every_step_is_caught_into_clean_up_and_every_caught_state_can_be_resumed():
    states = flow_states()
    resumable = {b["Condition"].split('"')[1]: b["Next"] for b in states["ResumeFailedState"]["Branches"]}
    for state in states.values():
        if state["Type"] == "Task" and state["Name"] not in ("CleanUp", "Finish"):
            catch = state["Catch"][0]
            assert catch["Next"] == "CleanUp" and catch["OutputConstructor"]["caught"] is True
            assert catch["OutputConstructor"]["failedState.$"] == "$Context.Current.Name"
            assert resumable[state["Name"]] == state["Name"]


def test_every_retry_answer_is_routed_back_to_its_step_within_the_bound():
    """A step's "retry" answer loops through a Wait back to that same step, at most MAX_RETRIES
    times in a row (the handlers' bound and the flow's are one number)."""
    states = flow_states()
    for state in states.values():
        if state["Type"] != "Task":
            continue
        choice = states[state["Next"]]
        assert choice["Type"] == "Choice", state["Name"]
        give_up, again = choice["Branches"][0], choice["Branches"][1]
        assert give_up["Condition"] == "$Input.retry == true && $Input.retries >= %d" % MAX_RETRIES
        assert states[give_up["Next"]]["Type"] in ("Pass", "Fail")
        assert again["Condition"] == "$Input.retry == true"
        wait = states[again["Next"]]
        assert wait["Type"] == "Wait" and wait["Seconds.$"] == "$Input.waitSeconds" and wait["Next"] == state["Name"]
        assert state["OutputConstructor"]["retries.$"] == "$Output.Body.retries"
        assert state["Parameters"]["body"]["retries.$"] == "$Input.retries"


def test_waits_are_bounded_and_the_flow_is_small():
    raw = yaml.safe_load(DEFINITION.read_text())
    for state in flow_states().values():
        if state["Type"] == "Wait":
            assert "Seconds.$" in state
        if state["Type"] == "Choice" and state["Name"] not in ("IsWatchedImage", "ResumeFailedState") \
                and not state["Name"].startswith("After"):
            assert any("attempt >=" in b["Condition"] for b in state["Branches"]), state["Name"]
    assert len(json.dumps(raw)) < 64 * 1024


def test_the_flow_ends_with_the_seed_templates_output():
    states = flow_states()
    assert states["Done"]["Next"] == "Succeeded" and states["RepairFailed"]["Type"] == "Fail"
    assert set(states["Done"]["OutputConstructor"]) == {"executionId.$", "status.$", "imageId.$",
                                                        "itemsAtRiskBefore.$", "itemsAtRiskAfter.$"}


def test_handlers_build_nothing_and_load_no_sdk_at_import():
    code = ("import sys; import image_repair.control.handlers.start, image_repair.control.handlers.clean_up;"
            "import image_repair.control.handlers.%s;" % ", image_repair.control.handlers.".join(STEP_MODULES) +
            "bad = [m for m in sys.modules if m.startswith(('alibabacloud', 'tablestore', 'darabonba'))];"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
