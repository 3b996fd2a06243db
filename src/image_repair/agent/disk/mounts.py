"""A stack of everything the disk layer sets up on the host, undone in reverse, always.

Mounts, loop devices, device-mapper tables, temporary directories and files: each is pushed with
the action that undoes it. ``close()`` runs on success, on exceptions and on SystemExit (cli.py
turns SIGTERM into SystemExit), with those signals blocked so a second one cannot interrupt the
cleanup half-way. Filesystems are flushed (sync) before loop devices are detached.
"""
import os
import re
import shutil
import signal
import stat
import tempfile
import time

from .. import log, runner
from ..errors import AgentError, CommandFailed
from .blockdev import unescape_mount_field

UMOUNT_TRIES = 5
UMOUNT_PAUSE = 0.5  # seconds between tries; a chrooted process may still be exiting
_CLEANUP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
_LOOP_DEVICE = re.compile(r"^/dev/loop\d+$")


def umount(target):
    """Unmount ``target``; retry while busy, and only as a last resort detach it lazily (logged)."""
    output = ""
    for attempt in range(UMOUNT_TRIES):
        status, output = runner.run(["umount", target], check=False)
        if status == 0:
            return
        time.sleep(UMOUNT_PAUSE * (attempt + 1))
    log.warn("umount %s still fails (%s); detaching it lazily (umount -l)", target, output.strip())
    runner.run(["umount", "-l", target])


def detach_loop(device):
    for attempt in range(UMOUNT_TRIES):
        status, output = runner.run(["losetup", "-d", device], check=False)
        if status == 0:
            return
        time.sleep(UMOUNT_PAUSE * (attempt + 1))
    raise CommandFailed(["losetup", "-d", device], status, output)


class MountStack(object):
    def __init__(self):
        self._undo = []  # [(description, callable)], undone last first

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
            return False
        try:
            self.close()
        except AgentError as error:  # do not hide the error that got us here
            log.warn("%s", error)
        return False

    def push(self, description, undo):
        self._undo.append((description, undo))

    # -- resources ------------------------------------------------------------------------------
    def temp_dir(self, prefix="image-repair-", parent=None):
        path = tempfile.mkdtemp(prefix=prefix, dir=parent)
        self.push("temporary directory %s" % path, lambda: remove_temp_dir(path))
        return path

    def mount(self, source, target, fstype=None, options=None, bind=False):
        argv = ["mount"]
        if bind:
            argv.append("--bind")
        if fstype:
            argv += ["-t", fstype]
        if options:
            argv += ["-o", options]
        runner.run(argv + [source, target])
        self.push("mount %s" % target, lambda: umount(target))
        return target

    def attach_loop(self, backing, offset=0, size=None, read_only=False):
        """A loop device on ``backing`` (file or block device) from byte ``offset`` for ``size``
        bytes. No partition scan: partitions get their own offset loop devices."""
        argv = ["losetup", "--find", "--show"]
        if read_only:
            argv.append("--read-only")
        if offset:
            argv += ["--offset", str(offset)]
        if size:
            argv += ["--sizelimit", str(size)]
        _status, output = runner.run(argv + [backing])
        device = output.strip().splitlines()[-1]
        if not device.startswith("/dev/"):
            raise AgentError("losetup printed no device: %r" % output)
        self.push("loop device %s" % device, lambda: detach_loop(device))
        return device

    def block_alias(self, device):
        """A second block node for a loop ``device`` (/dev/image-repair-loopN), to mount from.

        Debian's and RHEL's /etc/grub.d/10_linux map a root on /dev/loop[0-9] to its backing file
        and, for a file, write no menu entry at all; mounted from another node name the guest's own
        grub-mkconfig works on image files too. Other devices are returned unchanged."""
        if not _LOOP_DEVICE.match(device):
            return device
        alias = "/dev/image-repair-" + os.path.basename(device)
        if os.path.lexists(alias):
            os.unlink(alias)  # left by a killed run; the number is ours now
        os.mknod(alias, 0o600 | stat.S_IFBLK, os.stat(device).st_rdev)
        self.push("device node %s" % alias, lambda: os.path.lexists(alias) and os.unlink(alias))
        return alias

    # -- undo ---------------------------------------------------------------------------------
    def close(self):
        """Undo everything in reverse order; every step runs even if one fails (then AgentError)."""
        if not self._undo:
            return
        blocked = _block_signals()
        failures = []
        try:
            os.sync()
            while self._undo:
                description, undo = self._undo.pop()
                if description.startswith("loop device"):
                    os.sync()  # flush the filesystem's writes before the device under it goes
                try:
                    undo()
                except Exception as error:  # keep going: one stuck mount must not leak the rest
                    log.warn("could not undo %s: %s", description, error)
                    failures.append(description)
        finally:
            _restore_signals(blocked)
        if failures:
            raise AgentError("cleanup incomplete, still present: %s" % ", ".join(failures))


def mounts_below(path, mountinfo="/proc/self/mountinfo"):
    """Mount points at or below ``path`` (from mountinfo, octal escapes decoded)."""
    path = os.path.realpath(path)
    found = []
    with open(mountinfo) as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 4:
                point = unescape_mount_field(fields[4])
                if point == path or point.startswith(path + "/"):
                    found.append(point)
    return found


def remove_temp_dir(path):
    """Remove one of our temporary folders, but never through a filesystem still mounted in it:
    a mount whose umount failed would otherwise have the guest's files deleted."""
    if not os.path.isdir(path):
        return
    still = mounts_below(path)
    if still:
        raise AgentError("not removing %s: %s still mounted there" % (path, ", ".join(still)))
    shutil.rmtree(path)


def _block_signals():
    try:
        return signal.pthread_sigmask(signal.SIG_BLOCK, _CLEANUP_SIGNALS)
    except (AttributeError, ValueError, OSError):
        return None


def _restore_signals(previous):
    if previous is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def probe(device, offset=None, size=None):
    """blkid's low-level probe of ``device`` (from byte ``offset`` for ``size`` bytes, so a partition
    is probed without a loop device): {"TYPE": "ext4", "UUID": ..., "LABEL": ...}; {} when nothing
    is recognised. No cache: a cloned disk must not be confused with the host's."""
    argv = ["blkid", "-p", "-o", "export"]
    if offset is not None:
        argv += ["--offset", str(offset), "--size", str(size)]
    status, output = runner.run(argv + [device], check=False)
    if status not in (0, 2):
        log.warn("blkid -p %s failed (exit %d): %s", device, status, output.strip())
    values = {}
    if status == 0:
        for line in output.splitlines():
            if "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values
