#!/usr/bin/env python3
"""Render the deployed flow definition from the one source definition.

    scripts/render-flow.py REGION ACCOUNT_ID [--flow-name NAME] [SOURCE [OUTPUT]]
    (defaults: state_machine/repair_image.yaml -> build/repair_image.yaml)

s.yaml runs it as a pre-deploy action, before `s deploy` deploys anything. It

- refuses a region the Serverless Devs `flow` component does not deploy to (its own fixed list),
  so that `s deploy` stops before the functions are created rather than at the flow, the last
  resource;
- fills the region and the account into the Task states' ``resourceArn``
  (``acs:fc:${region}:${accountId}:functions/<name>/LATEST``): the component uploads the file's
  text as the definition and substitutes nothing;
- writes the definition EXPANDED: the source shares its Retry/Catch rules and bodies through YAML
  anchors and aliases; whether CloudFlow's parser expands aliases is not documented, so the file
  uploaded has none (each shared block is written out in full, in the source's key order);
- with --flow-name, checks that the definition's Name is the flow's name (s.yaml's
  vars.flowName), the name the functions start executions of.

Bad input (a malformed or unsupported region, a malformed account id, a source that is not a flow
definition) is one line on stderr and exit 2, and nothing is written. PyYAML is needed (the
project's own dependency; `python3 -m pip install pyyaml` on the deploying machine)."""
import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any, List, Optional, Tuple

try:
    import yaml
except ImportError:         # reported by main() as one line, not as a traceback
    yaml = None

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT / "state_machine" / "repair_image.yaml"
DEFAULT_OUTPUT = ROOT / "build" / "repair_image.yaml"
# The regions the Serverless Devs `flow` component (github devsapp/fnf, publish.yaml Name: flow,
# Version 0.0.4, commit 3fd635b) accepts: src/impl/base.ts throws "region is must be in [...]" for
# any other. Pinned by tests/unit/test_deployment_flow.py.
FLOW_COMPONENT_REGIONS = ("cn-beijing", "cn-hangzhou", "cn-shanghai", "cn-qingdao", "cn-shenzhen",
                          "ap-southeast-1", "us-west-1", "cn-heyuan-acdr-1")
REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
ACCOUNT_ID = re.compile(r"^[0-9]{5,32}$")
FLOW_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,127}$")
PLACEHOLDERS = ("${region}", "${accountId}")


class RenderError(ValueError):
    """Input the renderer refuses: the message is the one line the user sees."""


def check_region(region: str) -> None:
    if not REGION.match(region):
        raise RenderError("region %r is malformed (expected e.g. cn-hangzhou)" % region)
    if region not in FLOW_COMPONENT_REGIONS:
        raise RenderError("region %s is not one the Serverless Devs flow component deploys to (%s): "
                          "set s.yaml's vars.region to one of them" % (region, ", ".join(FLOW_COMPONENT_REGIONS)))


def fill_placeholders(value: Any, region: str, account_id: str, key: str = "") -> Tuple[Any, int]:
    """`value` with the placeholders of every resourceArn filled in, and how many resourceArn it
    holds. A placeholder anywhere else is refused (it would reach CloudFlow unfilled)."""
    if isinstance(value, dict):
        filled, arns = {}, 0
        for name, item in value.items():
            filled[name], count = fill_placeholders(item, region, account_id, str(name))
            arns += count
        return filled, arns
    if isinstance(value, list):
        pairs = [fill_placeholders(item, region, account_id, key) for item in value]
        return [item for item, _ in pairs], sum(count for _, count in pairs)
    if isinstance(value, str) and key == "resourceArn":
        return value.replace("${region}", region).replace("${accountId}", account_id), 1
    if isinstance(value, str) and any(placeholder in value for placeholder in PLACEHOLDERS):
        raise RenderError("placeholder outside a resourceArn (%s: %s)" % (key, value))
    return value, 0


def load_definition(text: str) -> dict:
    try:
        definition = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = " at line %d" % (mark.line + 1) if mark else ""
        raise RenderError("the source is not valid YAML%s: %s" % (where, getattr(error, "problem", None) or error))
    if not isinstance(definition, dict) or not isinstance(definition.get("States"), list):
        raise RenderError("the source is not a flow definition (no States list)")
    return definition


class ExpandedDumper(yaml.SafeDumper if yaml else object):
    """Writes a value used twice in full both times (no &anchor/*alias), and indents block lists
    under their key as the source does."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def render(text: str, region: str, account_id: str, flow_name: Optional[str] = None, source_label: str = "") -> str:
    """The deployed definition (YAML text, expanded) of the source definition `text`."""
    check_region(region)
    if not ACCOUNT_ID.match(account_id):
        raise RenderError("account id %r is malformed (expected the numeric Alibaba Cloud account id)" % account_id)
    if flow_name is not None and not FLOW_NAME.match(flow_name):
        raise RenderError("flow name %r is malformed (letters, digits, _ and -, at most 128)" % flow_name)
    definition, arns = fill_placeholders(load_definition(text), region, account_id)
    if not arns:
        raise RenderError("no resourceArn found: is this a flow definition?")
    if flow_name is not None and definition.get("Name") != flow_name:
        raise RenderError("the definition's Name is %r but the flow is named %r (s.yaml vars.flowName): "
                          "make them equal" % (definition.get("Name"), flow_name))
    header = ("# Rendered by scripts/render-flow.py from %s for %s, account %s: edit the source, not this file.\n"
              "# Every block the source shares through a YAML anchor is written out in full here.\n"
              % (source_label or "the source definition", region, account_id))
    body = yaml.dump(definition, Dumper=ExpandedDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=120, indent=2)
    return header + body


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix="." + path.name + ".", dir=str(path.parent))
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, str(path))
    except BaseException:
        os.unlink(temporary)
        raise


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line and exit 2, like every other refusal of this script."""

    def error(self, message: str) -> None:
        self.exit(2, "render-flow: %s (see --help)\n" % message)


def main(argv: List[str]) -> int:
    parser = OneLineParser(prog="render-flow.py", description=__doc__.split("\n\n")[0],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("region")
    parser.add_argument("account_id")
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--flow-name", help="the flow's name (s.yaml vars.flowName): the definition's Name must equal it")
    args = parser.parse_intermixed_args(argv)
    try:
        if yaml is None:
            raise RenderError("PyYAML is missing for %s: python3 -m pip install pyyaml" % sys.executable)
        if args.output.resolve() == args.source.resolve():
            raise RenderError("the output is the source (%s): never written over" % args.source)
        try:
            text = args.source.read_text(encoding="utf-8")
        except OSError as error:
            raise RenderError("cannot read the source: %s" % error)
        label = os.path.relpath(str(args.source.resolve()), str(ROOT))
        rendered = render(text, args.region, args.account_id, args.flow_name, source_label=label)
        write_atomically(args.output, rendered)
    except RenderError as error:
        sys.stderr.write("render-flow: %s\n" % error)
        return 2
    sys.stderr.write("render-flow: %s -> %s (%s, account %s, expanded)\n" % (args.source, args.output, args.region,
                                                                            args.account_id))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
