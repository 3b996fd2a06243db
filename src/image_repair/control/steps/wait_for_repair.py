"""Step 6: wait for the repair command; read the agent's report (kept short in the store); a failed
item fails the execution unless ``allowPartial``. The outcome is recorded before it is judged, so a
re-invoked handler judges the same outcome again instead of re-reading a changed world."""
from ..models import FlowEvent, FlowState
from typing import Optional

from .agent_delivery import clip, decode_output, judge, last_progress, parse_report, summarize_report
from .common import PROGRESS_TRUST, Ports, RepairFailed, load, poll, result_of, seconds_since
from .host_lifetime import keep_alive
from .pool_host import keep_slot, pooled, repair_host
from .start_repair import STEP as START

STEP = "wait_for_repair"
FIRST_WAIT_S = 10
RUNNING = ("Pending", "Running", "Scheduled", "Stopping")


def outcome(result: dict, engine: str) -> dict:
    status = result.get("InvocationStatus")
    output = decode_output(result)
    found = {"invocationStatus": status, "exitCode": result.get("ExitCode"), "errorCode": result.get("ErrorCode") or "",
             "errorInfo": clip(result.get("ErrorInfo") or ""), "dropped": int(result.get("Dropped") or 0)}
    if engine == "agent":
        report = parse_report(output)
        if report is not None:
            found["report"] = summarize_report(report)
        else:
            found["outputTail"] = clip(output[-1000:], 1000)
    else:
        found["outputTail"] = clip(output[-1000:], 1000)
    return found


# Once the agent is slower than its last line's pace said (a long phase prints no line until it
# ends), look again after this share of the time it has run: the overshoot stays a small share of
# the run, where the growing intervals would overshoot by up to half of it.
RECHECK_SHARE = 0.15


def remaining_from_agent(result: Optional[dict], since_start_s: float) -> Optional[float]:
    """Seconds the agent still needs, from its last progress line in the output so far: the pace
    of the line (elapsed for percent) gives the run's length, minus the time since the command
    started; past that, RECHECK_SHARE of the time run. None when the output says nothing (not
    shown while running, no line yet, or 0 or 100 %): the poll then waits its growing intervals,
    as without progress."""
    line = last_progress(decode_output(result or {}))
    if line is None or not 0 < line["percent"] < 100:
        return None
    remaining = line["elapsed"] * 100.0 / line["percent"] - since_start_s
    return max(PROGRESS_TRUST * remaining, RECHECK_SHARE * since_start_s, 1.0)


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    (instance_id, release_at), started = repair_host(execution), result_of(execution, START)

    def check():
        keep_alive(ports, execution, instance_id, release_at)
        if pooled(execution):
            keep_slot(ports, execution)
        result = ports.ecs.invocation_result(started["invokeId"], instance_id)
        status = (result or {}).get("InvocationStatus", "Pending")
        if status in RUNNING:
            remaining = remaining_from_agent(result, seconds_since(ports, execution, START))
            return False, "repair command %s (%s)" % (started["invokeId"], status), {}, remaining
        return True, "repair command %s %s" % (started["invokeId"], status), outcome(result, started["engine"])

    state = poll(ports, event, STEP, check, FIRST_WAIT_S)
    if state.ready:
        judge_outcome(load(ports, event.executionId)[0].steps[STEP].result, started["engine"], request.allowPartial)
    return state


def judge_outcome(found: dict, engine: str, allow_partial: bool) -> None:
    if engine == "agent":
        if "report" not in found:
            cut = " (output cut at 24 KB: %d bytes dropped)" % found["dropped"] if found.get("dropped") else ""
            raise RepairFailed("the repair command ended %s (exit %s, %s) without a readable report%s: %s" % (
                found["invocationStatus"], found["exitCode"], found["errorCode"] or "no error code", cut,
                found.get("outputTail", "")[-300:]))
        acceptable, why = judge(found["report"], allow_partial)
        if not acceptable:
            raise RepairFailed(why)
        return
    if found["invocationStatus"] != "Success":
        raise RepairFailed("%s ended %s (exit %s, %s): %s" % (
            "the public repair command", found["invocationStatus"], found["exitCode"], found["errorCode"],
            found.get("outputTail", "")[-300:]))
