"""The flow resource of s.yaml against the Serverless Devs 3 component `flow`, and the definition it
deploys, rendered by scripts/render-flow.py (the pre-deploy action): region checked against the
component's list before anything is deployed, placeholders filled, no YAML anchor or alias left,
Name equal to the flow's name."""
import importlib.util
import json
import re
import subprocess
import sys

import jsonschema
import pytest
import yaml

from image_repair.control.flow import load_definition_file
from image_repair.control.steps import FUNCTIONS, START_FUNCTION
from tests.js.js_yaml import js_yaml_load
from tests.unit.serverless_devs import ACCOUNT, ROOT, fc3_functions, flow_resources, resolved_s_yaml

DEFINITION = ROOT / "state_machine" / "repair_image.yaml"
RENDER_FLOW = ROOT / "scripts" / "render-flow.py"

# The component, as its own repository defines it: github devsapp/fnf at commit
# 3fd635b6f60da2746a2b9d74deb6a63a24b4533e (2024-08-19), publish.yaml "Edition: 3.0.0, Name: flow,
# Version: 0.0.4" (the name `flow` since a2e58e8 "update to edition 3.0.0", 2024-03-27; `fnf`
# before, for the pre-3.0 spec).
FLOW_COMPONENT = {"name": "flow", "version": "0.0.4", "commit": "3fd635b6f60da2746a2b9d74deb6a63a24b4533e"}
# src/impl/base.ts: `validRegions`, anything else throws "region is must be in [...]".
FLOW_COMPONENT_REGIONS = ["cn-beijing", "cn-hangzhou", "cn-shanghai", "cn-qingdao", "cn-shenzhen",
                          "ap-southeast-1", "us-west-1", "cn-heyuan-acdr-1"]
# The props the component reads (src/impl/base.ts: region, endpoint; src/impl/flow.ts deploy():
# name, definition = a file path read with fs.readFileSync or an inline object sent as JSON,
# description, type (default FDL), executionMode (default Standard, sent by CreateFlow only),
# roleArn). Types and values from publish.yaml's Parameters (type: enum [FDL]) and CloudFlow's
# CreateFlow (alibabacloud-fnf20190315 2.0.1 CreateFlowRequest: ExecutionMode Express or Standard;
# Name, Definition required). publish.yaml's `required: [region, service]` names a prop the
# component never reads (a bug of the manifest): not followed here.
FLOW_PROPS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["region", "name", "definition"],
    "properties": {
        "region": {"type": "string", "enum": FLOW_COMPONENT_REGIONS},
        "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]{0,127}$"},
        "definition": {"type": ["string", "object"]},
        "description": {"type": "string"},
        "type": {"type": "string", "enum": ["FDL"]},
        "executionMode": {"type": "string", "enum": ["Standard", "Express"]},
        "roleArn": {"type": "string"},
        "endpoint": {"type": "string"},
    },
}
# Each component's commands (a resource named like one is refused by the engine: "The name of the
# project [x] overlaps with a command", Serverless-Devs/toolkit packages/engine/src/index.ts).
COMPONENT_COMMANDS = {
    # devsapp/fc3 src/commands-help/index.ts @4ca1c1b
    "fc3": {"deploy", "remove", "info", "sync", "invoke", "version", "alias", "concurrency", "plan", "provision",
            "layer", "instance", "build", "local", "s2tos3", "logs", "session", "scaling", "list", "model"},
    # devsapp/fnf src/impl/help.ts @3fd635b
    "flow": {"deploy", "remove", "info", "list"},
}


@pytest.fixture(scope="module")
def s_yaml():
    return resolved_s_yaml()


def render_flow_module():
    spec = importlib.util.spec_from_file_location("render_flow", str(RENDER_FLOW))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_flow(*args):
    return subprocess.run([sys.executable, str(RENDER_FLOW)] + list(args), capture_output=True, text=True)


def test_the_flow_resource_is_the_flow_component_with_its_props(s_yaml):
    (name, flow), = flow_resources(s_yaml).items()
    assert flow["component"] == FLOW_COMPONENT["name"]
    props = flow["props"]
    jsonschema.Draft7Validator(FLOW_PROPS_SCHEMA).validate(props)
    assert props["type"] == "FDL" and props["executionMode"] == "Standard"
    assert props["region"] == fc3_functions(s_yaml)[START_FUNCTION]["region"]
    assert props["name"] == s_yaml["vars"]["flowName"]
    assert props["roleArn"] == "acs:ram::%s:role/image-repair-flow" % ACCOUNT
    # a file path (the component reads it relative to the directory `s` runs in: s.yaml's), the
    # file the pre-deploy action writes
    assert (ROOT / props["definition"]).resolve() == render_flow_module().DEFAULT_OUTPUT


def test_the_flow_props_check_refuses_what_the_component_refuses():
    validator = jsonschema.Draft7Validator(FLOW_PROPS_SCHEMA)
    good = {"region": "cn-hangzhou", "name": "image-repair", "definition": "./build/repair_image.yaml"}
    assert validator.is_valid(good)
    for bad in (dict(good, region="eu-central-1"), dict(good, service="image-repair"), dict(good, type="JSON"),
                dict(good, definition=3), dict(good, executionMode="standard"), {"region": "cn-hangzhou"}):
        assert not validator.is_valid(bad), bad


def test_no_resource_is_named_like_a_command_of_its_component(s_yaml):
    for name, resource in s_yaml["resources"].items():
        assert name not in COMPONENT_COMMANDS[resource["component"]], name


def test_the_renderer_checks_the_components_regions(s_yaml):
    assert list(render_flow_module().FLOW_COMPONENT_REGIONS) == FLOW_COMPONENT_REGIONS
    assert s_yaml["vars"]["region"] in FLOW_COMPONENT_REGIONS


def test_the_first_pre_deploy_action_renders_the_flow_then_the_package_is_built(s_yaml):
    """Rendering first: an unsupported region stops `s deploy` at once, before the long build and
    before any resource (global pre-deploy actions run before every resource; a failed `run`
    action fails the command: Serverless-Devs/toolkit packages/engine/src/actions/index.ts)."""
    flow = s_yaml["resources"]["flow"]["props"]
    actions = s_yaml["actions"]["pre-deploy"]
    assert [a["run"] for a in actions] == [
        "python3 scripts/render-flow.py %s %s --flow-name %s" % (flow["region"], ACCOUNT, flow["name"]),
        "bash scripts/build-fc-package.sh"]
    assert all(a["path"] == "./" for a in actions)


def fill_resource_arns(value, region, account):
    """The source's data with its resourceArn placeholders filled (this test's own walk)."""
    if isinstance(value, dict):
        return {k: (v.replace("${region}", region).replace("${accountId}", account) if k == "resourceArn"
                    else fill_resource_arns(v, region, account)) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_resource_arns(v, region, account) for v in value]
    return value


def anchors_and_aliases(text: str) -> list:
    """Every YAML anchor (&x) and alias (*x) of a document, from the parser's events."""
    return [event for event in yaml.parse(text)
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None]


def test_rendering_fills_the_arns_and_writes_every_shared_block_in_full(tmp_path, s_yaml):
    output = tmp_path / "repair_image.yaml"
    result = render_flow("cn-shanghai", ACCOUNT, "--flow-name", s_yaml["vars"]["flowName"], str(DEFINITION), str(output))
    assert result.returncode == 0, result.stderr
    rendered_text = output.read_text()
    assert anchors_and_aliases(DEFINITION.read_text())        # the check sees the source's anchors
    assert anchors_and_aliases(rendered_text) == []
    source = yaml.safe_load(DEFINITION.read_text())
    rendered = js_yaml_load(output)                           # as a js-yaml-based reader sees it
    assert rendered == json.loads(json.dumps(fill_resource_arns(source, "cn-shanghai", ACCOUNT)))
    assert list(rendered) == list(source)                     # the source's key order
    assert rendered["Name"] == s_yaml["vars"]["flowName"]
    assert "${" not in rendered_text
    arns = re.findall(r"resourceArn: (\S+)", rendered_text)
    assert arns and all(re.fullmatch(r"acs:fc:cn-shanghai:%s:functions/image-repair-[a-z-]+/LATEST" % ACCOUNT, a)
                        for a in arns)
    assert rendered_text.startswith("# Rendered by scripts/render-flow.py from state_machine/repair_image.yaml")
    # the rendered file is still the same flow for the local runner
    load_definition_file(str(output), functions=set(FUNCTIONS))


def one_line_refusal(result) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert result.stdout == "" and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    return result.stderr


def test_rendering_refuses_a_region_the_flow_component_does_not_deploy_to(tmp_path):
    output = tmp_path / "repair_image.yaml"
    output.write_text("the previous rendering\n")
    message = one_line_refusal(render_flow("eu-central-1", ACCOUNT, str(DEFINITION), str(output)))
    assert message.startswith("render-flow: region eu-central-1 is not one the Serverless Devs flow component")
    assert all(region in message for region in FLOW_COMPONENT_REGIONS) and "vars.region" in message
    assert output.read_text() == "the previous rendering\n"


def test_rendering_refuses_a_definition_named_unlike_the_flow(tmp_path):
    output = tmp_path / "repair_image.yaml"
    message = one_line_refusal(render_flow("cn-hangzhou", ACCOUNT, "--flow-name", "other-flow",
                                           str(DEFINITION), str(output)))
    assert "Name is 'image-repair' but the flow is named 'other-flow'" in message and not output.exists()


@pytest.mark.parametrize("region, account, expected", [
    ("cn hangzhou", ACCOUNT, "region 'cn hangzhou' is malformed"),
    ("cn-hangzhou", "12ab", "account id '12ab' is malformed"),
    ("", "", "region '' is malformed"),
])
def test_rendering_refuses_malformed_region_or_account(tmp_path, region, account, expected):
    output = tmp_path / "out.yaml"
    assert expected in one_line_refusal(render_flow(region, account, str(DEFINITION), str(output)))
    assert not output.exists()


@pytest.mark.parametrize("source_text, expected", [
    ("Name: x\nStates:\n  - Name: A\n    Description: ${region}\n", "placeholder outside a resourceArn"),
    ("Name: x\nStates: []\n", "no resourceArn found"),
    ("- just\n- a list\n", "not a flow definition"),
    ("Name: [unclosed\n", "not valid YAML at line"),
])
def test_rendering_refuses_a_source_that_is_no_deployable_flow(tmp_path, source_text, expected):
    source, output = tmp_path / "flow.yaml", tmp_path / "out.yaml"
    source.write_text(source_text)
    assert expected in one_line_refusal(render_flow("cn-hangzhou", ACCOUNT, str(source), str(output)))
    assert not output.exists()


def test_rendering_never_writes_over_its_source(tmp_path):
    source = tmp_path / "flow.yaml"
    source.write_text(DEFINITION.read_text())
    assert "never written over" in one_line_refusal(render_flow("cn-hangzhou", ACCOUNT, str(source), str(source)))
    assert source.read_text() == DEFINITION.read_text()
