"""``image-repair sweep`` and ``image-repair janitor`` (triggers/sweep.py, triggers/janitor.py).

    image-repair sweep [--dry-run] [--max-starts N] [--policy JSON] [--defaults JSON] [--endpoint HOST:PORT]
                       [--fanout local|cloudflow|fc-async] [--json]
    image-repair janitor [--dry-run] [--ttl HOURS] [--endpoint HOST:PORT] [--json]

``--endpoint``: an emulator served by ``image-repair emulator serve`` (its seeded keys; the start
defaults from the built-in seed's network; its clock sets the pace of local runs); otherwise the
real ECS API with the SDKs' credential chain and the defaults from IMAGE_REPAIR_SWEEP_DEFAULTS.
The store is IMAGE_REPAIR_STORE (SQLite by default). The fan-out: ``local`` runs each started
repair in-process to its end, one after another (the default with --endpoint); ``cloudflow`` and
``fc-async`` as in the cloud (IMAGE_REPAIR_FANOUT is the default without --endpoint), passed to
``launchers.fanout_launcher`` as a value.
A dry run prints exactly the images that need a repair, one a line.
"""
import sys

from pydantic import ValidationError

from ..control.launchers import LocalLauncher, fanout_launcher
from ..control.models import InvalidRequest, describe_validation_error
from ..control.triggers.janitor import JANITOR_TTL_S, janitor
from ..control.triggers.sweep import SweepPolicy, sweep
from . import args as cli_args
from .cloud_target import cloud_target, open_command_store
from .execution import command_ports


def sweep_target(args):
    """The ECS port, the sweep's start-parameter defaults (IMAGE_REPAIR_SWEEP_DEFAULTS for the
    real API) and the flow's clock; a bad IMAGE_REPAIR_STORE is refused first, before any call."""
    args.settings.store_settings()
    return cloud_target(args.settings, args.endpoint, cloud_defaults=args.settings.sweep_defaults)


def make_launcher(settings, fanout: str, store, target):
    if fanout == "local":
        return LocalLauncher(command_ports(settings, store, target.ecs, target.clock), clock=target.clock)
    return fanout_launcher(settings, store, fanout)


def run_sweep(args) -> int:
    try:
        policy = SweepPolicy.model_validate(args.policy or {})
    except ValidationError as error:
        return cli_args.fail("sweep", describe_validation_error(error, "bad --policy"))
    endpoint = args.endpoint or args.settings.ecs_endpoint
    fanout = args.fanout or ("local" if endpoint else args.settings.fanout)
    target = sweep_target(args)
    store = open_command_store(args.settings, target)
    try:
        defaults = dict(target.defaults, **(args.defaults or {}))
        launcher = None if args.dry_run else make_launcher(args.settings, fanout, store, target)
        report = sweep(target.ecs, store, launcher, policy, dry_run=args.dry_run, max_starts=args.max_starts,
                       defaults=defaults)
    except InvalidRequest as error:
        return cli_args.fail("sweep", "the start defaults are not a valid request: %s" % error)
    finally:
        store.close()
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        for decision in report.needRepair:
            sys.stdout.write("%s\t%s\t%s\t%s\n" % (decision.imageId, decision.action, ",".join(decision.items),
                                                   decision.imageName))
    sys.stderr.write("sweep: %d images in %d pages, %d need a repair (%d started), skipped: %s (%.1f s)\n" % (
        report.imagesSeen, report.pages, len(report.needRepair), len(report.ids("started")),
        ", ".join("%s %d" % kv for kv in report.skippedCounts.items()) or "none", report.seconds))
    return 0


def run_janitor(args) -> int:
    target = sweep_target(args)
    store = open_command_store(args.settings, target)
    try:
        report = janitor(target.ecs, store, ttl_s=args.ttl * 3600 if args.ttl is not None else JANITOR_TTL_S,
                         dry_run=args.dry_run)
    finally:
        store.close()
    if args.json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        for action in report.deleted + report.failed:
            sys.stdout.write("%s\t%s\t%s\t%s\n" % (action.action, action.kind, action.resourceId, action.reason))
    sys.stderr.write("janitor: %d %s, %d kept, %d failed\n" % (
        len(report.deleted), "to delete" if args.dry_run else "deleted", len(report.kept), len(report.failed)))
    return 1 if report.failed else 0
