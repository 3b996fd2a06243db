"""``image-repair repair | status | list``: the repair workflow from the command line.

``repair`` runs state_machine/repair_image.yaml with the local flow runner against:
- ``--image-file FILE``: the embedded defaults, an in-process local cloud (disk-backed emulator,
  root needed) in ``--cloud-dir`` with FILE registered as the custom image to repair (IMAGE_ID is
  then omitted); see local_repair.py;
- ``--endpoint HOST:PORT``: an emulator served by ``image-repair emulator serve`` (its seeded keys;
  the flow waits at the emulator's own pace, cloud_target.py);
- otherwise the real ECS API with credentials from the SDKs' chain (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET...).
The store is IMAGE_REPAIR_STORE (SQLite by default, docs/store.md); every setting is read once
into ``args.settings`` (control/settings.py).

Every argument is typed and bounded by its parser (cli_args.py) and checked before any work; a
run stopped midway (Ctrl-C, SIGTERM, a crash) on a remote cloud stays RUNNING and the same
command resumes it (every step is idempotent).
"""
import json
import sys
import time

from . import args as cli_args
from .local_session import progress

MAX_RETRY = 99     # models.RepairRequest.retry's bound
# (option, start parameter, metavar, what it is): the start parameters given as options
START_OPTIONS = (
    ("--region", "regionId", "REGION", "the image's region (default: ALIBABA_CLOUD_REGION_ID, else cn-hangzhou)"),
    ("--zone", "zoneId", "ZONE", "the repair host's zone"),
    ("--base-image", "baseImageId", "IMAGE", "the repair host's own system image (default: a current Alibaba "
                                             "Cloud Linux 3)"),
    ("--instance-type", "instanceType", "TYPE", "the repair host's instance type (ecs.g7.large...)"),
    ("--security-group", "securityGroupId", "SG", "the repair host's security group (sg-...)"),
    ("--vswitch", "vSwitchId", "VSW", "the repair host's vSwitch (vsw-..., in --zone)"),
    ("--system-disk-category", "systemDiskCategory", "CATEGORY", "the repair host's system disk category "
                                                                 "(cloud_essd...)"),
    ("--engine", "engine", "ENGINE", "who repairs: agent (ours, the default) or alibaba (the public repair command)"),
)


def add_commands(sub) -> None:
    """``repair``, ``status`` and ``list`` in the command tree (cli.build_parser)."""
    repair = sub.add_parser("repair", help="repair a custom image through the whole workflow",
                            description="Repair a custom image through the whole workflow (docs/workflow.md): "
                            "a disk image file on an in-process local cloud (--image-file), an image of an "
                            "emulator (--endpoint), or an image of your account (the real ECS API).")
    repair.add_argument("image_id", nargs="?", metavar="IMAGE_ID", type=cli_args.text(),
                        help="the custom image (m-...); omit with --image-file")
    for flag, name, metavar, helptext in START_OPTIONS:
        repair.add_argument(flag, dest=name, metavar=metavar, type=cli_args.text(),
                            help="%s (start parameter %s)" % (helptext, name))
    from ..agent.items import SEED_DEFAULT      # stdlib, a tuple of names
    repair.add_argument("--items", dest="repairItems", metavar="ITEMS",
                        type=cli_args.text(r"^[\x20-\x7e]+$", "printable ASCII", 1024),
                        help="what to repair: items separated by commas or spaces, 'all', or 'auto' (the items "
                             "the image check finds at risk); default: the seed template's %s" % ",".join(SEED_DEFAULT))
    repair.add_argument("--allow-partial", dest="allowPartial", action="store_true", default=None,
                        help="accept a repair in which some items failed (default: a failed item fails the "
                             "execution)")
    repair.add_argument("--dry-run", dest="dryRun", action="store_true", default=None,
                        help="the agent shows what it would change, changes nothing, and no image is made "
                             "(engine agent only)")
    repair.add_argument("--retry", dest="retry", metavar="N", type=cli_args.number(int, 0, MAX_RETRY), default=None,
                        help="run a finished repair again with the same parameters (1, 2...: a new execution each)")
    repair.add_argument("--params", metavar="JSON", type=cli_args.json_object,
                        help="the start parameters as one JSON object (the seed's names)")
    repair.add_argument("--endpoint", metavar="HOST:PORT", type=cli_args.endpoint, help=cli_args.ENDPOINT_HELP)
    repair.add_argument("--image-file", metavar="FILE", type=cli_args.disk_image_file,
                        help="repair this disk image file on an in-process local cloud (the file is only read)")
    repair.add_argument("--platform", metavar="NAME", type=cli_args.text(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]*$", "a platform name", 64),
                        help="with --image-file: the image's platform (default from check-disk)")
    repair.add_argument("--cloud-dir", metavar="DIR", type=cli_args.folder, default=cli_args.CLOUD_DIR,
                        help="with --image-file: the local cloud's folder (default %(default)s)")
    repair.add_argument("--output", metavar="FILE", type=cli_args.output_path,
                        help="with --image-file: also write the new image's system disk to FILE (sparse); "
                             "a new file unless --force")
    repair.add_argument("--force", action="store_true", help="let --output replace an existing file")
    cli_args.add_time_scale(repair)
    repair.add_argument("--json", action="store_true", help="print the final report as JSON")
    repair.set_defaults(run=run_repair)
    status = sub.add_parser("status", help="an execution's status and report",
                            description="An execution's status and report, from the store (IMAGE_REPAIR_STORE).")
    status.add_argument("execution_id", metavar="EXECUTION", type=cli_args.text(),
                        help="the execution's id (repair-m-...; 'image-repair list' shows them)")
    status.add_argument("--json", action="store_true", help="print the status and report as JSON")
    status.set_defaults(run=run_status)
    listing = sub.add_parser("list", help="the executions in the store",
                             description="The executions in the store (IMAGE_REPAIR_STORE), newest first.")
    listing.set_defaults(run=run_list)


def request_from_args(args, defaults: dict) -> dict:
    raw = dict(defaults)
    raw.update(args.params or {})
    for name in ("regionId", "zoneId", "baseImageId", "instanceType", "securityGroupId", "vSwitchId",
                 "systemDiskCategory", "repairItems", "engine", "allowPartial", "dryRun", "retry"):
        value = getattr(args, name)
        if value is not None:
            raw[name] = value
    if args.image_id:
        raw["repairImageId"] = args.image_id
    return raw


def check_repair_args(args) -> None:
    """Arguments that depend on one another, before any work (UsageError: exit 2)."""
    if args.image_file and args.image_id:
        raise cli_args.UsageError("give IMAGE_ID or --image-file, not both")
    if args.output and not args.image_file:
        raise cli_args.UsageError("--output needs --image-file (the local cloud's disk files)")
    if args.output and (args.dryRun or (args.params or {}).get("dryRun")):
        raise cli_args.UsageError("--output needs a repair that makes an image, not a dry run")
    if args.force and not args.output:
        raise cli_args.UsageError("--force applies to --output only")
    cli_args.check_time_scale(args)


def run_repair(args) -> int:
    from ..control.models import InvalidRequest, parse_request
    from ..control.steps.start import record_execution
    from .cloud_target import cloud_target, open_command_store

    check_repair_args(args)
    if args.image_file:
        from .local_repair import run_on_local_cloud
        return run_on_local_cloud(args)
    target = cloud_target(args.settings, args.endpoint, args.regionId)
    try:
        request = request_from_args(args, target.defaults)
        parse_request(request)                   # validated before the store is opened: a refusal writes nothing
        store = open_command_store(args.settings, target)
        execution, created, _ = record_execution(store, request)
    except InvalidRequest as error:
        return cli_args.fail("repair", str(error))
    ports = command_ports(args.settings, store, target.ecs, target.clock)
    try:
        return finish(args, ports, execution.execution_id, created, target.clock)
    except KeyboardInterrupt:
        progress("interrupted: execution %s stays RUNNING; the same command resumes it (every step is "
                 "idempotent)" % execution.execution_id)
        return 130


def command_ports(settings, store, ecs, clock=None):
    """The steps' ports of a command's local runs: progress on stderr, the settings' agent
    options, the flow's clock (None: real time)."""
    from ..control.steps.common import Ports
    extra = {} if clock is None else {"clock": clock}
    return Ports(store=store, ecs=ecs, progress=progress, options=settings.agent_options(), **extra)


def finish(args, ports, execution_id: str, created: bool, clock) -> int:
    """Run a new or RUNNING execution to its end, or show the finished one; -> exit status."""
    from ..control.local_run import run_execution
    from ..control.store import ExecutionStatus
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
                                     "report": execution.report, "error": execution.error}, indent=2) + "\n")
        return
    report = execution.report or {}
    out = ["execution %s: %s" % (execution.execution_id, execution.status.value),
           "source image: %s" % execution.source_image_id]
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


def run_status(args) -> int:
    from .cloud_target import open_command_store
    from .local_repair import local_run_note
    store = open_command_store(args.settings)
    try:
        execution = store.get_execution(args.execution_id)
    finally:
        store.close()
    if execution is None:
        sys.stderr.write("image-repair status: no execution %s in the store %s; 'image-repair list' shows the "
                         "executions there (IMAGE_REPAIR_STORE chooses the store)\n"
                         % (args.execution_id, store_name(args.settings)))
        return 1
    print_execution(execution, args.json)
    note = local_run_note(execution)
    if note:
        sys.stderr.write("%s\n" % note)
    return 0


def run_list(args) -> int:
    from .cloud_target import open_command_store
    store = open_command_store(args.settings)
    try:
        executions = store.list_executions()
    finally:
        store.close()
    if not executions:
        sys.stderr.write("image-repair list: no executions in the store %s yet; start one with 'image-repair repair "
                         "--image-file DISK.img' (or IMAGE_ID; 'image-repair repair --help'), or set "
                         "IMAGE_REPAIR_STORE to the store you meant\n" % store_name(args.settings))
        return 0
    for execution in executions:
        sys.stdout.write("%s  %-9s  %s  %s\n" % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(execution.created_at_ms / 1000)), execution.status.value,
            execution.source_image_id, execution.execution_id))
    return 0


def store_name(settings) -> str:
    """The store as a user would name it (its path or tablestore://instance/table)."""
    store = settings.store_settings()
    if store.backend == "sqlite":
        return store.sqlite_path
    return "tablestore://%s/%s" % (store.instance, store.table)


def main(argv=None) -> int:
    """``image-repair repair|status|list ...`` (the whole command tree: cli.main)."""
    from . import main as cli_main
    return cli_main(argv)
