"""Owning a disk for the whole run, so two runs never work on one disk at once.

Every file and device a run reads or writes is locked with ``flock()`` on an open file
description held until the run ends: exclusively by a repair, shared by a check or a dry run
(checks may run side by side; a repair excludes everything else). A block device is locked
through its canonical node ``/dev/<kernel name>`` (the node udev and ``udevadm lock`` use, see
https://systemd.io/BLOCK_DEVICE_LOCKING/), so another node for the same device cannot dodge it;
it is also opened with ``O_EXCL``, which the kernel refuses (EBUSY) while the device, or a
partition of it, is mounted, an active swap, held by device-mapper or md, or opened exclusively
by anyone else. The lock is taken first and every in-use check made after it, so nothing can
start using the disk between the check and the work.

Two more signs that a file is in use are looked for: a ``flock()`` by another run (named with its
process from /proc/locks) and the byte-range locks qemu takes on the images it has open (a running
VM; bytes 100-299, see qemu's block/file-posix.c ``RAW_LOCK_PERM_BASE``/``RAW_LOCK_SHARED_BASE``).
"""
import errno
import fcntl
import os
import stat
import struct
import time

from .. import log
from ..errors import BadInput, RefusedDisk
from ..fileid import file_identity
from . import blockdev

# udev holds a shared flock on a disk while it probes it (a fraction of a second): a busy block
# device lock is tried again a few times before it counts as held.
BLOCK_LOCK_TRIES = 10
BLOCK_LOCK_PAUSE = 0.2

# fcntl's F_OFD_GETLK (Linux 3.15; Python names it only from 3.9) and struct flock on 64-bit Linux.
F_OFD_GETLK = getattr(fcntl, "F_OFD_GETLK", 36)
_FLOCK = struct.Struct("hhqqi4x")
QEMU_LOCK_START, QEMU_LOCK_LENGTH = 100, 200

BLKROGET = 0x125E  # linux/fs.h: is the block device read-only?


def _cmdline(pid, proc_root="/proc"):
    try:
        with open(os.path.join(proc_root, str(pid), "cmdline"), "rb") as handle:
            words = handle.read().split(b"\0")
    except (IOError, OSError):
        return None
    text = " ".join(" ".join(w.decode("utf-8", "replace").split()) for w in words if w)  # one line
    return text[:160] + ("..." if len(text) > 160 else "")


def flock_holders(st, proc_root="/proc"):
    """[(pid, "WRITE" or "READ")] of the flock() locks on the inode of ``st`` (/proc/locks)."""
    key = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    holders = []
    try:
        with open(os.path.join(proc_root, "locks")) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return holders
    for line in lines:
        fields = line.split()
        # "12: FLOCK  ADVISORY  WRITE 4242 fe:00:1450232 0 EOF"; "12: -> FLOCK ..." is a waiter
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == key:
            holders.append((int(fields[4]) if fields[4].isdigit() else 0, fields[3]))
    return holders


def describe_holders(st, proc_root="/proc"):
    """"process 4242 (python3 -m image_repair repair-disk disk.img), exclusively (a repair)", or a
    vaguer line when /proc/locks does not say (another PID namespace)."""
    named = []
    for pid, kind in flock_holders(st, proc_root):
        if pid == os.getpid():
            continue
        role = "exclusively (a repair)" if kind == "WRITE" else "shared (a check or a dry run)"
        command = _cmdline(pid, proc_root) if pid > 0 else None
        named.append("process %d%s, %s" % (pid, " (%s)" % command if command else "", role)
                     if pid > 0 else "another process, %s" % role)
    return "; ".join(named) if named else "another process"


def qemu_lock_conflict(fd):
    """True when some process holds a byte-range lock where qemu keeps its image locks: a running
    VM or qemu tool has the file open. Works on a read-only descriptor (F_OFD_GETLK only asks)."""
    request = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, QEMU_LOCK_START, QEMU_LOCK_LENGTH, 0)
    try:
        answer = fcntl.fcntl(fd, F_OFD_GETLK, request)
    except (IOError, OSError) as error:
        log.warn("could not ask for byte-range locks (%s); a running qemu would go unnoticed", error)
        return False
    return _FLOCK.unpack(answer)[0] != fcntl.F_UNLCK


class DiskClaim(object):
    """The locks and exclusive opens of one run, released together by :meth:`release`."""

    def __init__(self, exclusive):
        self.exclusive = exclusive
        self._locked = {}     # identity -> fd holding the flock
        self._exclusive = []  # fds of O_EXCL block device opens

    @property
    def identities(self):
        return set(self._locked)

    def lock_file(self, path, what, exclusive=None, proc_root="/proc"):
        """flock() the regular file ``path`` (by default exclusive for a repair, shared otherwise;
        ``exclusive=False`` for files only read) and return its stat. RefusedDisk when another run
        holds it, or a qemu has it open."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
        st = os.fstat(fd)
        if file_identity(st) in self._locked:  # reached twice (a vmdk's only extent is itself)
            os.close(fd)
            return st
        try:
            self._flock(fd, st, what, tries=1, exclusive=exclusive, proc_root=proc_root)
            if qemu_lock_conflict(fd):
                raise RefusedDisk("%s is in use: a process holds qemu's image locks on it (a running VM "
                                  "or qemu tool); stop it first" % what)
        except BaseException:
            os.close(fd)
            raise
        self._locked[file_identity(st)] = fd
        return st

    def lock_block_device(self, device, what, sys_root="/sys", dev_root="/dev"):
        """flock() the canonical node of block device ``device``, then open it with O_EXCL
        (held until :meth:`release_exclusive_opens`). RefusedDisk when either says it is in use,
        or when the kernel marks the device read-only and this run would write."""
        rdev = os.stat(device).st_rdev
        name, _partition = blockdev.sysfs_name(device, sys_root)
        node = os.path.join(dev_root, name)
        try:
            canonical = os.stat(node)
            if not (stat.S_ISBLK(canonical.st_mode) and canonical.st_rdev == rdev):
                node = device
        except OSError:
            node = device
        fd = _open_device(node, os.O_RDONLY, what)
        try:
            self._flock(fd, os.fstat(fd), what, tries=BLOCK_LOCK_TRIES)
        except BaseException:
            os.close(fd)
            raise
        self._locked[("block", rdev)] = fd
        try:
            exclusive_fd = _open_device(device, os.O_RDONLY | os.O_EXCL, what)
        except OSError as error:
            if error.errno != errno.EBUSY:
                raise
            self._refuse_busy_device(device, name, node, what, sys_root, dev_root)
        if self.exclusive and _read_only_device(exclusive_fd):
            os.close(exclusive_fd)
            raise RefusedDisk("%s is a read-only block device: it cannot be repaired in place" % what)
        self._exclusive.append(exclusive_fd)

    def _refuse_busy_device(self, device, name, node, what, sys_root, dev_root):
        """RefusedDisk for a device the kernel will not open exclusively, saying why when known:
        a mount or swap (the same message as the in-use check), another run, device-mapper or md."""
        blockdev.check_block_device(device, sys_root, dev_root)
        others = [pid for pid, _kind in flock_holders(os.stat(node)) if pid != os.getpid()]
        if others:
            raise RefusedDisk("%s is in use by another run: %s" % (what, describe_holders(os.stat(node))))
        holders = blockdev.holders_of(name, sys_root)
        raise RefusedDisk("%s is in use: the kernel refuses an exclusive open (%s)"
                          % (what, "held by " + ", ".join(holders) if holders else
                             "held by device-mapper or md, or opened exclusively by another program"))

    def _flock(self, fd, st, what, tries, exclusive=None, proc_root="/proc"):
        exclusive = self.exclusive if exclusive is None else exclusive
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        for attempt in range(tries):
            try:
                fcntl.flock(fd, mode)
                return
            except (IOError, OSError) as error:
                if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if attempt + 1 < tries:
                    time.sleep(BLOCK_LOCK_PAUSE)
        raise RefusedDisk("%s is in use by another run: locked by %s; try again when it has finished"
                          % (what, describe_holders(st, proc_root)))

    def release_exclusive_opens(self):
        """Close the O_EXCL opens: the guest's partitions are about to be mounted, and the kernel
        lets nobody (us included) mount a partition of a disk opened exclusively. The flocks stay."""
        while self._exclusive:
            os.close(self._exclusive.pop())

    def release(self):
        """Give everything up (idempotent)."""
        self.release_exclusive_opens()
        while self._locked:
            _identity, fd = self._locked.popitem()
            os.close(fd)

    def __del__(self):  # a claim dropped without release() must not keep disks locked
        try:
            self.release()
        except Exception:
            pass


def _open_device(path, flags, what):
    """os.open of a block device; BadInput when this host does not let us open it at all."""
    try:
        return os.open(path, flags | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as error:
        if error.errno in (errno.EPERM, errno.EACCES):
            raise BadInput("%s cannot be opened here: %s" % (what, error.strerror))
        raise


def _read_only_device(fd):
    try:
        return struct.unpack("i", fcntl.ioctl(fd, BLKROGET, struct.pack("i", 0)))[0] != 0
    except (IOError, OSError):
        return False
