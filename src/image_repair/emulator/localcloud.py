"""The disk-backed mode: a local cloud on this machine, for the whole workflow without a network.

- Images are disk image files: ``add_image(path)`` registers one (a raw file is its snapshot, read
  only; qcow2/vmdk/vhd are converted to raw copies); seed images may name a ``file``.
- A disk created from a snapshot is a sparse/reflink copy of the snapshot's file; a data disk of
  a repair instance is attached as a loop device (read-write) while it is attached: a disk that
  outlives its instance (DetachDisk, or DeleteWithInstance=false) is released from its loop
  device once Available, and its file stays until DeleteDisk. A disk made by CreateDisk gets its
  copy (or, empty, a sparse file of its size) while Creating and its loop device while Attaching
  (AttachDisk): one host holds as many disks as its type allows, each under its own serial.
- RunCommand/InvokeCommand really run: as root, in a private mount namespace where
  ``/dev/disk/by-id/virtio-<serial>`` names each attached disk (the serial the instance reports,
  which the agent's ``--serial`` lookup finds) and each SendFile target directory is replaced by
  the instance's own copy of it (the host's directory is hidden, never written). The target
  directory must exist on this host.
- CreateSnapshot copies the disk's file at that moment (after flushing its loop device, if it is
  still attached).
- An image created with ``DetectionStrategy=Standard`` gets its check items from the agent's
  ``check-disk`` on the image's system snapshot.
The public command ``ACS-ECS-ImageRepair-for-linux.sh`` runs the agent's ``repair-disk --serial``.

Real work runs in background threads while the resource holds its status (an instance stays
Starting and its disk Creating until the copy is attached, a snapshot stays progressing until its
copy is written, a check Processing until check-disk answers, an invocation Running until the
command exits), so no API call waits for a disk copy or a repair: clients poll as on ECS.
"""
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Callable, Dict, List, Optional

from ..agent.items.checknames import check_item_name
from ..control.agent_build import build_zipapp
from .models.commands import RUNNING
from .clock import Progress
from .resources import CheckItem, DiskMapping, Image, Snapshot

REPAIR_COMMAND = "ACS-ECS-ImageRepair-for-linux.sh"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INTERPRETERS = {"RunShellScript": ["bash"], "RunPythonScript": ["python3"], "RunPerlScript": ["perl"]}


def _run(argv: List[str], timeout: float = 600) -> str:
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                            timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), result.stderr.strip()))
    return result.stdout


def _losetup(path: str) -> str:
    """A new read-write loop device over ``path`` (its /dev/loopN)."""
    return _run(["losetup", "--find", "--show", path]).strip()


def copy_disk(source: str, target: str) -> None:
    """A sparse (or reflink) raw copy; other formats are converted to raw by qemu-img.

    The copy never writes an existing file (the source, a registered image file, anything): it
    goes to a temporary file next to ``target``, published by ``link``, which refuses an
    existing ``target`` (FileExistsError) instead of replacing it."""
    if os.path.lexists(target):
        raise FileExistsError("the local cloud does not overwrite %s" % target)
    fmt = json.loads(_run(["qemu-img", "info", "--output=json", source]))["format"]
    temporary = "%s.%d.part" % (target, os.getpid())
    try:
        if fmt == "raw":
            _run(["cp", "--reflink=auto", "--sparse=always", "--", source, temporary])
        else:
            _run(["qemu-img", "convert", "-O", "raw", source, temporary])
        os.link(temporary, target)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)


class LocalCloud:
    """Attach to an EcsBackend: ``with LocalCloud(backend, "/var/tmp/cloud") as cloud: ...``."""

    def __init__(self, backend, root: str, agent: Optional[str] = None, python: str = "python3"):
        self.backend = backend
        self.root = Path(root)
        for sub in ("snapshots", "disks", "instances"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.python = python
        self.agent = agent or self._build_agent()
        self.loops: Dict[str, str] = {}  # disk id -> /dev/loopN
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []
        self._detected: Dict[str, List[CheckItem]] = {}
        # The files this cloud wrote (disk and snapshot copies): the only ones it ever deletes,
        # so a registered image file is never removed, wherever it lives.
        self._own_files: set = set()
        backend.local = self
        backend.detector = self.detect
        backend.command_handlers.insert(0, self.run_command)
        command = backend.commands.get(REPAIR_COMMAND)
        if command is not None:
            command.content = ("%s %s repair-disk --serial {{disk_serial}} --items \"{{repairitems}}\" --json --quiet\n"
                               % (python, shlex.quote(self.agent)))
            command.seconds = None

    def _build_agent(self) -> str:
        path = self.root / "image-repair-agent.pyz"
        path.write_bytes(build_zipapp())
        return str(path)

    def __enter__(self) -> "LocalCloud":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Wait for the work in progress, then detach every loop device this cloud attached."""
        self.wait_idle()
        for disk_id in list(self.loops):
            self._detach(disk_id)

    def wait_idle(self, timeout: Optional[float] = None) -> bool:
        """Wait (at most ``timeout`` seconds in all) for every background copy, check and command
        started so far; -> True when none is left running."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _background(self, name: str, work: Callable, done: Callable) -> None:
        """Run ``work()`` in a thread, then ``done(result, error)`` under the backend's lock."""
        def run():
            result, failure = None, None
            try:
                result = work()
            except Exception as exc:  # reported on stderr and to ``done``: never silent
                failure = exc
                sys.stderr.write("emulator local cloud: %s failed:\n%s" % (name, traceback.format_exc()))
            with self.backend.lock:
                done(result, failure)
                self.backend.settle()
        thread = threading.Thread(target=run, name="local-cloud " + name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    # --- images from files ------------------------------------------------------------------------
    def add_image(self, path: str, name: Optional[str] = None, platform: Optional[str] = None,
                  architecture: Optional[str] = None, boot_mode: Optional[str] = None, check: bool = True) -> str:
        """Register a disk image file as a custom image; ``check`` runs the image check now.
        A raw file is used in place as the image's snapshot (only ever read: disks are copies;
        do not change it while registered); other formats are converted into DIR/snapshots.
        Platform, architecture and boot mode default to what the check finds in the guest."""
        backend = self.backend
        with backend.lock:
            snapshot_id, image_id = backend.new_id("s-"), backend.new_id("m-")
            fmt = json.loads(_run(["qemu-img", "info", "--output=json", path]))["format"]
            target = Path(path).resolve()
            if fmt != "raw":
                target = self.root / "snapshots" / (snapshot_id + ".img")
                copy_disk(path, str(target))
                self._own_files.add(str(target))
            size = max(1, -(-target.stat().st_size // 1024 ** 3))
            now = backend.clock.now()
            backend.snapshots[snapshot_id] = Snapshot(id=snapshot_id, name="", disk_id=None, disk_type="System",
                                                      size=size, progress=Progress("accomplished", now), created=now,
                                                      backing_file=str(target))
            image = Image(id=image_id, name=name or Path(path).stem, owner="self", platform="Others Linux",
                          os_name="", architecture="x86_64", boot_mode="BIOS", size=size,
                          progress=Progress("Available", now), created=now,
                          mappings=[DiskMapping("system", size, snapshot_id, "/dev/xvda")])
            found = {}
            if check:
                image.check = Progress("Finished", now)
                image.check_items = self.detect(backend, image)
                found = {item.name: item.value for item in image.check_items}
            image.platform = platform or found.get("Platform", "Others Linux")
            image.os_name = "%s %s" % (image.platform, found.get("OSVersion", "")) if found else image.platform
            image.architecture = architecture or found.get("Architecture", "x86_64")
            image.boot_mode = boot_mode or found.get("BootMode", "BIOS")
            backend.images[image_id] = image
            return image_id

    # --- hooks called by the backend -----------------------------------------------------------------
    def disk_created(self, disk) -> None:
        snap = self.backend.snapshots.get(disk.source_snapshot_id or "")
        if disk.source_snapshot_id is None and disk.instance_id is None:
            self._empty_disk(disk)      # CreateDisk of Size GiB
            return
        if snap is None or not snap.backing_file:
            return
        target = self.root / "disks" / (disk.id + ".img")
        disk.backing_file = str(target)
        self._own_files.add(str(target))
        instance = self.backend.instances.get(disk.instance_id or "")
        holding = [disk.progress] + ([instance.progress] if instance is not None else [])
        for progress in holding:
            progress.held = True

        def work():
            copy_disk(snap.backing_file, str(target))
            if disk.type == "data" and instance is not None:     # a RunInstances data disk: attached now
                return _losetup(str(target))
            return None

        def done(device, failure):
            if device:
                with self._lock:
                    self.loops[disk.id] = device
            for progress in holding:
                progress.held = False
        self._background("copy of %s for %s" % (snap.id, disk.id), work, done)

    def _empty_disk(self, disk) -> None:
        """An empty disk: a new sparse file of its size (never an existing file: O_EXCL)."""
        target = self.root / "disks" / (disk.id + ".img")
        descriptor = os.open(str(target), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(descriptor, disk.size * 1024 ** 3)
        finally:
            os.close(descriptor)
        disk.backing_file = str(target)
        self._own_files.add(str(target))

    def disk_attached(self, disk) -> None:
        """AttachDisk: the disk's file on a loop device; the disk stays Attaching until it is."""
        if not disk.backing_file:
            return
        disk.progress.held = True

        def done(device, failure):
            if device:
                with self._lock:
                    self.loops[disk.id] = device
            disk.progress.held = False
        self._background("attach of %s to %s" % (disk.id, disk.instance_id),
                         lambda: _losetup(disk.backing_file), done)

    def disk_detached(self, disk) -> None:
        """The disk is off its instance (Available): its loop device is flushed and released;
        its file stays (a snapshot of it copies the file, DeleteDisk removes it)."""
        device = self.loops.get(disk.id)
        if device:
            subprocess.run(["blockdev", "--flushbufs", device], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._detach(disk.id)

    def disk_deleted(self, disk) -> None:
        self._detach(disk.id)
        if disk.backing_file in self._own_files:
            Path(disk.backing_file).unlink(missing_ok=True)

    def _detach(self, disk_id: str) -> None:
        with self._lock:
            device = self.loops.pop(disk_id, None)
        if device:
            subprocess.run(["losetup", "-d", device], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def snapshot_created(self, snap: Snapshot, disk) -> None:
        if not disk.backing_file:
            return
        device = self.loops.get(disk.id)
        if device:
            subprocess.run(["blockdev", "--flushbufs", device], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.sync()
        target = self.root / "snapshots" / (snap.id + ".img")
        self._own_files.add(str(target))
        snap.progress.held = True

        def done(_result, failure):
            snap.progress.held = False
            if failure is None:
                snap.backing_file = str(target)
            else:
                snap.progress.status, snap.progress.steps = "failed", []
        self._background("snapshot %s of %s" % (snap.id, disk.id),
                         lambda: copy_disk(disk.backing_file, str(target)), done)

    def snapshot_deleted(self, snap: Snapshot) -> None:
        if snap.backing_file in self._own_files:
            Path(snap.backing_file).unlink(missing_ok=True)

    # --- the image check --------------------------------------------------------------------------------
    def check_started(self, image: Image) -> None:
        """DetectionStrategy=Standard: run check-disk now, hold the check Processing until done."""
        image.check.held = True

        def done(items, failure):
            self._detected[image.id] = items if failure is None else [
                CheckItem("SystemImage", "Invalid", "High", "SystemImage.CheckFailed")]
            image.check.held = False
        self._background("check of %s" % image.id, lambda: self.detect(self.backend, image, fresh=True), done)

    def detect(self, backend, image: Image, fresh: bool = False) -> List[CheckItem]:
        """The agent's check-disk on the image's system snapshot, as DetectionOptions items."""
        if not fresh and image.id in self._detected:
            return self._detected.pop(image.id)
        system = next((m for m in image.mappings if m.type == "system"), None)
        snap = backend.snapshots.get(system.snapshot_id or "") if system else None
        if snap is None or not snap.backing_file:
            return [CheckItem("SystemImage", "Invalid", "High", "SystemImage.NoDisk")]
        result = subprocess.run([self.python, self.agent, "check-disk", snap.backing_file, "--json", "--quiet"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=900)
        try:
            report = json.loads(result.stdout)
        except ValueError:
            return [CheckItem("SystemImage", "Invalid", "High", "SystemImage.CheckFailed")]
        return report_to_items(report)

    # --- Cloud Assistant -----------------------------------------------------------------------------------
    def run_command(self, backend, invocation, record, instance):
        """Run the invocation's content for real, in the background (answers RUNNING)."""
        if invocation.kind != "command":
            return None
        interpreter = INTERPRETERS.get(invocation.command_type)
        if interpreter is None:
            return 1, "the local cloud runs Linux commands only\n", 0.0
        home = self.root / "instances" / instance.id
        script = home / (invocation.id + ".script")
        home.mkdir(parents=True, exist_ok=True)
        script.write_text(invocation.content)
        try:
            prelude = self._namespace_prelude(instance, home)
        except ValueError as exc:
            return 1, "%s\n" % exc, 0.0
        argv = ["unshare", "--mount", "--propagation", "private", "bash", "-c",
                prelude + "exec %s %s\n" % (" ".join(interpreter), shlex.quote(str(script)))]

        def work():
            process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       universal_newlines=True, start_new_session=True, cwd=str(home),
                                       env={"PATH": PATH, "HOME": "/root", "LC_ALL": "C"})
            # Its own session: a process that outlives this one (killed) is found by this file
            # and stopped by whoever cleans the cloud's folder (image_repair.cli.local_session).
            pid_file = home / (invocation.id + ".pid")
            pid_file.write_text("%d\n" % process.pid)
            try:
                output, _ = process.communicate(timeout=invocation.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                return None, process.communicate()[0], True
            finally:
                pid_file.unlink(missing_ok=True)
            return process.returncode, output, False

        def done(result, failure):
            exit_code, output, timed_out = result if failure is None else (1, "%s\n" % failure, False)
            backend.finish_record(invocation, record, exit_code, output, timed_out)
        self._background("%s on %s" % (invocation.id, instance.id), work, done)
        return RUNNING

    def _namespace_prelude(self, instance, home: Path) -> str:
        """Shell run inside the instance's mount namespace before the command."""
        lines = ["set -e", "mount -t tmpfs tmpfs /dev/disk", "mkdir -p /dev/disk/by-id"]
        for disk in self.backend.disks.values():
            device = self.loops.get(disk.id)
            if disk.instance_id == instance.id and device:
                lines.append("ln -s %s /dev/disk/by-id/virtio-%s" % (device, shlex.quote(disk.serial)))
        for directory in sorted({os.path.dirname(p) for p in instance.files}, key=len):
            if not os.path.isdir(directory):
                raise ValueError("SendFile target directory %s does not exist on this host" % directory)
            own = home / "files" / directory.lstrip("/")
            own.mkdir(parents=True, exist_ok=True)
            lines.append("mount --bind %s %s" % (shlex.quote(str(own)), shlex.quote(directory)))
        for path, data in instance.files.items():
            target = home / "files" / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        lines.append("set +e")
        return "\n".join(lines) + "\n"


def report_to_items(report: dict) -> List[CheckItem]:
    """check-disk's report as DetectionOptions items: at-risk items carry RiskLevel/RiskCode.
    Names in the user guide's spelling; DescribeImages answers them in the seed's spelling."""
    if report.get("error"):
        return [CheckItem("SystemImage", "Invalid", "High", "SystemImage.%s" % report["error"].get("type", "Error"))]
    items = [CheckItem("SystemImage", "Supported")]
    for entry in report.get("items", []):
        name = check_item_name(entry["name"])
        if entry["status"] == "skipped":
            items.append(CheckItem(name, "UnSupported", entry.get("risk") or "High",
                                   "%s.AtRisk" % check_item_name(entry["name"], "bare")))
        elif entry["status"] in ("ok", "repaired"):
            items.append(CheckItem(name, "Supported"))
    dist = report.get("distribution") or {}
    for name, value in (("Platform", dist.get("platform")), ("OSVersion", dist.get("version")),
                        ("Architecture", dist.get("architecture")), ("BootMode", dist.get("boot_mode")),
                        ("KernelVersion", (dist.get("kernels") or [""])[0])):
        if value:
            items.append(CheckItem(name, value))
    return items
