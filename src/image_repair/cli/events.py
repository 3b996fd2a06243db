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

from ..control.launchers import LocalLauncher
from ..control.models import Invalid, WatchPolicy, describe_validation_error
from ..control.triggers.events import Ignore, as_cloud_event, handle_delivery, image_request, split_delivery
from . import args as cli_args
from .args import progress
from .cloud_target import cloud_target, open_command_store
from .execution import command_ports, print_execution
from .local_repair import MarkingLauncher, interrupt_running
from .local_session import LocalSession

MAX_DELIVERY = 16 * 1024 * 1024   # what the command reads at most (the function's own bounds apply after)


def event_image_ids(payload: bytes) -> List[str]:
    """The image ids the delivery's events name (for --image-file's substitution)."""
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
    defaults.update(args.defaults or {})
    try:
        policy = WatchPolicy.model_validate(args.policy) if args.policy is not None else None
    except Invalid as error:
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
    args.settings.store_settings()             # a bad IMAGE_REPAIR_STORE is refused before any call
    target = cloud_target(args.settings, args.endpoint, cloud_defaults=args.settings.repair_defaults_for_events())
    store = open_command_store(args.settings, target)
    try:
        return deliver(args, payload, target.ecs, target.defaults, target.clock, store)
    finally:
        store.close()
