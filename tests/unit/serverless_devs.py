"""s.yaml as Serverless Devs 3 reads it, for the deployment tests.

Parsed by js-yaml 4 itself (tests/js: the parser of Serverless-Devs/toolkit
``packages/utils/src/get-yaml-content.ts``), then with the magic variables substituted the way
``packages/parse-spec/src/parse-content.ts`` does: the top-level keys (vars included) first, then
each resource with the resolved vars. Only the two forms s.yaml uses are supported:
``${vars.<name>}`` and ``${config('AccountID')}``; anything else fails the test."""
import re
from pathlib import Path
from typing import Any, Dict

from tests.js.js_yaml import js_yaml_load

ROOT = Path(__file__).resolve().parents[2]
S_YAML = ROOT / "s.yaml"
ACCOUNT = "1234567890123456"
VARIABLE = re.compile(r"\$\{([^}]*)\}")


def resolve(value: Any, variables: Dict[str, Any]) -> Any:
    """`value` with ${vars.x} and ${config('AccountID')} substituted (what `s` does)."""
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, variables) for v in value]
    if isinstance(value, str):
        def one(match):
            name = match.group(1)
            if name == "config('AccountID')":
                return ACCOUNT
            assert name.startswith("vars."), "unknown variable ${%s}" % name
            return str(variables[name[len("vars."):]])
        return VARIABLE.sub(one, value)
    return value


def resolved_s_yaml(path: Path = S_YAML) -> dict:
    """s.yaml parsed by js-yaml, its variables substituted."""
    raw = js_yaml_load(path)
    variables = {k: resolve(v, {}) if not isinstance(v, (dict, list)) and "vars." not in str(v) else v
                 for k, v in raw["vars"].items()}
    return resolve(raw, variables)


def fc3_functions(spec: dict) -> dict:
    """{functionName: props} of every fc3 resource."""
    return {r["props"]["functionName"]: r["props"] for r in spec["resources"].values() if r["component"] == "fc3"}


def flow_resources(spec: dict) -> dict:
    """{resource name: resource} of every resource that is not an fc3 function."""
    return {name: r for name, r in spec["resources"].items() if r["component"] != "fc3"}
