"""The main job on the embedded defaults (``python -m image_repair_lab.demo``, run by scripts/demo.sh).

1. Build, or reuse from the cache, a Debian 12 BIOS ext4 disk image broken the way an image
   imported from VMware is (``testimages`` breakage ``vmware``: no virtio in the initramfs, /dev/sda
   names in fstab and on the kernel command line, a missing data disk in fstab, no serial console,
   a static address on ens33, cloud-init disabled), and copy it.
2. ``image-repair check-disk`` on the copy: the risks, like the ECS image check shows them.
3. ``image-repair repair-disk --items all --report ...``: offline repairs, plus package installs
   with the guest's own apt from the Debian mirror (cloud-init, cloud-guest-utils). The Cloud
   Assistant and Security Center agents come from Alibaba Cloud, which this machine cannot reach:
   the demo builds small *stand-in* .deb packages (image_repair_lab.testimages.packages) and serves them
   on 127.0.0.1, so the real install path of the assist and aegis items runs; give the real
   package URLs with --assist-package-url / --aegis-package-url to install the real agents.
4. The report, then ``image-repair check-disk`` again: healthy.
5. The whole workflow on the embedded defaults (local cloud + SQLite): ``image-repair repair
   --image-file`` registers another copy of the broken image as a custom image, and the same
   CloudFlow definition that is deployed (state_machine/repair_image.yaml) launches a repair
   instance, delivers the agent, repairs, snapshots and creates the new image, whose own check
   finds no risk; the new image's disk is written beside the copy and checked with check-disk.
Exit status 0 when both repairs succeeded and the repaired images check healthy, else 1.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .testimages import Recipe, broken_image, copy_image
from .testimages.packages import build_standin_deb, serve_directory

DEMO_RECIPE = Recipe(suite="bookworm", firmware="bios", initramfs="initramfs-tools", rootfs="ext4", layout="plain")
DEMO_BREAKAGES = ["vmware"]


def banner(text):
    print("\n=== %s ===" % text, flush=True)


def image_repair(*args) -> int:
    """Run the real command line, as a user would, with its output on this terminal."""
    print("$ image-repair " + " ".join(str(a) for a in args), flush=True)
    return subprocess.call([sys.executable, "-m", "image_repair"] + [str(a) for a in args])


def print_report(path: Path):
    report = json.loads(path.read_text())
    dist = report.get("distribution") or {}
    print("disk: %s\ndistribution: %s\nlayout: %s" % (
        (report.get("disk") or {}).get("path"), dist.get("pretty_name") or dist.get("name") or dist.get("id"),
        (report.get("layout") or {}).get("summary")))
    for item in report.get("items", []):
        changes = item.get("changes") or {}
        print("  %-10s %-14s %6.1f s  %s" % (item["name"], item["status"], item.get("duration", 0),
                                             "; ".join(item.get("findings", [])[:2])))
        for name in changes.get("files", []):
            print("  %-10s   changed %s" % ("", name))
        if item.get("error"):
            print("  %-10s   error: %s" % ("", item["error"]))
    if report.get("error"):
        print("error: %s" % report["error"].get("message"))
    print("full JSON report: %s" % path)


def run_workflow(work: Path, broken: Path, sources: dict) -> bool:
    """``image-repair repair --image-file`` on a fresh local cloud and store, then check-disk of
    the new image's system disk. The package sources reach the agent through the environment, as
    they do in Function Compute."""
    source = work / "source.img"
    new_image = work / "repaired-image.img"
    cloud = work / "cloud"
    for stale in (source, new_image, work / "executions.sqlite"):
        if stale.exists():
            stale.unlink()
    if cloud.exists():
        shutil.rmtree(cloud)
    copy_image(broken, source)
    env = dict(os.environ, IMAGE_REPAIR_STORE="sqlite:///%s" % (work / "executions.sqlite"))
    for option, value in sources.items():
        if value:
            env["IMAGE_REPAIR_" + option.upper()] = value
    argv = ["repair", "--image-file", source, "--items", "all", "--cloud-dir", cloud, "--output", new_image]
    print("$ image-repair " + " ".join(str(a) for a in argv), flush=True)
    status = subprocess.call([sys.executable, "-m", "image_repair"] + [str(a) for a in argv], env=env)
    print("repair exit status: %d" % status)
    if status != 0 or not new_image.exists():
        return False
    banner("7. check the new image's disk (exit 0 expected: healthy)")
    checked = image_repair("check-disk", new_image)
    print("check-disk exit status: %d" % checked)
    return checked == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m image_repair_lab.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--work", default="/var/tmp/image-repair-demo", help="where the copy and the report go")
    parser.add_argument("--mirror-url", help="Debian mirror for package installs (default: the guest's own)")
    parser.add_argument("--assist-package-url", help="real Cloud Assistant .deb URL (default: a local stand-in)")
    parser.add_argument("--aegis-package-url", help="real Security Center package URL (default: a local stand-in)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()

    banner("1. a Debian 12 image broken the way VMware imports are (built once, then cached)")
    image = broken_image(DEMO_RECIPE, DEMO_BREAKAGES)
    disk = work / "disk.img"
    for stale in (disk, Path(str(disk) + ".json"), work / "report.json"):
        if stale.exists():
            stale.unlink()
    copy_image(image.path, disk)
    print("image: %s\ncopy:  %s" % (image.path, disk))

    banner("2. check the image (exit 1 expected: items at risk)")
    before = image_repair("check-disk", disk)
    print("check-disk exit status: %d" % before)

    banner("3. repair every item")
    report = work / "report.json"
    packages = work / "packages"
    packages.mkdir(exist_ok=True)
    assist = build_standin_deb("aliyun-assist", packages)
    aegis = build_standin_deb("aliyun-aegis", packages)
    with serve_directory(packages) as url:
        sources = {"mirror_url": args.mirror_url,
                   "assist_package_url": args.assist_package_url or "%s/%s" % (url, assist.name),
                   "aegis_package_url": args.aegis_package_url or "%s/%s" % (url, aegis.name)}
        repair_args = ["repair-disk", disk, "--items", "all", "--report", report]
        for option, value in sources.items():
            if value:
                repair_args += ["--" + option.replace("_", "-"), value]
        repaired = image_repair(*repair_args)
        print("repair-disk exit status: %d" % repaired)

        banner("4. the report")
        if report.exists():
            print_report(report)
        else:
            print("no report was written")

        banner("5. check the repaired image again (exit 0 expected: healthy)")
        after = image_repair("check-disk", disk)
        print("check-disk exit status: %d" % after)

        banner("6. the whole workflow on the local cloud: repair instance, agent, snapshot, new image")
        workflow_ok = run_workflow(work, image.path, sources)

    ok = before == 1 and repaired == 0 and after == 0 and workflow_ok
    banner("%s in %.0f s" % ("repaired: the image is ready for ECS" if ok else "FAILED", time.time() - started))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
