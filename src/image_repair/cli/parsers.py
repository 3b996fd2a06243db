"""The parsers of the control-plane commands (``repair``, ``status``, ``list``, ``sweep``,
``janitor``, ``events deliver``, ``pool status``): their options, types, bounds and help, nothing else.

``image-repair --help`` and every refused argument need only these, so this module imports the
standard library and the argument types alone; what a command does is in its own module (repair.py,
sweep.py, events.py), loaded by dispatch.py once its arguments are accepted. Each parser names its
command in ``run`` (dispatch.command_function finds the function that runs it).
"""
from ..agent.items import SEED_DEFAULT       # stdlib, a tuple of names: the --items help
from . import args as cli_args

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
MAX_STARTS = 1000            # SweepPolicy.maxConcurrent's bound too
TTL_HOURS = (1.0, 24 * 365)  # the janitor's TTL: at least an hour (a step records what it creates
                             # within seconds), at most a year


def add_local_cloud_options(parser, metavar: str, helptext: str) -> None:
    """``--image-file`` and the options that go with it (the in-process local cloud's)."""
    parser.add_argument("--image-file", metavar=metavar, type=cli_args.disk_image_file, help=helptext)
    parser.add_argument("--platform", metavar="NAME", type=cli_args.text(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]*$",
                                                                          "a platform name", 64),
                        help="with --image-file: the image's platform (default from check-disk)")
    parser.add_argument("--cloud-dir", metavar="DIR", type=cli_args.folder, default=cli_args.CLOUD_DIR,
                        help="with --image-file: the local cloud's folder (default %(default)s)")


def add_repair_commands(sub) -> None:
    """``repair``, ``status`` and ``list`` in the command tree (build_parser)."""
    repair = sub.add_parser("repair", help="repair a custom image through the whole workflow",
                            description="Repair a custom image through the whole workflow (docs/workflow.md): "
                            "a disk image file on an in-process local cloud (--image-file), an image of an "
                            "emulator (--endpoint), or an image of your account (the real ECS API).")
    repair.add_argument("image_id", nargs="?", metavar="IMAGE_ID", type=cli_args.text(),
                        help="the custom image (m-...); omit with --image-file")
    for flag, name, metavar, helptext in START_OPTIONS:
        repair.add_argument(flag, dest=name, metavar=metavar, type=cli_args.text(),
                            help="%s (start parameter %s)" % (helptext, name))
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
    repair.add_argument("--batch", metavar="FILE", type=cli_args.text(max_length=4096),
                        help="repair every image listed in FILE (one id a line, or a JSON list; 1-100) at once, "
                             "on the pool of repair hosts")
    repair.add_argument("--all-at-risk", dest="all_at_risk", action="store_true",
                        help="repair every image the sweep finds at risk (up to 100) at once, on the pool")
    repair.add_argument("--pool", dest="pool", action="store_true", default=None,
                        help="repair on a shared warm repair host of the pool (docs/pool.md) instead of a host "
                             "launched for this image alone")
    repair.add_argument("--params", metavar="JSON", type=cli_args.json_object,
                        help="the start parameters as one JSON object (the seed's names)")
    repair.add_argument("--endpoint", metavar="HOST:PORT", type=cli_args.endpoint, help=cli_args.ENDPOINT_HELP)
    add_local_cloud_options(repair, "FILE", "repair this disk image file on an in-process local cloud (the file is "
                                    "only read)")
    repair.add_argument("--output", metavar="FILE", type=cli_args.output_path,
                        help="with --image-file: also write the new image's system disk to FILE (sparse); "
                             "a new file unless --force")
    repair.add_argument("--force", action="store_true", help="let --output replace an existing file")
    cli_args.add_time_scale(repair)
    repair.add_argument("--json", action="store_true", help="print the final report as JSON")
    repair.set_defaults(run="repair")
    status = sub.add_parser("status", help="an execution's status and report",
                            description="An execution's status and report, from the store (IMAGE_REPAIR_STORE).")
    status.add_argument("execution_id", metavar="EXECUTION", type=cli_args.text(),
                        help="the execution's id (repair-m-...; 'image-repair list' shows them)")
    status.add_argument("--json", action="store_true", help="print the status and report as JSON")
    status.set_defaults(run="status")
    listing = sub.add_parser("list", help="the executions in the store",
                             description="The executions in the store (IMAGE_REPAIR_STORE), newest first.")
    listing.set_defaults(run="list")


def add_sweep_commands(sub) -> None:
    """``sweep`` and ``janitor`` in the command tree (build_parser)."""
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
    sweep.set_defaults(run="sweep")
    janitor = sub.add_parser("janitor", help="delete resources left by finished or unknown executions",
                             description="Delete the instances, disks, snapshots and images tagged by executions "
                             "that finished or that the store does not know (docs/sweep-and-janitor.md).")
    janitor.add_argument("--dry-run", action="store_true", help="list what would be deleted, delete nothing")
    janitor.add_argument("--ttl", metavar="HOURS", type=cli_args.number(float, *TTL_HOURS),
                         help="hours a resource must have lived (default 6; %g-%g)" % TTL_HOURS)
    janitor.set_defaults(run="janitor")
    for command in (sweep, janitor):
        command.add_argument("--endpoint", metavar="HOST:PORT", type=cli_args.endpoint, help=cli_args.ENDPOINT_HELP)
        command.add_argument("--json", action="store_true", help="print the whole report as JSON")


def add_events_commands(sub) -> None:
    """``events deliver`` in the command tree (build_parser)."""
    events = sub.add_parser("events", help="handle an EventBridge delivery like the events function (docs/events.md)")
    events_sub = events.add_subparsers(dest="events_command", metavar="deliver", required=True)
    deliver = events_sub.add_parser("deliver", help="handle an EventBridge delivery like the events function",
                                    description="Handle an EventBridge delivery (a CloudEvent, an array of them, "
                                    "or RawData) as the image-repair-events function does, and run the accepted "
                                    "repairs here to their end (docs/events.md).")
    deliver.add_argument("file", metavar="FILE|-", type=cli_args.readable_file_or_stdin,
                         help="the delivery (JSON, or base64 RawData); - reads stdin")
    add_local_cloud_options(deliver, "DISK", "register this disk image on an in-process local cloud as the event's image")
    deliver.add_argument("--endpoint", metavar="HOST:PORT", type=cli_args.endpoint, help=cli_args.ENDPOINT_HELP)
    deliver.add_argument("--defaults", metavar="JSON", type=cli_args.json_object,
                         help="start parameters events do not carry, JSON (seed names)")
    deliver.add_argument("--policy", metavar="JSON", type=cli_args.json_object,
                         help="the policy of events without one, JSON: items, riskLevels")
    cli_args.add_time_scale(deliver)
    deliver.add_argument("--json", action="store_true", help="print the summary and reports as JSON")
    deliver.set_defaults(run="events deliver")


def add_pool_commands(sub) -> None:
    """``pool status`` in the command tree (build_parser)."""
    pool = sub.add_parser("pool", help="the warm pool of repair hosts (docs/pool.md)")
    pool_sub = pool.add_subparsers(dest="pool_command", metavar="status", required=True)
    status = pool_sub.add_parser("status", help="the pool's hosts, their slots, leases and idle times",
                                 description="The warm pool of repair hosts in the store (IMAGE_REPAIR_STORE): "
                                 "each host in its seat, its state, its disk slots and who leases them until "
                                 "when, and how long it has been idle (docs/pool.md).")
    status.add_argument("--zone", metavar="ZONE", type=cli_args.text(r"^[a-z0-9-]+$", "a zone id", 64),
                        help="only the hosts of this zone (cn-hangzhou-h...)")
    status.add_argument("--json", action="store_true", help="print the hosts and leases as JSON")
    status.set_defaults(run="pool status")
