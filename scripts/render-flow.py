#!/usr/bin/env python3
"""Render the deployed flow definition from the one source definition.

    scripts/render-flow.py REGION ACCOUNT_ID [SOURCE] [OUTPUT]
    (defaults: state_machine/repair_image.yaml -> build/repair_image.yaml)

The source's Task states name their functions as
``acs:fc:${region}:${accountId}:functions/<name>/LATEST``; the Serverless Devs flow component
uploads a definition file verbatim (it substitutes nothing), so this fills in the region and the
account on the ``resourceArn`` lines, and changes nothing else (comments and anchors included).
Run it before ``s deploy`` (s.yaml's pre-deploy action does, from the REGION and ACCOUNT_ID
environment variables)."""
import re
import sys
from pathlib import Path

REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")
ACCOUNT_ID = re.compile(r"^[0-9]{5,32}$")
ARN_LINE = re.compile(r"^(\s*(?:-\s+)?resourceArn:\s*)(\S+)(.*)$")


def render(text: str, region: str, account_id: str) -> str:
    if not REGION.match(region):
        raise ValueError("region %r is malformed (expected e.g. cn-hangzhou)" % region)
    if not ACCOUNT_ID.match(account_id):
        raise ValueError("account id %r is malformed (expected the numeric Alibaba Cloud account id)" % account_id)
    out, arns = [], 0
    for line in text.splitlines(keepends=True):
        match = ARN_LINE.match(line.rstrip("\n"))
        if match:
            arn = match.group(2).replace("${region}", region).replace("${accountId}", account_id)
            line = match.group(1) + arn + match.group(3) + ("\n" if line.endswith("\n") else "")
            arns += 1
        elif "${region}" in line.split("#")[0] or "${accountId}" in line.split("#")[0]:
            raise ValueError("placeholder outside a resourceArn line: %s" % line.strip())
        out.append(line)
    if not arns:
        raise ValueError("no resourceArn line found: is this a flow definition?")
    return "".join(out)


def main(argv: list) -> int:
    if len(argv) not in (3, 4, 5):
        sys.stderr.write(__doc__)
        return 2
    root = Path(__file__).resolve().parents[1]
    source = Path(argv[3]) if len(argv) > 3 else root / "state_machine" / "repair_image.yaml"
    output = Path(argv[4]) if len(argv) > 4 else root / "build" / "repair_image.yaml"
    try:
        rendered = render(source.read_text(), argv[1], argv[2])
    except ValueError as error:
        sys.stderr.write("render-flow: %s\n" % error)
        return 2
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(rendered)
    sys.stderr.write("render-flow: %s -> %s (%s, account %s)\n" % (source, output, argv[1], argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
