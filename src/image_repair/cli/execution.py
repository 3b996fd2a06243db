"""Running one execution to its end and showing it: what ``repair``, ``repair --image-file``,
``events deliver`` and ``sweep --fanout local`` share (the request from the options, the steps'
ports of a local run, the run itself, the report as text or JSON)."""
import json
import sys

from ..control.steps.common import Ports
from ..control.steps.pool_host import placement
from ..control.store import ExecutionStatus
from .args import progress


def request_from_args(args, defaults: dict) -> dict:
    """The start parameters: ``defaults``, then ``--params``, then the options given, then IMAGE_ID."""
    raw = dict(defaults)
    raw.update(args.params or {})
    for name in ("regionId", "zoneId", "baseImageId", "instanceType", "securityGroupId", "vSwitchId",
                 "systemDiskCategory", "repairItems", "engine", "allowPartial", "dryRun", "retry", "pool"):
        value = getattr(args, name)
        if value is not None:
            raw[name] = value
    if args.image_id:
        raw["repairImageId"] = args.image_id
    return raw


def command_ports(settings, store, ecs, clock=None):
    """The steps' ports of a command's local runs: progress on stderr, the settings' agent
    options, the flow's clock (None: real time)."""
    extra = {} if clock is None else {"clock": clock}
    return Ports(store=store, ecs=ecs, progress=progress, options=settings.agent_options(), **extra)


def finish(args, ports, execution_id: str, created: bool, clock) -> int:
    """Run a new or RUNNING execution to its end, or show the finished one; -> exit status."""
    # lazy: the flow runner and PyYAML (about 80 ms): only a repair runs the flow, status and list never do
    from ..control.local_run import run_execution
    existing = ports.store.get_execution(execution_id)
    if not created and existing.status != ExecutionStatus.RUNNING:
        progress("execution %s already ran (the same repair): its result" % execution_id)
        print_execution(existing, args.json)
        return 0 if existing.status == ExecutionStatus.SUCCEEDED else 1
    # new, or RUNNING (a run that stopped midway: every step is idempotent, so it resumes)
    progress("execution %s (%s)" % (execution_id, "new" if created else "resumed"))
    result = run_execution(ports, execution_id, clock=clock)
    print_execution(ports.store.get_execution(execution_id), args.json)
    return 0 if result.status == "Succeeded" else 1


def print_execution(execution, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"executionId": execution.execution_id, "status": execution.status.value,
                                     "report": execution.report, "error": execution.error,
                                     "pool": placement(execution)}, indent=2) + "\n")
        return
    report = execution.report or {}
    out = ["execution %s: %s" % (execution.execution_id, execution.status.value),
           "source image: %s" % execution.source_image_id]
    where = placement(execution)
    if where:
        out.append("repair host: pool host %s, slot %s, instance %s (image-repair pool status)" % (
            where["hostId"] or "(none yet)", "-" if where["slot"] is None else where["slot"], where["instanceId"] or "-"))
    if execution.error:
        out.append("error: %s: %s" % (execution.error.get("code"), execution.error.get("detail")))
    if report.get("newImageId"):
        out.append("new image: %s (%s)" % (report["newImageId"], report.get("newImageName")))
    for item in (report.get("repair") or {}).get("results", []):
        out.append("  %-10s %-14s %s" % (item["name"], item["status"], "; ".join(item.get("findings", []))[:100]))
    if report.get("itemsAfter"):
        risky = [i["name"] for i in report["itemsAfter"] if i.get("riskLevel")]
        out.append("new image's check: %s" % ("at risk: " + ", ".join(risky) if risky else "no item at risk"))
    if report.get("stepSeconds"):
        out.append("time per step: " + ", ".join("%s %.0fs" % kv for kv in report["stepSeconds"].items()))
    sys.stdout.write("\n".join(out) + "\n")
