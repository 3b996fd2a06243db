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

Every argument is typed and bounded by its parser (args.py, parsers.py) and checked before any work; a
run stopped midway (Ctrl-C, SIGTERM, a crash) on a remote cloud stays RUNNING and the same
command resumes it (every step is idempotent).
"""
import sys
import time

from ..control.models import InvalidRequest, parse_request
from ..control.steps.start import record_execution
from . import args as cli_args
from .args import progress
from .cloud_target import cloud_target, open_command_store
from .execution import command_ports, finish, print_execution, request_from_args
from .local_repair import local_run_note, run_on_local_cloud


def check_repair_args(args) -> None:
    """Arguments that depend on one another, before any work (UsageError: exit 2)."""
    sources = [name for name, given in (("IMAGE_ID", args.image_id), ("--image-file", args.image_file),
                                        ("--batch", args.batch), ("--all-at-risk", args.all_at_risk)) if given]
    if len(sources) > 1:
        raise cli_args.UsageError("give one of IMAGE_ID, --image-file, --batch, --all-at-risk (not %s)"
                                  % " and ".join(sources))
    if args.output and not args.image_file:
        raise cli_args.UsageError("--output needs --image-file (the local cloud's disk files)")
    if args.output and (args.dryRun or (args.params or {}).get("dryRun")):
        raise cli_args.UsageError("--output needs a repair that makes an image, not a dry run")
    if args.force and not args.output:
        raise cli_args.UsageError("--force applies to --output only")
    cli_args.check_time_scale(args)


def run_repair(args) -> int:
    check_repair_args(args)
    if args.image_file:
        return run_on_local_cloud(args)
    if args.batch or args.all_at_risk:
        from .batch import run_batch      # lazy: the flow runner, PyYAML and the sweep, for a batch only
        return run_batch(args)
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


def run_status(args) -> int:
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
        sys.stdout.write("%s  %-9s  %s  %s%s\n" % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(execution.created_at_ms / 1000)), execution.status.value,
            execution.source_image_id, execution.execution_id,
            "  (pool)" if (execution.params or {}).get("pool") else ""))
    return 0


def store_name(settings) -> str:
    """The store as a user would name it (its path or tablestore://instance/table)."""
    store = settings.store_settings()
    if store.backend == "sqlite":
        return store.sqlite_path
    return "tablestore://%s/%s" % (store.instance, store.table)
