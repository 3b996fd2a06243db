"""The RAM policies in ram/: everything the code calls is allowed, nothing more than it needs:
no `*` action, deletes only of resources carrying the project's execution tag, the flow role
invoking only the flow's functions, the state table and the flow named as s.yaml names them."""
import json
import re
from pathlib import Path

import yaml

from image_repair.control.steps import START_FUNCTION
from image_repair.control.policy import TAG_EXECUTION
from image_repair.control.steps.pool_host import TAG_POOL_HOST
from tests.unit.serverless_devs import resolved_s_yaml

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "image_repair"
FC_POLICY = json.loads((ROOT / "ram" / "fc-role-policy.json").read_text())
FLOW_POLICY = json.loads((ROOT / "ram" / "flow-role-policy.json").read_text())
DELETES = {"ecs:DeleteInstance", "ecs:DeleteDisk", "ecs:DeleteSnapshot", "ecs:DeleteImage"}
TAG_CONDITION_KEY = "acs:ResourceTag/" + TAG_EXECUTION


def statements(policy):
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        yield statement, actions, resources


def allowing(policy, action):
    return [(s, r) for s, actions, r in statements(policy) if s["Effect"] == "Allow" and action in actions]


def snake_to_camel(name):
    return "".join(part.capitalize() for part in name.split("_"))


def ecs_actions_called() -> set:
    """Every ECS API action the deployed code (the control plane) may call: any string literal, in
    a module that uses the ECS SDK (directly or through ``clients.ecs.sdk_models``), that names an
    action of the SDK's client (EcsPort._call("RunInstances", ...), the sweep's table of Describe*
    actions, ...)."""
    from alibabacloud_ecs20140526.client import Client
    from image_repair.control.clients.ecs import _snake
    called = set()
    for path in (SRC / "control").rglob("*.py"):
        text = path.read_text()
        if "alibabacloud_ecs20140526" not in text and "sdk_models()" not in text:
            continue
        for literal in re.findall(r"[\"']([A-Z][a-z]+[A-Z][A-Za-z]+)[\"']", text):
            if hasattr(Client, _snake(literal) + "_with_options"):
                called.add("ecs:" + literal)
    return called


def tablestore_actions_called() -> set:
    text = (SRC / "control" / "store" / "tablestore.py").read_text()
    return {"ots:" + snake_to_camel(m) for m in re.findall(r"self\.client\.([a-z_]+)", text)}


def s_yaml():
    return resolved_s_yaml()             # as Serverless Devs 3 reads it (js-yaml 4)


def test_no_wildcard_action_and_only_allow_statements():
    for policy in (FC_POLICY, FLOW_POLICY):
        assert policy["Version"] == "1"
        for statement, actions, _ in statements(policy):
            assert statement["Effect"] == "Allow"
            for action in actions:
                assert "*" not in action and re.fullmatch(r"[a-z]+:[A-Z][A-Za-z]+", action), action


def test_every_ecs_action_the_code_calls_is_allowed():
    called = ecs_actions_called()
    assert {"ecs:RunInstances", "ecs:CreateImage", "ecs:DeleteInstance", "ecs:SendFile", "ecs:DeleteDisk",
            "ecs:DescribeImages", "ecs:TagResources"} <= called
    missing = [action for action in sorted(called) if not allowing(FC_POLICY, action)]
    assert missing == []


def test_deletes_and_changes_of_resources_need_the_projects_tag():
    called = ecs_actions_called()
    guarded = DELETES | {a for a in called if a.startswith(("ecs:Delete", "ecs:Modify"))}
    for action in guarded:
        grants = allowing(FC_POLICY, action)
        assert grants, action
        for statement, resources in grants:
            condition = statement.get("Condition", {})
            # the execution's tag, or (instances only: the shared hosts a repair never owns) the pool's
            keys = (TAG_CONDITION_KEY,) if resources != ["acs:ecs:*:*:instance/*"] else \
                (TAG_CONDITION_KEY, "acs:ResourceTag/" + TAG_POOL_HOST)
            values = [condition.get(kind, {}).get(key) for kind in ("StringLike", "StringEquals") for key in keys]
            assert any(values), "%s is allowed without the %s tag condition" % (action, TAG_EXECUTION)
            assert all(r.startswith("acs:ecs:") and r != "*" for r in resources)


def test_state_table_flow_and_fan_out_are_the_projects_own():
    doc = s_yaml()
    store = doc["vars"]["store"]
    instance, table = re.fullmatch(r"tablestore://([^/]+)/([^/]+)", store).groups()
    for action in sorted(tablestore_actions_called()):
        grants = allowing(FC_POLICY, action)
        assert grants, action
        assert all(r == ["acs:ots:*:*:instance/%s/table/%s" % (instance, table)] for _, r in grants)
    (_, resources), = allowing(FC_POLICY, "fnf:StartExecution")
    assert resources == ["acs:fnf:*:*:flow/%s" % doc["vars"]["flowName"]]
    # the fan-out (launchers.py: FcAsyncLauncher) invokes the start function only, in FC 3.0 form (functions have no
    # service): acs:fc:<region>:<account>:functions/<name>, and its versions/aliases under it
    (_, resources), = allowing(FC_POLICY, "fc:InvokeFunction")
    assert sorted(resources) == ["acs:fc:*:*:functions/%s" % START_FUNCTION, "acs:fc:*:*:functions/%s/*" % START_FUNCTION]


def test_the_flow_role_invokes_exactly_the_flows_functions():
    definition = yaml.safe_load((ROOT / "state_machine" / "repair_image.yaml").read_text())
    targets = {re.search(r"functions/([^/]+)/", s["Parameters"]["resourceArn"]).group(1)
               for s in definition["States"] if "resourceArn" in (s.get("Parameters") or {})}
    (statement, actions, resources), = list(statements(FLOW_POLICY))
    assert actions == ["fc:InvokeFunction"]
    named = {re.fullmatch(r"acs:fc:\*:\*:functions/([a-z-]+)(?:/\*)?", r).group(1) for r in resources}
    assert named == targets
