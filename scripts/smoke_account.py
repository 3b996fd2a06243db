"""The real-account smoke test (scripts/smoke-account.sh; docs/deploying.md, "Smoke test").

Repairs one image end to end with the project's own flow definition and the real Alibaba SDKs,
prints the timeline and the new image's check, then removes everything the run created and proves
it by tag (ListTagResources finds nothing left tagged with the execution). CI never runs the real
mode; ``--dry-run`` runs the very same code here against the emulator served on loopback.

    smoke-account.sh REGION --image m-... --zone Z --vswitch vsw-... --security-group sg-...
                     [--instance-type ecs.g7.large] [--items auto] [--keep-image] [--deploy]
    smoke-account.sh --dry-run

Real mode needs credentials (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET or any source of the SDKs' chain)
and RAM permissions of ram/fc-role-policy.json. The workflow runs on this machine (local flow
runner, a SQLite store in a temporary folder) against the account's ECS API: every ECS contract is
met for real. ``--deploy`` also deploys with Serverless Devs (`s deploy`), starts the same repair
through the deployed start function (`s start invoke`) and removes the deployment (`s remove`):
the Function Compute and CloudFlow contracts, which no local test can meet.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

TAG_EXECUTION = "image-repair:execution"
EMULATOR_IMAGE = "m-bp1emulatorbrokenimg01"       # the built-in seed's broken custom image


def say(message: str) -> None:
    sys.stderr.write("smoke: %s\n" % message)
    sys.stderr.flush()


def parse(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="smoke-account.sh", description=__doc__.split("\n\n")[0])
    parser.add_argument("region", nargs="?", help="the region to test in (real mode)")
    parser.add_argument("--dry-run", action="store_true", help="against the emulator served here, no account")
    parser.add_argument("--image", help="a small custom Linux image of the account to repair (m-...)")
    parser.add_argument("--zone", help="zone of the repair host")
    parser.add_argument("--vswitch", help="vSwitch of the repair host (in --zone)")
    parser.add_argument("--security-group", help="security group of the repair host")
    parser.add_argument("--instance-type", default="ecs.g7.large", help="repair host type (default ecs.g7.large)")
    parser.add_argument("--items", default="auto", help="repair items (default auto: those at risk)")
    parser.add_argument("--engine", choices=("agent", "alibaba"),
                        help="agent (ours, the default) or alibaba (the public command); --dry-run uses alibaba: "
                             "the plain emulator runs no agent")
    parser.add_argument("--keep-image", action="store_true", help="keep the repaired image (default: delete it)")
    parser.add_argument("--deploy", action="store_true", help="also s deploy, s start invoke, s remove")
    args = parser.parse_args(argv)
    if not args.dry_run:
        missing = [name for name in ("region", "image", "zone", "vswitch", "security_group") if not getattr(args, name)]
        if missing:
            parser.error("real mode needs %s (or --dry-run)" % ", ".join("--" + m.replace("_", "-") if m != "region"
                                                                          else "REGION" for m in missing))
    return args


class Emulator:
    """``image-repair emulator serve`` on a free loopback port, for --dry-run."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, "-m", "image_repair", "emulator", "serve", "--port", "0",
                                         "--latency", "fast"], stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()         # "ECS emulator listening on http://127.0.0.1:PORT ..."
        found = re.search(r"http://(127\.0\.0\.1:\d+)", line)
        if not found:
            self.stop()
            raise SystemExit("smoke: the emulator did not start: %s" % line.strip())
        self.endpoint = found.group(1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def repair(args, endpoint: Optional[str], store_dir: str) -> dict:
    """Run the workflow (the CLI, as a user would) and return its JSON report."""
    argv = [sys.executable, "-m", "image_repair", "repair", args.image, "--items", args.items, "--json",
            "--engine", args.engine or ("alibaba" if endpoint else "agent")]
    if endpoint:
        argv += ["--endpoint", endpoint]       # the CLI asks the emulator's clock for its pace
    else:
        argv += ["--region", args.region, "--zone", args.zone, "--vswitch", args.vswitch,
                 "--security-group", args.security_group, "--instance-type", args.instance_type]
    env = dict(os.environ, IMAGE_REPAIR_STORE="sqlite:///%s/state.db" % store_dir)
    started = time.time()
    run = subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True)
    say("the workflow ran %.0f s (exit %d)" % (time.time() - started, run.returncode))
    try:
        out = json.loads(run.stdout)       # {"executionId", "status", "report", "error"}
    except ValueError:
        raise SystemExit("smoke: no JSON report from image-repair repair (exit %d): %s"
                         % (run.returncode, run.stdout[-2000:]))
    return dict(out.get("report") or {}, executionId=out["executionId"], status=out.get("status"),
                error=out.get("error"))


def print_timeline(report: dict) -> None:
    say("execution %s: %s%s" % (report.get("executionId"), report.get("status"),
                                 " (%s)" % report["error"] if report.get("error") else ""))
    for step, seconds in (report.get("stepSeconds") or {}).items():
        say("  %-24s %8.1f s" % (step, seconds))
    say("new image %s" % report.get("newImageId"))
    at_risk = [i.get("name") for i in report.get("itemsAfter") or [] if i.get("riskLevel")]
    say("the new image's check: %s" % (", ".join(at_risk) + " at risk" if at_risk else
                                       "nothing at risk (%d items)" % len(report.get("itemsAfter") or [])))


def remove_and_verify(ecs, report: dict, keep_image: bool) -> List[tuple]:
    """Delete what the run made (the new image and its snapshot unless kept), then list what is
    still tagged with the execution: the test's verdict on clean-up."""
    execution_id = report["executionId"]
    image_id = report.get("newImageId")
    if image_id and not keep_image:
        snapshot = (report.get("resources") or {}).get("snapshotId")
        ecs.delete_image(image_id)
        if snapshot:
            ecs.delete_snapshot(snapshot)
        say("deleted %s%s" % (image_id, " and " + snapshot if snapshot else ""))
    keep = {image_id, (report.get("resources") or {}).get("snapshotId")} if keep_image else set()
    for _ in range(10):                 # tag listings follow deletions with a short delay
        left = [(kind, rid) for kind, rid in ecs.tagged(TAG_EXECUTION, execution_id,
                                                        kinds=("instance", "disk", "snapshot", "image"))
                if rid not in keep]
        if not left:
            return []
        time.sleep(3)
    return left


def deploy_and_invoke(args) -> None:
    """The Function Compute + CloudFlow half: needs Serverless Devs (`s`) configured for the account."""
    if shutil.which("s") is None:
        raise SystemExit("smoke: --deploy needs Serverless Devs (npm install -g @serverless-devs/s; s config add)")
    event = json.dumps({"regionId": args.region, "zoneId": args.zone, "repairImageId": args.image,
                        "instanceType": args.instance_type, "securityGroupId": args.security_group,
                        "vSwitchId": args.vswitch, "repairItems": args.items, "retry": 1})
    for argv in (["s", "deploy", "-y"], ["s", "start", "invoke", "-e", event]):
        say("running: %s" % " ".join(argv))
        subprocess.run(argv, check=True)
    say("the deployed flow runs in the cloud: watch it with `s flow info` or the CloudFlow console; "
        "remove the deployment with `s remove -y` when it ends")


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from image_repair.control.cloud_config import StaticKeys
    from image_repair.control.clients.ecs import ecs_port
    from image_repair.control.settings import Settings
    settings = Settings.from_env()
    emulator = Emulator() if args.dry_run else None
    try:
        if emulator:
            from image_repair.emulator.seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
            args.image = args.image or EMULATOR_IMAGE
            ecs = ecs_port(settings, "cn-hangzhou", emulator.endpoint,
                         StaticKeys(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET))
            say("dry run against the emulator at %s (no account is touched)" % emulator.endpoint)
        else:
            ecs = ecs_port(settings, args.region)
        with tempfile.TemporaryDirectory(prefix="smoke-") as store_dir:
            report = repair(args, emulator.endpoint if emulator else None, store_dir)
        print_timeline(report)
        left = remove_and_verify(ecs, report, args.keep_image)
        if left:
            say("LEFT BEHIND (tagged %s=%s): %s" % (TAG_EXECUTION, report["executionId"],
                                                   ", ".join("%s %s" % r for r in left)))
        else:
            say("nothing tagged with the execution is left")
        if args.deploy and not args.dry_run:
            deploy_and_invoke(args)
        ok = not left and not report.get("error") and bool(report.get("newImageId"))
        print(json.dumps({"executionId": report.get("executionId"), "newImageId": report.get("newImageId"),
                          "stepSeconds": report.get("stepSeconds"), "leftBehind": left, "ok": ok}))
        return 0 if ok else 1
    finally:
        if emulator:
            emulator.stop()


if __name__ == "__main__":
    sys.exit(main())
