"""One command's in-process local cloud (``--image-file``), and what it leaves behind.

The local cloud (emulator/localcloud.py) lives in this process: its instances, disks and snapshots
die with it. So that nothing is lost or left half-done, each run:

* works in a folder of its own, ``CLOUD_DIR/runs/run-XXXX``, holding an exclusive lock on
  ``run.lock`` for its whole life (the lock dies with the process, even on SIGKILL);
* starts by reaping the folders of dead runs (their lock is free): it stops the repair commands
  they left running (pid files, checked against the process's working folder), detaches the
  loop devices backed by their files, and deletes the folder;
* gives the registered image an id derived from the file's identity (path, device, inode, size,
  modification time), so the same unchanged file with the same parameters is the same execution,
  and another file or a changed one a new execution;
* on the way out (success, failure, an exception, Ctrl-C or SIGTERM) stops its commands, detaches
  its loop devices and deletes its folder; only the new image's disk file is kept, moved to
  ``CLOUD_DIR/images/<execution id>.img`` by ``publish``.

``ScaledClock`` is the flow's clock on a local cloud: the emulator's clock moves by the whole
wait, real time by ``time_scale`` of it, except while the local cloud has real work in progress
(a disk copy, a check, a repair command): then the wait lasts until that work is done, up to the
whole wait, as on ECS. So a small scale speeds a run up but never makes it time out.
"""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

RUNS = "runs"
IMAGES = "images"
LOCK = "run.lock"


class ScaledClock:
    def __init__(self, backend, scale: float):
        self.backend, self.scale = backend, scale

    def now(self) -> float:
        return self.backend.clock.now()

    def sleep(self, seconds: float) -> None:
        started = time.monotonic()
        cloud = getattr(self.backend, "local", None)
        if cloud is not None:
            cloud.wait_idle(seconds)            # real work takes real time, as on ECS
        rest = seconds * self.scale - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)
        self.backend.advance(seconds)

    __call__ = now


def progress(message: str) -> None:
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), message))
    sys.stderr.flush()


def image_identity(path: str) -> str:
    """What makes a disk image file "the same image": where it is and which version of it."""
    info = os.stat(path)
    return "%s|%d|%d|%d|%d" % (os.path.realpath(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def lock_is_free(lock_file: str) -> Optional[bool]:
    """True when nobody holds the run lock (its process is gone), False when a process holds
    it, None when there is no such file."""
    try:
        handle = os.open(lock_file, os.O_RDWR)
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(handle)      # closing releases a lock we took
    return True


class LocalSession:
    """``with LocalSession(cloud_dir, image_file, platform, time_scale, settings) as session:`` -> the
    backend, the cloud, the registered ``image_id``, a ``store`` on the cloud's clock, an ``ecs``
    port and the flow ``clock``; see the module's doc for what it cleans."""

    def __init__(self, cloud_dir: str, image_file: str, platform: Optional[str], time_scale: float, settings):
        self.cloud_dir = Path(cloud_dir)
        self.settings = settings              # control/settings.py: the command's store
        self.image_file, self.platform, self.time_scale = image_file, platform, time_scale
        self.folder: Optional[Path] = None
        self._lock_handle: Optional[int] = None
        self._mock = self.cloud = self.backend = self.store = None
        self._signals: dict = {}

    # ---- entering: reap the dead, take a folder, start the cloud, register the image ---------
    def __enter__(self) -> "LocalSession":
        from ..emulator.localcloud import LocalCloud
        from ..control.store import open_store
        from ..testing import mock_ecs
        runs = self.cloud_dir / RUNS
        runs.mkdir(parents=True, exist_ok=True)
        # One command at a time reaps and starts (a folder just made has its lock at once).
        guard = os.open(str(runs / ".reap.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            for message in reap_dead_runs(runs):
                progress(message)
            self.folder = Path(tempfile.mkdtemp(prefix="run-", dir=str(runs)))
            self._lock_handle = os.open(str(self.folder / LOCK), os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.write(self._lock_handle, b"%d\n" % os.getpid())
        finally:
            os.close(guard)
        self._catch_signals()
        try:
            self._mock = mock_ecs()
            self.backend = self._mock.__enter__()
            self.backend.rng.seed("image-repair local image|" + image_identity(self.image_file))
            self.cloud = LocalCloud(self.backend, str(self.folder))
            self.image_id = self.cloud.add_image(self.image_file, name=os.path.basename(self.image_file),
                                                 platform=self.platform)
            progress("local cloud in %s: %s registered as %s" % (self.folder, self.image_file, self.image_id))
            self.store = open_store(self.settings.store_settings(), clock=self.backend.clock.now)
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    @property
    def lock_file(self) -> str:
        return str(self.folder / LOCK)

    @property
    def ecs(self):
        from ..control.clients.ecs import EcsPort
        from ..testing import ecs_client
        return EcsPort(ecs_client(self.backend), self.backend.region)

    @property
    def clock(self) -> ScaledClock:
        return ScaledClock(self.backend, self.time_scale)

    def defaults(self) -> dict:
        from .cloud_target import emulator_defaults
        return emulator_defaults(self.backend.seed_data)

    def seed_for(self, execution_id: str) -> None:
        """The ids of the execution's resources follow from its id (distinct executions never
        share instance, disk or snapshot ids, in their reports or anywhere)."""
        self.backend.rng.seed("image-repair local execution|" + execution_id)

    def new_image_file(self, image_id: str) -> Optional[str]:
        """The system-disk file of a new image of this cloud (None: no such image or file)."""
        image = self.backend.images.get(image_id or "")
        if image is None:
            return None
        system = next((m for m in image.mappings if m.type == "system"), None)
        snapshot = self.backend.snapshots.get(system.snapshot_id or "") if system else None
        return getattr(snapshot, "backing_file", None)

    def publish(self, source: str, name: str) -> str:
        """Move ``source`` (a file of this run) to CLOUD_DIR/images/NAME, never replacing a file."""
        images = self.cloud_dir / IMAGES
        images.mkdir(parents=True, exist_ok=True)
        target = images / name
        os.link(source, str(target))             # FileExistsError rather than a replaced file
        return str(target)

    # ---- leaving: stop, detach, delete ------------------------------------------------------
    def __exit__(self, kind, error, trace) -> None:
        try:
            if kind is not None and self.folder is not None:
                stop_commands(self.folder)        # a repair command would hold close() for minutes
            if self.cloud is not None:
                self.cloud.close()
            if self._mock is not None:
                self._mock.__exit__(None, None, None)
            if self.store is not None:
                self.store.close()
        finally:
            self._restore_signals()
            if self.folder is not None:
                for message in clean_run_folder(self.folder):
                    progress(message)
            if self._lock_handle is not None:
                os.close(self._lock_handle)

    def _catch_signals(self) -> None:
        """SIGTERM and SIGHUP end the run like Ctrl-C: the same clean-up on the way out."""
        def interrupt(signum, frame):
            raise KeyboardInterrupt("signal %d" % signum)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            try:
                self._signals[signum] = signal.signal(signum, interrupt)
            except ValueError:        # not the main thread: signals stay as they are
                return

    def _restore_signals(self) -> None:
        for signum, previous in self._signals.items():
            signal.signal(signum, previous)
        self._signals = {}


# ---- what a run leaves: found by its folder, cleaned by the next run --------------------------
def reap_dead_runs(runs: Path) -> List[str]:
    """Clean the folder of every run whose lock is free (its process died); -> messages."""
    messages = []
    for folder in sorted(runs.glob("run-*")):
        if not folder.is_dir() or lock_is_free(str(folder / LOCK)) is False:
            continue
        pid = (folder / LOCK).read_text().strip() if (folder / LOCK).exists() else "?"
        messages.append("cleaning up after an interrupted local-cloud run (process %s, %s)" % (pid or "?", folder))
        messages.extend(clean_run_folder(folder))
    return messages


def clean_run_folder(folder: Path) -> List[str]:
    """Stop the folder's commands, detach its loop devices, delete it; -> what could not be done."""
    stop_commands(folder)
    problems = detach_loops(folder)
    shutil.rmtree(str(folder), ignore_errors=True)
    if folder.exists():
        problems.append("could not delete %s" % folder)
    return problems


def stop_commands(folder: Path) -> None:
    """SIGKILL the process group of every command the local cloud started in ``folder``: its pid
    file names it, and its working folder must still be in ``folder`` (a reused pid is not ours)."""
    for pid_file in folder.glob("instances/*/*.pid"):
        try:
            pid = int(pid_file.read_text().strip())
            cwd = os.readlink("/proc/%d/cwd" % pid)
        except (OSError, ValueError):
            continue                              # gone already
        if cwd.startswith(str(folder) + os.sep):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                continue
            wait_gone(pid)


def wait_gone(pid: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while os.path.exists("/proc/%d" % pid) and time.monotonic() < deadline:
        time.sleep(0.1)


def detach_loops(folder: Path) -> List[str]:
    """Detach every loop device backed by a file in ``folder`` and those stacked on them (the
    agent's partition loops over a disk, named /dev/loopN or, seen from its mount namespace,
    /loopN), outermost first, with the agent's /dev/image-repair-loopN alias of each; -> the
    devices that would not detach."""
    try:
        listed = subprocess.run(["losetup", "--list", "--json", "--output", "NAME,BACK-FILE"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
        devices = json.loads(listed.stdout or "{}").get("loopdevices", [])
    except (OSError, ValueError):
        return []
    backing = {d["name"]: (d.get("back-file") or "").replace(" (deleted)", "") for d in devices}
    ours = [name for name, back in backing.items() if back.startswith(str(folder) + os.sep)]
    layer = ours
    while layer:             # loops on our loops, then loops on those...
        names = {"/dev/" + os.path.basename(n) for n in layer} | {"/" + os.path.basename(n) for n in layer}
        layer = [name for name, back in backing.items() if back in names and name not in ours]
        ours = layer + ours
    problems = []
    for name in ours:
        if subprocess.run(["losetup", "-d", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            problems.append("loop device %s would not detach (in use?): 'losetup -d %s' once it is free" % (name, name))
        remove_alias(name)
    return problems


def remove_alias(device: str) -> None:
    """The agent's second node for a loop device it mounted from (agent/disk/mounts.block_alias),
    left in /dev when the agent was killed: removed when it still names that device."""
    alias = "/dev/image-repair-" + os.path.basename(device)
    try:
        if os.stat(alias).st_rdev == os.stat(device).st_rdev:
            os.unlink(alias)
    except OSError:
        return
