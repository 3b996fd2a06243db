"""The deployment files read by the parser Serverless Devs 3 uses: js-yaml 4 (tests/js), which
refuses what PyYAML lets through, and the fc3 component's own schema, copied byte for byte."""
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.js.js_yaml import JsYamlRefused, js_yaml_load, pinned_version
from tests.unit.serverless_devs import ACCOUNT, ROOT, S_YAML

DEFINITION = ROOT / "state_machine" / "repair_image.yaml"
# The js-yaml that the published Serverless Devs CLI bundles: @serverless-devs/s 3.1.10
# (lib/index.js carries the banner "js-yaml 4.1.0"); its sources declare js-yaml ^4.1.0
# (Serverless-Devs/toolkit packages/utils/package.json, packages/parse-spec/package.json @f8e037c).
SERVERLESS_DEVS_JS_YAML = "4.1.0"
# tests/fixtures/fc3-props.schema.json is github devsapp/fc3 src/schema.json at commit 4ca1c1b
# (fc3 0.1.22), byte for byte; the workplace's shared/schemas/fc3-props.schema.json is the same file.
FC3_SCHEMA = ROOT / "tests" / "fixtures" / "fc3-props.schema.json"
FC3_SCHEMA_SHA256 = "898f3c98627525d28323fe8bd575c64c8d91c2324b1ad448882e5a9487b7ed15"
SHARED_FC3_SCHEMAS = (ROOT.parent / "shared" / "schemas" / "fc3-props.schema.json",
                      Path("/work/shared/schemas/fc3-props.schema.json"))


def test_the_js_yaml_installed_is_the_one_serverless_devs_bundles():
    assert pinned_version() == SERVERLESS_DEVS_JS_YAML
    package = json.loads((ROOT / "tests" / "js" / "package.json").read_text())
    assert package["dependencies"] == {"js-yaml": SERVERLESS_DEVS_JS_YAML}
    # js_yaml_load checks the installed version against the lock file at every call
    assert js_yaml_load(S_YAML)["edition"] == "3.0.0"


def test_js_yaml_refuses_a_duplicated_mapping_key_that_pyyaml_lets_through(tmp_path):
    document = tmp_path / "twice.yaml"
    document.write_text("resources:\n  start:\n    component: fc3\n  start:\n    component: flow\n")
    with pytest.raises(JsYamlRefused, match=r"^duplicated mapping key \(4:3\)$"):
        js_yaml_load(document)
    assert yaml.safe_load(document.read_text()) == {"resources": {"start": {"component": "flow"}}}


def test_s_yaml_with_a_resource_written_twice_is_refused_where_it_repeats(tmp_path):
    """The very mistake s.yaml had (watch-source-image twice), made again on a copy of s.yaml."""
    text = S_YAML.read_text()
    block = re.search(r"^  finish:\n(?:    .*\n|\n)+?(?=^  \S|^\S|\Z)", text, re.M).group(0)
    copy = tmp_path / "s.yaml"
    copy.write_text(text + "\n" + block)
    line = text.count("\n") + 2
    with pytest.raises(JsYamlRefused, match=r"^duplicated mapping key \(%d:3\)$" % line):
        js_yaml_load(copy)


def render_flow(output: Path) -> Path:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "render-flow.py"), "cn-hangzhou", ACCOUNT,
                             str(DEFINITION), str(output)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return output


@pytest.mark.parametrize("name", ["s.yaml", "state_machine/repair_image.yaml", "rendered flow"])
def test_js_yaml_and_pyyaml_read_the_deployment_files_alike(name, tmp_path):
    """js-yaml takes each file, and reads the same data as PyYAML (which the local runner and the
    renderer use): no YAML 1.1 boolean (yes/on), no key kept twice, merges and aliases alike."""
    path = render_flow(tmp_path / "repair_image.yaml") if name == "rendered flow" else ROOT / name
    assert js_yaml_load(path) == json.loads(json.dumps(yaml.safe_load(path.read_text())))


def test_the_fc3_schema_copy_is_the_components_own_file():
    assert hashlib.sha256(FC3_SCHEMA.read_bytes()).hexdigest() == FC3_SCHEMA_SHA256
    schema = json.loads(FC3_SCHEMA.read_text())
    assert schema["$schema"].startswith("http://json-schema.org/draft-07/")
    shared = [path for path in SHARED_FC3_SCHEMAS if path.is_file()]
    if not shared:
        pytest.skip("no shared/schemas beside this clone: the pinned sha256 above is the check")
    assert shared[0].read_bytes() == FC3_SCHEMA.read_bytes()
