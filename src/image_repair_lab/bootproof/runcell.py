"""One cell of the boot matrix, for real: build (or reuse) the broken guest, copy it, boot it
unrepaired on the cell's bus (it must fail the way the breakage predicts), repair it with
``image-repair repair-disk --items all``, enlarge the disk for growpart cells, boot it again on the
cell's bus and then on the other bus (each must be a healthy ECS boot; the disk is resized once,
before the first, which proves growpart), and read what the boots left on the disk.

``IMAGE_REPAIR_BOOT_SKIP_REPAIR=1`` skips the repair (the second boot then runs on the unrepaired
copy): the suite must fail, which shows that it detects a missing repair.
"""
import json
import os
import shutil
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from image_repair_lab.testimages import broken_image, copy_image, open_image
from image_repair_lab.testimages.guestconfig import MARKER_UNIT
from image_repair_lab.testimages.packages import build_standin_deb, caching_mirror, serve_directory

from . import guestdisk
from .cells import GROW_BYTES, Cell, hostname_for
from .metadata import MetadataServer
from .qemu import BootSpec, boot, dhcp_address

SKIP_REPAIR_ENV = "IMAGE_REPAIR_BOOT_SKIP_REPAIR"
BEFORE_TIMEOUT = float(os.environ.get("IMAGE_REPAIR_BOOT_BEFORE_TIMEOUT", "240"))
AFTER_TIMEOUT = float(os.environ.get("IMAGE_REPAIR_BOOT_AFTER_TIMEOUT", "480"))
REPAIR_TIMEOUT = 1800
# Images cached before testimages ordered its marker unit before serial-getty@ttyS0 lose marker
# lines to agetty's hangup of ttyS0; this drop-in (the same ordering) is put on each copy first.
GETTY_DROPIN = "/etc/systemd/system/serial-getty@ttyS0.service.d/after-boot-marker.conf"
GETTY_DROPIN_TEXT = ("# image_repair_lab.bootproof: the boot marker writes to ttyS0 before agetty takes it\n"
                     "[Unit]\nAfter=%s\n" % MARKER_UNIT)


def skip_repair() -> bool:
    return os.environ.get(SKIP_REPAIR_ENV, "") not in ("", "0")


def run_cell(cell: Cell, workdir: Path) -> dict:
    """Run ``cell``; returns its matrix record (see docs/boot-proof.md). Never raises for a guest
    that fails to boot: the record says so and :func:`verdict` judges it."""
    workdir = Path(workdir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    record = {"cell": cell.name, "guest": cell.guest, "debian": cell.recipe.version, "breakage": cell.breakage,
              "bus": cell.bus, "firmware": cell.firmware, "initramfs": cell.recipe.initramfs,
              "rootfs": cell.recipe.rootfs, "layout": cell.recipe.layout, "kernel": cell.recipe.kernel,
              "growpart": cell.growpart, "metadata": cell.metadata, "expect_before": cell.expect_before,
              "after_buses": list(cell.after_buses)}
    started = time.time()
    image = broken_image(cell.recipe, [cell.breakage])
    record["image_seconds"] = round(time.time() - started, 1)
    disk = copy_image(image.path, workdir / "disk.img")
    manifest = image.manifest
    order_getty_after_marker(disk)
    root = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    expected = {"root_uuid": root["uuid"], "hostname": hostname_for(cell),
                "lvm_root": "/dev/mapper/%s-%s" % tuple(root["lvm"].split("/")) if root["lvm"] else None,
                "disk_mounts": tuple(fs["mountpoint"] for fs in manifest["filesystems"]
                                     if fs["mountpoint"] and fs["mountpoint"].startswith("/") and fs["mountpoint"] != "/")}
    record["root_uuid"] = root["uuid"]

    record["before"] = _boot_and_judge(cell, disk, manifest, workdir, "before", BEFORE_TIMEOUT, expected,
                                       bus=cell.bus, screen=cell.screen)

    if skip_repair():
        record["repair"] = {"skipped": True, "exit_status": None, "seconds": 0.0}
    else:
        record["repair"] = repair(disk, workdir)

    if cell.growpart:
        record["grow"] = {"partition_bytes_before": guestdisk.root_partition_bytes(disk, manifest),
                          "filesystem_bytes_before": guestdisk.root_filesystem_bytes(disk, manifest)}
        subprocess.run(["qemu-img", "resize", "-f", "raw", str(disk), "+%d" % GROW_BYTES], check=True,
                       stdout=subprocess.DEVNULL)

    first_bus, other_buses = cell.after_buses[0], cell.after_buses[1:]
    # A repaired guest has its serial console; with the repair skipped, the screen ends the doomed boots early.
    after_screen = cell.screen and skip_repair()
    record["after"] = _boot_and_judge(cell, disk, manifest, workdir, "after", AFTER_TIMEOUT, expected, bus=first_bus,
                                      screen=after_screen)

    if cell.growpart:
        record["grow"].update(partition_bytes_after=guestdisk.root_partition_bytes(disk, manifest),
                              filesystem_bytes_after=guestdisk.root_filesystem_bytes(disk, manifest))
        if record["grow"]["filesystem_bytes_after"] <= record["grow"]["filesystem_bytes_before"]:
            record["after"]["problems"].append("root filesystem did not grow (%d -> %d bytes)" % (
                record["grow"]["filesystem_bytes_before"], record["grow"]["filesystem_bytes_after"]))
            record["after"]["boots"] = False

    record["after_other_bus"] = None
    for other_bus in other_buses:
        record["after_other_bus"] = _boot_and_judge(cell, disk, manifest, workdir, "after-" + other_bus,
                                                    AFTER_TIMEOUT, expected, bus=other_bus, screen=after_screen)
    record["seconds"] = round(time.time() - started, 1)
    record["verdict"] = verdict(record)
    (workdir / "record.json").write_text(json.dumps(record, indent=2) + "\n")
    disk.unlink()  # 3 GiB sparse: the logs and the record stay for a post-mortem
    return record


def order_getty_after_marker(disk: Path):
    with open_image(disk) as root:
        dropin = Path(root) / GETTY_DROPIN.lstrip("/")
        dropin.parent.mkdir(parents=True, exist_ok=True)
        dropin.write_text(GETTY_DROPIN_TEXT)


def _boot_and_judge(cell: Cell, disk: Path, manifest: dict, workdir: Path, name: str, timeout: float,
                    expected: dict, bus: str, screen: bool = False) -> dict:
    with ExitStack() as stack:
        metadata = stack.enter_context(MetadataServer(hostname=expected["hostname"])) if cell.metadata else None
        spec = BootSpec(disk, bus=bus, firmware=cell.firmware, timeout=timeout,
                        metadata_port=metadata.port if metadata else None, screen=screen)
        result = boot(spec, workdir, name)
    report = result.report
    problems = report.problems(expected["root_uuid"], address=dhcp_address(spec), lvm_root=expected["lvm_root"],
                               disk_mounts=expected["disk_mounts"])
    outcome = {"bus": bus, "firmware": cell.firmware, "ended": result.ended, "seconds": result.seconds,
               "cpu_seconds": result.cpu_seconds, "marker": report.marker,
               "kernel_console": report.kernel_console, "kernel_root": report.cmdline_root(),
               "root_source": report.root_source, "root_uuid": report.root_uuid, "eth0": report.eth0_addresses,
               "failures": report.failures, "serial_log": str(result.serial_log),
               "emulator_faults": result.emulator_faults}
    if metadata is not None:
        outcome["metadata_requests"] = len(metadata.requests)
        if report.marker:  # the guest shut down cleanly: its disk says what cloud-init did
            files = guestdisk.read_guest_files(disk, manifest, ["/etc/hostname", "/var/lib/cloud/data/status.json"])
            outcome["hostname"] = (files["/etc/hostname"] or "").strip() or None
            outcome["cloud_init_datasource"] = _datasource(files["/var/lib/cloud/data/status.json"])
            if outcome["hostname"] != expected["hostname"]:
                problems.append("hostname %s, expected %s from the metadata service" % (
                    outcome["hostname"], expected["hostname"]))
    if result.ended in ("timeout", "qemu-error") and report.marker:
        problems.append("qemu did not power off (%s)" % result.ended)
    if result.ended == "qemu-error":
        problems.append("qemu failed: %s" % result.qemu_output.strip()[-300:])
    outcome["problems"] = problems
    outcome["boots"] = not problems
    return outcome


def _datasource(status_json):
    try:
        return json.loads(status_json)["v1"]["datasource"]
    except (TypeError, ValueError, KeyError):
        return None


def repair(disk: Path, workdir: Path) -> dict:
    """``image-repair repair-disk --items all`` on ``disk``, as a user runs it: the Debian packages
    through the caching mirror, the two Alibaba agents as local stand-in packages."""
    report_path = workdir / "repair-report.json"
    packages = workdir / "packages"
    packages.mkdir(exist_ok=True)
    assist = build_standin_deb("aliyun-assist", packages)
    aegis = build_standin_deb("aliyun-aegis", packages)
    started = time.time()
    with caching_mirror() as mirror, serve_directory(packages) as url:
        argv = [sys.executable, "-m", "image_repair", "repair-disk", str(disk), "--items", "all",
                "--report", str(report_path), "--mirror-url", mirror,
                "--assist-package-url", "%s/%s" % (url, assist.name),
                "--aegis-package-url", "%s/%s" % (url, aegis.name)]
        with open(workdir / "repair.log", "w") as log:
            status, cpu_seconds = _call_measuring_cpu(argv, log, REPAIR_TIMEOUT)
    outcome = {"exit_status": status, "seconds": round(time.time() - started, 1), "cpu_seconds": cpu_seconds,
               "log": str(workdir / "repair.log")}
    if report_path.exists():
        report = json.loads(report_path.read_text())
        outcome["items"] = {item["name"]: item["status"] for item in report.get("items", [])}
    return outcome


def _call_measuring_cpu(argv: list, log, timeout: float) -> tuple:
    """Run ``argv`` to completion: (exit status, CPU seconds of it and the children it waited for).
    Reaped with wait4 for its own rusage (the suite runs cells in threads, so RUSAGE_CHILDREN of
    this process would mix the cells)."""
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        pid, wait_status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(wait_status)  # reaped here, not by Popen
            return process.returncode, round(usage.ru_utime + usage.ru_stime, 1)
        if time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise subprocess.TimeoutExpired(argv, timeout)
        time.sleep(0.2)


def verdict(record: dict) -> str:
    """"pass" when the unrepaired boot failed as predicted and the repaired one is healthy on its
    bus and (unless the cell boots one bus only: ``after_buses``) on the other."""
    before = record["before"]
    if before["boots"] or not any(record["expect_before"] in p for p in before["problems"]):
        return "fail: the unrepaired guest did not fail as expected (%s)" % ("; ".join(before["problems"]) or "it booted")
    # With the repair skipped, the repaired-boot check alone must catch it (that is the point).
    if not record["repair"].get("skipped") and record["repair"].get("exit_status") != 0:
        return "fail: repair-disk exit status %s" % record["repair"].get("exit_status")
    keys = ("after", "after_other_bus") if len(record.get("after_buses", "ab")) > 1 else ("after",)
    for key in keys:
        after = record.get(key)
        if after is None:
            return "fail: no repaired boot" + (" on the other bus" if key == "after_other_bus" else "")
        if not after["boots"]:
            return "fail: the repaired guest on %s: %s" % (after.get("bus", record["bus"]), "; ".join(after["problems"]))
    return "pass"
