"""Step 6: wait for the repair command; read the agent's report (kept short in the store); a failed
item fails the execution unless ``allowPartial``. The outcome is recorded before it is judged, so a
re-invoked handler judges the same outcome again instead of re-reading a changed world."""
from ..models import FlowEvent, FlowState
from .agent_delivery import clip, decode_output, judge, parse_report, summarize_report
from .common import Ports, RepairFailed, load, poll, result_of
from .host_lifetime import keep_alive
from .launch_repair_instance import STEP as LAUNCH
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


def run(ports: Ports, event: FlowEvent) -> FlowState:
    execution, request = load(ports, event.executionId)
    launched, started = result_of(execution, LAUNCH), result_of(execution, START)

    def check():
        keep_alive(ports, execution, launched["instanceId"], launched["autoReleaseTime"])
        result = ports.ecs.invocation_result(started["invokeId"], launched["instanceId"])
        status = (result or {}).get("InvocationStatus", "Pending")
        if status in RUNNING:
            return False, "repair command %s (%s)" % (started["invokeId"], status), {}
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
