"""``image-repair events deliver FILE|-``: an EventBridge delivery (a CloudEvent, an array of them,
or RawData; docs/events.md) handled as the ``image-repair-events`` function handles it, with the
accepted events' watched repairs run to their end by the local runner (LocalLauncher).

    image-repair events deliver FILE|- [--image-file DISK [--platform P] [--cloud-dir DIR]]
                                [--endpoint HOST:PORT] [--defaults JSON] [--policy JSON]
                                [--time-scale S] [--json]

* ``--image-file DISK``: the embedded defaults: an in-process local cloud (root needed) with DISK
  registered as a custom image (checked by the agent's check-disk); its id replaces the image id
  of every event in the delivery;
* ``--endpoint HOST:PORT``: an emulator served by ``image-repair emulator serve`` (its clock sets
  the flow's pace: cloud_target.py);
* otherwise the real ECS API (the SDKs' credential chain, ALIBABA_CLOUD_REGION_ID).
Start parameters events do not carry: the emulator's network with --image-file/--endpoint, else
IMAGE_REPAIR_EVENT_DEFAULTS / IMAGE_REPAIR_SWEEP_DEFAULTS; ``--defaults`` adds to them. The store
is IMAGE_REPAIR_STORE (SQLite by default). Exit status: 0 when every accepted execution
SUCCEEDED (healthy ones included), 1 when one failed, 2 for bad arguments or nothing accepted.
"""
import json
import sys
from typing import List

from . import args as cli_args

MAX_DELIVERY = 16 * 1024 * 1024   # what the command reads at most (the function's own bounds apply after)


def add_commands(sub) -> None:
    """``events deliver`` in the command tree (cli.build_parser)."""
    events = sub.add_parser("events", help="handle an EventBridge delivery like the events function (docs/events.md)")
    events_sub = events.add_subparsers(dest="events_command", metavar="deliver", required=True)
    deliver = events_sub.add_parser("deliver", help="handle an EventBridge delivery like the events function",
                                    description="Handle an EventBridge delivery (a CloudEvent, an array of them, "
                                    "or RawData) as the image-repair-events function does, and run the accepted "
                                    "repairs here to their end (docs/events.md).")
    deliver.add_argument("file", metavar="FILE|-", type=cli_args.readable_file_or_stdin,
                         help="the delivery (JSON, or base64 RawData); - reads stdin")
    deliver.add_argument("--image-file", metavar="DISK", type=cli_args.disk_image_file,
                         help="register this disk image on an in-process local cloud as the event's image")
    deliver.add_argument("--platform", metavar="NAME", type=cli_args.text(r"^[A-Za-z0-9][A-Za-z0-9 ._()-]*$", "a platform name", 64),
                         help="with --image-file: the image's platform (default from check-disk)")
    deliver.add_argument("--cloud-dir", metavar="DIR", type=cli_args.folder, default=cli_args.CLOUD_DIR,
                         help="with --image-file: the local cloud's folder (default %(default)s)")
    deliver.add_argument("--endpoint", metavar="HOST:PORT", type=cli_args.endpoint, help=cli_args.ENDPOINT_HELP)
    deliver.add_argument("--defaults", metavar="JSON", type=cli_args.json_object,
                         help="start parameters events do not carry, JSON (seed names)")
    deliver.add_argument("--policy", metavar="JSON", type=cli_args.json_object,
                         help="the policy of events without one, JSON: items, riskLevels")
    cli_args.add_time_scale(deliver)
    deliver.add_argument("--json", action="store_true", help="print the summary and reports as JSON")
    deliver.set_defaults(run=run_deliver)


def event_image_ids(payload: bytes) -> List[str]:
    """The image ids the delivery's events name (for --image-file's substitution)."""
    from ..control.triggers.events import Ignore, as_cloud_event, image_request, split_delivery
    found = []
    for event, _ in split_delivery(payload):
        try:
            found.append(image_request(as_cloud_event(event))[0])
        except (Ignore, TypeError):
            continue
    return found


def substitute_image(payload: bytes, image_id: str) -> bytes:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise cli_args.UsageError("with --image-file the delivery must be UTF-8 JSON (byte 0x%02x at offset %d is "
                                  "not UTF-8)" % (payload[error.start], error.start))
    for old in set(event_image_ids(payload)):
        text = text.replace(old, image_id)
    return text.encode("utf-8")


def deliver(args, payload: bytes, ecs, defaults: dict, clock, store, launcher_wrapper=None) -> int:
    from pydantic import ValidationError

    from ..control.launchers import LocalLauncher
    from .local_session import progress
    from ..control.models import WatchPolicy, describe_validation_error
    from .repair import command_ports, print_execution
    from ..control.triggers.events import handle_delivery
    defaults.update(args.defaults or {})
    try:
        policy = WatchPolicy.model_validate(args.policy) if args.policy is not None else None
    except ValidationError as error:
        return cli_args.fail("events", describe_validation_error(error, "bad --policy"))
    launcher = LocalLauncher(command_ports(args.settings, store, ecs, clock), clock=clock)
    summary = handle_delivery(payload, store, launcher_wrapper(launcher) if launcher_wrapper else launcher,
                              defaults=defaults, policy=policy, region=getattr(ecs, "region", None))
    for ignored in summary.ignored:
        progress("ignored event %s: %s" % (ignored.eventId or "(no id)", ignored.reason))
    executions = [store.get_execution(a.executionId) for a in summary.accepted if not a.duplicate]
    if args.json:
        sys.stdout.write(json.dumps({"summary": summary.model_dump(), "executions": [
            {"executionId": e.execution_id, "status": e.status.value, "report": e.report, "error": e.error}
            for e in executions]}, indent=2) + "\n")
    else:
        for accepted in summary.accepted:
            progress("event %s: image %s -> execution %s (%s%s)" % (
                accepted.eventId or "(no id)", accepted.imageId, accepted.executionId,
                "new" if accepted.created else "already known", ", duplicate" if accepted.duplicate else ""))
        for execution in executions:
            print_execution(execution, False)
            if (execution.report or {}).get("outcome") == "healthy":
                sys.stdout.write("%s\n" % execution.report["summary"])
    if not executions:
        return 2
    return 0 if all(e.status.value == "SUCCEEDED" for e in executions) else 1


def run_on_local_cloud(args, payload: bytes) -> int:
    from .local_repair import MarkingLauncher, interrupt_running
    from .local_session import LocalSession
    with LocalSession(args.cloud_dir, args.image_file, args.platform, cli_args.time_scale_of(args),
                      args.settings) as session:
        interrupt_running(session.store, session.image_id, own_lock=None)     # left by a dead run
        payload = substitute_image(payload, session.image_id)
        try:
            return deliver(args, payload, session.ecs, session.defaults(), session.clock, session.store,
                           lambda launcher: MarkingLauncher(launcher, session))
        except BaseException:
            interrupt_running(session.store, session.image_id, own_lock=session.lock_file)
            raise


def read_delivery(name: str) -> bytes:
    """The delivery's bytes (at most MAX_DELIVERY): UsageError when unreadable or larger."""
    try:
        if name == "-":
            payload = sys.stdin.buffer.read(MAX_DELIVERY + 1)
        else:
            with open(name, "rb") as handle:
                payload = handle.read(MAX_DELIVERY + 1)
    except OSError as error:
        raise cli_args.UsageError("cannot read the delivery %s: %s" % (cli_args.shorten(name, 80), error.strerror))
    if len(payload) > MAX_DELIVERY:
        raise cli_args.UsageError("the delivery is larger than %d bytes" % MAX_DELIVERY)
    return payload


def run_deliver(args) -> int:
    cli_args.check_time_scale(args)
    payload = read_delivery(args.file)
    if args.image_file:
        return run_on_local_cloud(args, payload)
    from .cloud_target import cloud_target, open_command_store
    args.settings.store_settings()             # a bad IMAGE_REPAIR_STORE is refused before any call
    target = cloud_target(args.settings, args.endpoint, cloud_defaults=args.settings.repair_defaults_for_events())
    store = open_command_store(args.settings, target)
    try:
        return deliver(args, payload, target.ecs, target.defaults, target.clock, store)
    finally:
        store.close()


def main(argv=None) -> int:
    """``image-repair events deliver ...`` with ``argv`` after ``events`` (cli.main runs the tree)."""
    from . import main as cli_main
    return cli_main(["events"] + list(sys.argv[1:] if argv is None else argv))
