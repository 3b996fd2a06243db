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

from . import args as cli_args

MAX_STARTS = 1000            # SweepPolicy.maxConcurrent's bound too
TTL_HOURS = (1.0, 24 * 365)  # the janitor's TTL: at least an hour (a step records what it creates
                             # within seconds), at most a year


def add_commands(sub) -> None:
    """``sweep`` and ``janitor`` in the command tree (cli.build_parser)."""
    sweep = sub.add_parser("sweep", help="start repairs of the images whose check finds repairable risks",
                           description="List the region's custom images, check the unchecked ones, and start "
                           "a repair of each image at risk (docs/sweep-and-janitor.md).")
    sweep.add_argument("--dry-run", action="store_true", help="list the images that need a repair, start nothing")
    sweep.add_argument("--max-starts", metavar="N", type=cli_args.number(int, 0, MAX_STARTS),
                       help="start at most N repairs in this run (0-%d)" % MAX_STARTS)
    sweep.add_argument("--policy", metavar="JSON", type=cli_args.json_object, help="SweepPolicy as JSON: items, riskLevels, maxConcurrent")
    sweep.add_argument("--defaults", metavar="JSON", type=cli_args.json_object, help="start parameters for every repair, JSON (seed names)")
    sweep.add_argument("--fanout", choices=["local", "cloudflow", "fc-async"],
                       help="how repairs start: local (run here, one after another; the default with "
                            "--endpoint), cloudflow or fc-async (as the deployed sweep; the default is "
                            "IMAGE_REPAIR_FANOUT, else cloudflow)")
    sweep.set_defaults(run=run_sweep)
    janitor = sub.add_parser("janitor", help="delete resources left by finished or unknown executions",
                             description="Delete the instances, disks, snapshots and images tagged by executions "
                             "that finished or that the store does not know (docs/sweep-and-janitor.md).")
    janitor.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    janitor.add_argument("--ttl", metavar="HOURS", type=cli_args.number(float, *TTL_HOURS),
                         help="hours a resource must have lived (default 6; %g-%g)" % TTL_HOURS)
    janitor.set_defaults(run=run_janitor)
    for command in (sweep, janitor):
        command.add_argument("--endpoint", metavar="HOST:PORT", type=cli_args.endpoint, help=cli_args.ENDPOINT_HELP)
        command.add_argument("--json", action="store_true", help="print the whole report as JSON")


def sweep_target(args):
    """The ECS port, the sweep's start-parameter defaults (IMAGE_REPAIR_SWEEP_DEFAULTS for the
    real API) and the flow's clock; a bad IMAGE_REPAIR_STORE is refused first, before any call."""
    from .cloud_target import cloud_target
    args.settings.store_settings()
    return cloud_target(args.settings, args.endpoint, cloud_defaults=args.settings.sweep_defaults)


def make_launcher(settings, fanout: str, store, target):
    if fanout == "local":
        from ..control.launchers import LocalLauncher
        from .repair import command_ports
        return LocalLauncher(command_ports(settings, store, target.ecs, target.clock), clock=target.clock)
    from ..control.launchers import fanout_launcher
    return fanout_launcher(settings, store, fanout)


def run_sweep(args) -> int:
    from pydantic import ValidationError

    from ..control.models import InvalidRequest, describe_validation_error
    from ..control.triggers.sweep import SweepPolicy, sweep
    from .cloud_target import open_command_store
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
    from ..control.triggers.janitor import JANITOR_TTL_S, janitor
    from .cloud_target import open_command_store
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


def main(argv=None) -> int:
    """``image-repair sweep|janitor ...`` (the whole command tree: cli.main)."""
    from . import main as cli_main
    return cli_main(argv)
