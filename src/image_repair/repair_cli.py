"""``image-repair repair | status | list``: the repair workflow from the command line.

``repair`` runs state_machine/repair_image.yaml with the local flow runner against:
- ``--image-file FILE``: the embedded defaults, an in-process local cloud (disk-backed emulator,
  root needed) in ``--cloud-dir`` with FILE registered as the custom image to repair (IMAGE_ID is
  then omitted); at the end the new image's system-disk file is printed;
- ``--endpoint HOST:PORT``: an emulator served by ``image-repair emulator serve`` (its seeded keys);
- otherwise the real ECS API with credentials from ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET.
The store is IMAGE_REPAIR_STORE (SQLite by default, docs/store.md).
"""
import argparse
import json
import os
import subprocess
import sys
import time


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="image-repair")
    sub = parser.add_subparsers(dest="command", required=True)
    repair = sub.add_parser("repair", help="repair a custom image through the whole workflow")
    repair.add_argument("image_id", nargs="?", help="the custom image (m-...); omit with --image-file")
    for flag, name in (("--region", "regionId"), ("--zone", "zoneId"), ("--base-image", "baseImageId"),
                       ("--instance-type", "instanceType"), ("--security-group", "securityGroupId"),
                       ("--vswitch", "vSwitchId"), ("--system-disk-category", "systemDiskCategory"),
                       ("--items", "repairItems"), ("--engine", "engine")):
        repair.add_argument(flag, dest=name)
    repair.add_argument("--allow-partial", dest="allowPartial", action="store_true", default=None)
    repair.add_argument("--dry-run", dest="dryRun", action="store_true", default=None)
    repair.add_argument("--retry", dest="retry", type=int, default=None,
                        help="run a finished repair again with the same parameters (1, 2...: a new execution each)")
    repair.add_argument("--params", help="the start parameters as one JSON object (the seed's names)")
    repair.add_argument("--endpoint", default=os.environ.get("IMAGE_REPAIR_ECS_ENDPOINT"),
                        help="an ECS emulator (host:port, plain HTTP)")
    repair.add_argument("--image-file", help="repair this disk image file on an in-process local cloud")
    repair.add_argument("--platform", help="with --image-file: the image's platform (default from check-disk)")
    repair.add_argument("--cloud-dir", default="/var/tmp/image-repair-cloud", help="the local cloud's directory")
    repair.add_argument("--output", metavar="FILE",
                        help="with --image-file: also copy the new image's system disk to FILE (sparse)")
    repair.add_argument("--time-scale", type=float, default=1.0,
                        help="local cloud: real seconds per second of flow wait (default 1: step times are real)")
    repair.add_argument("--json", action="store_true", help="print the final report as JSON")
    status = sub.add_parser("status", help="an execution's status and report")
    status.add_argument("execution_id")
    status.add_argument("--json", action="store_true")
    sub.add_parser("list", help="executions in the store")
    return parser


def request_from_args(args, defaults: dict) -> dict:
    raw = dict(defaults)
    if args.params:
        raw.update(json.loads(args.params))
    for name in ("regionId", "zoneId", "baseImageId", "instanceType", "securityGroupId", "vSwitchId",
                 "systemDiskCategory", "repairItems", "engine", "allowPartial", "dryRun", "retry"):
        value = getattr(args, name)
        if value is not None:
            raw[name] = value
    if args.image_id:
        raw["repairImageId"] = args.image_id
    return raw


def emulator_defaults(backend_or_seed: dict) -> dict:
    """Network parameters from an emulator's seed (its first vSwitch, its group, a type)."""
    vswitch = backend_or_seed["vswitches"][0]
    return {"regionId": backend_or_seed.get("region", "cn-hangzhou"), "zoneId": vswitch["zone"],
            "vSwitchId": vswitch["id"], "securityGroupId": backend_or_seed["security_groups"][0]["id"],
            "instanceType": backend_or_seed["instance_types"][0]}


def ecs_and_defaults(endpoint, region=None, cloud_defaults=None):
    """(EcsPort, start-parameter defaults) for the commands: an emulator served at ``endpoint``
    (``image-repair emulator serve``: its seeded keys and network), else the real API (credentials
    and ALIBABA_CLOUD_REGION_ID from the environment, ``cloud_defaults`` for the rest)."""
    from .clients.ecs import ecs_port_from_env
    if endpoint:
        from .emulator.seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_SEED
        os.environ.setdefault("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
        os.environ.setdefault("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
        defaults = emulator_defaults(DEFAULT_SEED)
        return ecs_port_from_env(region or defaults["regionId"], endpoint), defaults
    defaults = dict(cloud_defaults or {}, regionId=os.environ.get("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou")
    return ecs_port_from_env(region or defaults["regionId"]), defaults


class ScaledClock:
    """Flow waits on an emulator: the emulator's clock moves by the whole wait, real time by a
    fraction (background disk work in the local cloud runs in real time)."""

    def __init__(self, backend=None, scale: float = 0.05):
        self.backend, self.scale = backend, scale

    def now(self) -> float:
        return self.backend.clock.now() if self.backend is not None else time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds * self.scale)
        if self.backend is not None:
            self.backend.advance(seconds)

    __call__ = now


def progress(message: str) -> None:
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), message))
    sys.stderr.flush()


def run_repair(args) -> int:
    from .models import InvalidRequest
    from .steps.common import Ports, agent_options_from_env
    from .steps.start import record_execution
    from .store import open_store

    if args.image_file:
        return run_on_local_cloud(args)
    if args.output:
        sys.stderr.write("image-repair: --output needs --image-file (the local cloud's disk files)\n")
        return 2
    ecs, defaults = ecs_and_defaults(args.endpoint, args.regionId)
    clock = ScaledClock(None, 1.0)
    store = open_store()
    try:
        execution, created, _ = record_execution(store, request_from_args(args, defaults))
    except InvalidRequest as error:
        sys.stderr.write("image-repair: %s\n" % error)
        return 2
    ports = Ports(store=store, ecs=ecs, progress=progress, options=agent_options_from_env())
    return finish(args, ports, execution.execution_id, created, clock)


def run_on_local_cloud(args) -> int:
    from .emulator.localcloud import LocalCloud
    from .models import InvalidRequest
    from .steps.common import Ports, agent_options_from_env
    from .steps.start import record_execution
    from .store import open_store
    from .testing import ecs_client, mock_ecs
    from .clients.ecs import EcsPort

    with mock_ecs() as backend, LocalCloud(backend, args.cloud_dir) as cloud:
        image_id = cloud.add_image(args.image_file, name=os.path.basename(args.image_file),
                                   platform=args.platform)
        progress("local cloud in %s: %s registered as %s" % (args.cloud_dir, args.image_file, image_id))
        defaults = emulator_defaults(backend.seed_data)
        raw = request_from_args(args, defaults)
        raw["repairImageId"] = image_id
        store = open_store(clock=lambda: backend.clock.now())
        try:
            execution, created, _ = record_execution(store, raw)
        except InvalidRequest as error:
            sys.stderr.write("image-repair: %s\n" % error)
            return 2
        ports = Ports(store=store, ecs=EcsPort(ecs_client(backend), backend.region), progress=progress,
                      options=agent_options_from_env())
        code = finish(args, ports, execution.execution_id, created, ScaledClock(backend, args.time_scale))
        report = store.get_execution(execution.execution_id).report or {}
        new_image = backend.images.get(report.get("newImageId") or "")
        if new_image is not None:
            snapshot = backend.snapshots.get(new_image.mappings[0].snapshot_id)
            path = getattr(snapshot, "backing_file", None) or cloud.root / "snapshots" / (snapshot.id + ".img")
            progress("new image %s: system disk file %s" % (new_image.id, path))
            if args.output:
                subprocess.check_call(["cp", "--sparse=always", str(path), args.output])
                progress("new image %s copied to %s" % (new_image.id, args.output))
        cloud.wait_idle(600)
        return code


def finish(args, ports, execution_id: str, created: bool, clock) -> int:
    from .handlers.local import run_execution
    from .store import ExecutionStatus
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


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "repair":
        return run_repair(args)
    from .store import open_store
    store = open_store()
    if args.command == "status":
        execution = store.get_execution(args.execution_id)
        if execution is None:
            sys.stderr.write("image-repair: no execution %s\n" % args.execution_id)
            return 1
        print_execution(execution, args.json)
        return 0
    for execution in store.list_executions():
        sys.stdout.write("%s  %-9s  %s  %s\n" % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime(execution.created_at_ms / 1000)), execution.status.value,
            execution.source_image_id, execution.execution_id))
    return 0
