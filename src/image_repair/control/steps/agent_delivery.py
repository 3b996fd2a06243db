"""How the agent reaches the repair host and how its answer comes back.

Delivery: the zipapp in SendFile parts whose base64 stays within SendFile's 32 KB, then one
RunCommand whose script joins the parts, checks their SHA-256, and runs the agent with its
parameters as one JSON object (base64 in the script: no value is ever spliced into shell or
JSON text). The agent's JSON report comes back through DescribeInvocationResults (cut at 24 KB),
and is summarized before it is stored.
"""
import base64
import hashlib
import json
from typing import List, Optional, Tuple

from ...agent.progress import parse_line as parse_progress_line

SENDFILE_LIMIT_B64 = 32 * 1000   # "32 KB" read as 32,000: the smaller of the two readings
PART_BYTES = 22 * 1024          # 22 KiB -> 30,040 characters of base64: a margin under either reading
TARGET_DIR = "/root"            # exists on every Linux host (SendFile needs an existing directory)
COMMAND_TIMEOUT_S = 3600
MAX_FINDINGS, MAX_TEXT = 3, 240


def split_parts(payload: bytes, part_bytes: int = PART_BYTES) -> List[str]:
    """Base64 parts of at most SENDFILE_LIMIT_B64 characters each."""
    parts = [base64.b64encode(payload[i:i + part_bytes]).decode("ascii") for i in range(0, len(payload), part_bytes)]
    assert all(len(p) <= SENDFILE_LIMIT_B64 for p in parts)
    return parts


def agent_file_name(digest: str) -> str:
    return "image-repair-agent-%s.pyz" % digest[:12]


def part_name(digest: str, index: int) -> str:
    return "%s.part-%03d" % (agent_file_name(digest), index)


def repair_script(digest: str, parts: int, params: dict) -> str:
    """The RunCommand script. Values only enter it as base64 of one JSON object."""
    params_b64 = base64.b64encode(json.dumps(params, sort_keys=True).encode("utf-8")).decode("ascii")
    agent = "%s/%s" % (TARGET_DIR, agent_file_name(digest))
    return """#!/bin/bash
# image-repair: join the agent's parts, check them, run it (parameters: one JSON object).
set -u
agent=%(agent)s
parts=%(parts)d
# SendFile tasks may land just after this command starts: wait for them, bounded.
for attempt in $(seq 1 60); do
  [ "$(ls "$agent".part-* 2>/dev/null | wc -l)" -ge "$parts" ] && break
  sleep 2
done
cat $(ls "$agent".part-* | sort) > "$agent.tmp" 2>/dev/null
if ! echo "%(digest)s  $agent.tmp" | sha256sum -c --status; then
  echo '{"version": 1, "items": [], "exit_status": 3, "error": {"type": "DeliveryFailed", "message": "agent parts missing or corrupt"}}'
  exit 3
fi
mv "$agent.tmp" "$agent"
rm -f "$agent".part-*
params="$(echo %(params)s | base64 -d)"
python3 "$agent" repair-disk --params "$params" --json --progress-lines 2>"$agent.log"
status=$?
if [ "$status" -gt 2 ]; then tail -c 2000 "$agent.log"; fi
exit "$status"
""" % {"agent": agent, "parts": parts, "digest": digest, "params": params_b64}


def decode_output(result: dict) -> str:
    raw = result.get("Output") or ""
    try:
        return base64.b64decode(raw).decode("utf-8", "replace")
    except (ValueError, TypeError):
        return str(raw)


def last_progress(output: str) -> Optional[dict]:
    """The agent's last progress line in a running command's output so far (agent/progress.py),
    or None (no line yet, an output that is not ours, a line cut short)."""
    for line in reversed(output.splitlines()[-50:]):
        value = parse_progress_line(line)
        if value is not None:
            return value
    return None


def parse_report(output: str) -> Optional[dict]:
    """The agent's JSON report in the command's output (the first JSON object that starts a line)."""
    decoder = json.JSONDecoder()
    for index in [0] + [i + 1 for i, ch in enumerate(output) if ch == "\n"]:
        if output[index:index + 1] == "{":
            try:
                value, _ = decoder.raw_decode(output, index)
            except ValueError:
                continue
            if isinstance(value, dict) and "items" in value:
                return value
    return None


def clip(text: str, limit: int = MAX_TEXT) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def summarize_report(report: dict) -> dict:
    """What the store keeps of the agent's report: per item status, a few findings, the error."""
    items = []
    for item in report.get("items", []):
        entry = {"name": item.get("name"), "status": item.get("status"),
                 "findings": [clip(f) for f in (item.get("findings") or [])[:MAX_FINDINGS]]}
        if item.get("error"):
            entry["error"] = clip(item["error"])
        if item.get("changes", {}).get("files"):
            entry["filesChanged"] = len(item["changes"]["files"])
        items.append(entry)
    dist = report.get("distribution") or {}
    summary = {"mode": report.get("mode"), "items": items, "exitStatus": report.get("exit_status"),
               "distribution": {k: dist.get(k) for k in ("id", "version", "name", "platform") if dist.get(k)},
               "duration": report.get("duration")}
    if report.get("error"):
        summary["error"] = {"type": report["error"].get("type"), "message": clip(report["error"].get("message", ""))}
    return summary


def judge(summary: dict, allow_partial: bool) -> Tuple[bool, str]:
    """-> (acceptable, why not)."""
    if summary.get("error"):
        return False, "the agent refused the disk: %s" % summary["error"].get("message")
    failed = [i["name"] for i in summary.get("items", []) if i.get("status") == "failed"]
    if failed and not allow_partial:
        return False, "repair items failed: %s" % ", ".join(failed)
    if not summary.get("items"):
        return False, "the agent reported no items"
    return True, ""


def digest_of(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
