"""``image-repair events deliver FILE|-``: an EventBridge delivery (a CloudEvent, an array of them,
or RawData; docs/events.md) handled as the ``image-repair-events`` function handles it, with the
accepted events' watched repairs run to their end by the local runner (LocalLauncher).

    image-repair events deliver FILE|- [--image-file DISK [--platform P] [--cloud-dir DIR]]
                                [--endpoint HOST:PORT] [--defaults JSON] [--policy JSON]
                                [--time-scale S] [--json]

* ``--image-file DISK``: the embedded defaults: an in-process local cloud (root needed) with DISK
  registered as a custom image (checked by the agent's check-disk); its id replaces the image id
  of every event in the delivery;
* ``--endpoint HOST:PORT``: an emulator served by ``image-repair emulator serve``;
* otherwise the real ECS API (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, ALIBABA_CLOUD_REGION_ID).
Start parameters events do not carry: the emulator's network with --image-file/--endpoint, else
IMAGE_REPAIR_EVENT_DEFAULTS / IMAGE_REPAIR_SWEEP_DEFAULTS; ``--defaults`` adds to them. The store
is IMAGE_REPAIR_STORE (SQLite by default). Exit status: 0 when every accepted execution
SUCCEEDED (healthy ones included), 1 when one failed, 2 for bad arguments or nothing accepted.
"""
import argparse
import json
import os
import sys
from typing import List


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="image-repair events")
    sub = parser.add_subparsers(dest="command", required=True)
    deliver = sub.add_parser("deliver", help="handle an EventBridge delivery like the events function")
    deliver.add_argument("file", help="the delivery (JSON, or base64 RawData); - reads stdin")
    deliver.add_argument("--image-file", help="register this disk image on an in-process local cloud as the event's image")
    deliver.add_argument("--platform", help="with --image-file: the image's platform (default from check-disk)")
    deliver.add_argument("--cloud-dir", default="/var/tmp/image-repair-cloud", help="the local cloud's directory")
    deliver.add_argument("--endpoint", default=os.environ.get("IMAGE_REPAIR_ECS_ENDPOINT"),
                         help="an ECS emulator (host:port, plain HTTP)")
    deliver.add_argument("--defaults", help="start parameters events do not carry, JSON (seed names)")
    deliver.add_argument("--policy", help="the policy of events without one, JSON: items, riskLevels")
    deliver.add_argument("--time-scale", type=float, default=1.0,
                         help="real seconds per second of flow wait on a local cloud (default 1)")
    deliver.add_argument("--json", action="store_true", help="print the summary and reports as JSON")
    return parser


def event_image_ids(payload: bytes) -> List[str]:
    """The image ids the delivery's events name (for --image-file's substitution)."""
    from .triggers.events import Ignore, as_cloud_event, image_request, split_delivery
    found = []
    for event, _ in split_delivery(payload):
        try:
            found.append(image_request(as_cloud_event(event))[0])
        except (Ignore, TypeError):
            continue
    return found


def substitute_image(payload: bytes, image_id: str) -> bytes:
    text = payload.decode("utf-8")
    for old in set(event_image_ids(payload)):
        text = text.replace(old, image_id)
    return text.encode("utf-8")


def deliver(args, payload: bytes, ecs, defaults: dict, clock, store) -> int:
    from pydantic import ValidationError

    from .launchers import LocalLauncher
    from .models import WatchPolicy
    from .repair_cli import print_execution, progress
    from .steps.common import Ports, agent_options_from_env
    from .triggers.events import handle_delivery
    if args.defaults:
        defaults.update(json.loads(args.defaults))
    try:
        policy = WatchPolicy.model_validate(json.loads(args.policy)) if args.policy else None
    except (ValueError, ValidationError) as error:
        sys.stderr.write("image-repair: bad --policy: %s\n" % error)
        return 2
    ports = Ports(store=store, ecs=ecs, progress=progress, options=agent_options_from_env())
    summary = handle_delivery(payload, store, LocalLauncher(ports, clock=clock), defaults=defaults, policy=policy,
                              region=getattr(ecs, "region", None))
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
    from .clients.ecs import EcsPort
    from .emulator.localcloud import LocalCloud
    from .repair_cli import ScaledClock, emulator_defaults, progress
    from .store import open_store
    from .testing import ecs_client, mock_ecs

    with mock_ecs() as backend, LocalCloud(backend, args.cloud_dir) as cloud:
        image_id = cloud.add_image(args.image_file, name=os.path.basename(args.image_file), platform=args.platform)
        progress("local cloud in %s: %s registered as %s" % (args.cloud_dir, args.image_file, image_id))
        store = open_store(clock=lambda: backend.clock.now())
        code = deliver(args, substitute_image(payload, image_id), EcsPort(ecs_client(backend), backend.region),
                       emulator_defaults(backend.seed_data), ScaledClock(backend, args.time_scale), store)
        cloud.wait_idle(600)
        return code


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        payload = sys.stdin.buffer.read() if args.file == "-" else open(args.file, "rb").read()
    except OSError as error:
        sys.stderr.write("image-repair: cannot read the delivery: %s\n" % error)
        return 2
    if args.image_file:
        return run_on_local_cloud(args, payload)
    from .handlers.events import event_defaults
    from .repair_cli import ScaledClock, ecs_and_defaults
    from .store import open_store
    ecs, defaults = ecs_and_defaults(args.endpoint, cloud_defaults=None if args.endpoint else event_defaults())
    return deliver(args, payload, ecs, defaults, ScaledClock(None, 1.0), open_store())
