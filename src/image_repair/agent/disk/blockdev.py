"""Block devices on the repair host: find the target disk by serial, and refuse disks in use.

Safety first: the agent writes to whole disks as root, so a disk that holds the running system or
any mounted filesystem (directly, through a partition, a device-mapper/md holder or a loop device
backed by it) is refused before anything is opened for writing. The sysfs and proc roots are
parameters so unit tests can build a fake tree.
"""
import fcntl
import os
import re
import stat
import struct

from .. import log
from ..errors import BadInput, RefusedDisk
from ..fileid import path_identity

# Block devices that are never the attached system disk of a repair job.
VIRTUAL_DISK_PREFIXES = ("loop", "ram", "zram", "dm-", "md", "sr", "fd", "nbd")


def _read(path, default=None):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return default


# -- finding the disk by serial -----------------------------------------------------------------
def _serial_candidates(serial):
    """Alibaba Cloud's disk serial is the disk ID without its "d-" prefix: accept both forms."""
    serial = serial.strip()
    candidates = [serial]
    if serial.startswith("d-") and len(serial) > 2:
        candidates.append(serial[2:])
    return candidates


def _sysfs_serial(sys_root, name):
    """The serial sysfs reports for disk ``name``: virtio /sys/block/vdX/serial, NVMe namespaces
    the controller's serial in device/serial, some SCSI drivers device/serial too."""
    for relative in ("serial", "device/serial"):
        value = _read(os.path.join(sys_root, "block", name, relative))
        if value:
            return value
    return None


def _by_id_matches(by_id_dir, candidates):
    """Whole disks whose /dev/disk/by-id link names end with the serial (virtio-SERIAL,
    nvme-MODEL_SERIAL, scsi-0QEMU_QEMU_HARDDISK_SERIAL); partition links (-partN) are skipped."""
    found = set()
    try:
        names = os.listdir(by_id_dir)
    except OSError:
        return found
    for name in names:
        if re.search(r"-part\d+$", name):
            continue
        for serial in candidates:
            if name.endswith("-" + serial) or name.endswith("_" + serial):
                found.add(os.path.basename(os.path.realpath(os.path.join(by_id_dir, name))))
    return found


def find_disk_by_serial(serial, sys_root="/sys", dev_root="/dev"):
    """The host device path (/dev/vdb) of the one whole disk whose serial is ``serial``."""
    if not serial or not serial.strip():
        raise BadInput("the disk serial is empty")
    candidates = _serial_candidates(serial)
    matches = set()
    block_dir = os.path.join(sys_root, "block")
    for name in sorted(os.listdir(block_dir)) if os.path.isdir(block_dir) else []:
        if name.startswith(VIRTUAL_DISK_PREFIXES):
            continue
        if _sysfs_serial(sys_root, name) in candidates:
            matches.add(name)
    matches |= _by_id_matches(os.path.join(dev_root, "disk", "by-id"), candidates)
    if not matches:
        raise RefusedDisk("no disk on this host has the serial %r (looked at %s/block/*/serial, "
                          "device/serial and %s/disk/by-id)" % (serial, sys_root, dev_root))
    if len(matches) > 1:
        raise RefusedDisk("the serial %r matches several disks (%s): refusing to guess"
                          % (serial, ", ".join(sorted(matches))))
    return os.path.join(dev_root, matches.pop())


# -- which devices are in use -----------------------------------------------------------------------
def _devnum(path):
    """"major:minor" of a block device path, or None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    return "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))


def sysfs_name(device, sys_root="/sys"):
    """(kernel name, is_partition) of a block device path, from /sys/dev/block/MAJ:MIN."""
    number = _devnum(device)
    if number is None:
        raise BadInput("%s is not a block device" % device)
    node = os.path.join(sys_root, "dev", "block", number)
    if not os.path.exists(node):
        raise BadInput("%s (%s) is not known to sysfs" % (device, number))
    return os.path.basename(os.path.realpath(node)), os.path.exists(os.path.join(node, "partition"))


def kernel_partitions(device, sys_root="/sys", dev_root="/dev"):
    """{(start byte, size bytes): "/dev/vdb1"} of the partitions the kernel made for ``device``.

    On a repair host the attached disk's partitions have nodes of their own; using them rather
    than offset loop devices lets the guest's tools (grub-probe) see a partition of a disk."""
    name, _is_partition = sysfs_name(device, sys_root)
    base = os.path.join(sys_root, "block", name)
    found = {}
    for entry in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        start = _read(os.path.join(base, entry, "start"))
        size = _read(os.path.join(base, entry, "size"))
        node = os.path.join(dev_root, entry)
        if entry.startswith(name) and start and size and os.path.exists(os.path.join(base, entry, "partition")) \
                and os.path.exists(node):
            found[(int(start) * 512, int(size) * 512)] = node   # sysfs counts 512-byte sectors
    return found


# LOOP_GET_STATUS64 and struct loop_info64 (linux/loop.h): the kernel's own record of what a
# loop device reads, by device and inode, whatever path it was attached through.
LOOP_GET_STATUS64 = 0x4C05
_LOOP_INFO64 = struct.Struct("=QQQQQIIII64s64s32sQQ")


def _kernel_dev(value):
    """A dev_t as the kernel hands it to userspace (new_encode_dev) -> Python's os.makedev form."""
    major = (value & 0xfff00) >> 8
    minor = (value & 0xff) | ((value >> 12) & 0xfff00)
    return os.makedev(major, minor)


def _loop_status_identity(node):
    """file_identity of the backing of loop device ``node`` from LOOP_GET_STATUS64, or None."""
    try:
        if not stat.S_ISBLK(os.stat(node).st_mode):
            return None
        fd = os.open(node, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        raw = fcntl.ioctl(fd, LOOP_GET_STATUS64, bytes(_LOOP_INFO64.size))
    except (IOError, OSError):
        return None
    finally:
        os.close(fd)
    lo_device, lo_inode, lo_rdevice = _LOOP_INFO64.unpack(raw)[:3]
    if lo_rdevice:
        return ("block", _kernel_dev(lo_rdevice))
    return ("file", _kernel_dev(lo_device), lo_inode)


def loop_backing_identity(name, sys_root="/sys", dev_root="/dev"):
    """file_identity of what loop device ``name`` reads (a file or a block device); None when the
    loop is not bound or its backing cannot be found.

    The kernel's record (LOOP_GET_STATUS64) comes first: sysfs' backing_file is only a path, as
    seen from the process that reads it. The ioctl needs an open of the loop device, which is
    skipped for autoclear loops (``mount -o loop``): their last close detaches them."""
    loop_dir = os.path.join(sys_root, "block", name, "loop")
    if not os.path.isdir(loop_dir):
        return None
    if _read(os.path.join(loop_dir, "autoclear")) != "1":
        identity = _loop_status_identity(os.path.join(dev_root, name))
        if identity is not None:
            return identity
    backing = _read(os.path.join(loop_dir, "backing_file"))
    if not backing:
        return None
    return path_identity(re.sub(r" \(deleted\)$", "", backing))


def loops_backed_by(identities, sys_root="/sys", dev_root="/dev"):
    """Loop devices (kernel names) reading one of ``identities`` (file_identity values)."""
    block_dir = os.path.join(sys_root, "block")
    found = []
    for name in sorted(os.listdir(block_dir)) if os.path.isdir(block_dir) else []:
        if name.startswith("loop") and loop_backing_identity(name, sys_root, dev_root) in identities:
            found.append(name)
    return found


def _node_identities(names, sys_root, dev_root):
    """Identities of block devices by kernel name: their device number from sysfs, and whatever
    their /dev node is (the same device on a real host; a plain file in a fake test tree)."""
    identities = set()
    for name in names:
        number = _read(os.path.join(sys_root, "class", "block", name, "dev")) or \
            _read(os.path.join(sys_root, "block", name, "dev"))
        if number and re.match(r"^\d+:\d+$", number):
            major, minor = number.split(":")
            identities.add(("block", os.makedev(int(major), int(minor))))
        identity = path_identity(os.path.join(dev_root, name))
        if identity is not None:
            identities.add(identity)
    return identities


def holders_of(name, sys_root="/sys"):
    """Kernel names holding disk ``name`` or one of its partitions (device-mapper, md, bcache)."""
    base = os.path.join(sys_root, "block", name)
    held = []
    folders = [base] + [os.path.join(base, entry) for entry in sorted(os.listdir(base)) if os.path.isdir(base)
                        and entry.startswith(name) and os.path.exists(os.path.join(base, entry, "partition"))]
    for folder in folders:
        holders = os.path.join(folder, "holders")
        held.extend(sorted(os.listdir(holders)) if os.path.isdir(holders) else [])
    return held


def disk_users(name, sys_root="/sys", dev_root="/dev"):
    """{"major:minor": kernel name} of disk ``name``, its partitions, and everything stacked on
    them: holders (device-mapper, md) and loop devices backed by them, recursively."""
    users = {}
    pending = [name]
    while pending:
        current = pending.pop()
        base = os.path.join(sys_root, "class", "block", current)
        if not os.path.exists(base):
            base = os.path.join(sys_root, "block", current)
        number = _read(os.path.join(base, "dev"))
        if not number or number in users:
            continue
        users[number] = current
        nodes = [current]
        for entry in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            if entry.startswith(current) and os.path.exists(os.path.join(base, entry, "partition")):
                pending.append(entry)
                nodes.append(entry)
        holders = os.path.join(base, "holders")
        pending.extend(sorted(os.listdir(holders)) if os.path.isdir(holders) else [])
        pending.extend(loops_backed_by(_node_identities(nodes, sys_root, dev_root), sys_root, dev_root))
    return users


def unescape_mount_field(field):
    """Decode mountinfo's octal escapes (\\040 is a space)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mounted_devices(proc_root="/proc"):
    """[(major:minor set, mount point, source)] of every mount and active swap of this host.

    mountinfo's major:minor is the filesystem's device, except on btrfs (an anonymous 0:N): the
    mount source's own device number is added so btrfs is caught too."""
    mounts = []
    with open(os.path.join(proc_root, "self", "mountinfo")) as handle:
        for line in handle:
            fields = line.split()
            if " - " not in line or len(fields) < 5:
                continue
            after = line.split(" - ", 1)[1].split()
            source = unescape_mount_field(after[1]) if len(after) > 1 else ""
            numbers = set([fields[2]])
            if source.startswith("/"):
                numbers.add(_devnum(source))
            mounts.append((numbers - set([None]), unescape_mount_field(fields[4]), source))
    swaps = _read(os.path.join(proc_root, "swaps"), "")
    for line in swaps.splitlines()[1:]:
        if line.split():
            source = unescape_mount_field(line.split()[0])
            mounts.append((set([_devnum(source)]) - set([None]), "[swap]", source))
    return mounts


def refuse_if_in_use(users, what, proc_root="/proc"):
    """RefusedDisk if any device of ``users`` ({major:minor: name}) is mounted or swapped on."""
    for numbers, mountpoint, source in mounted_devices(proc_root):
        busy = numbers & set(users)
        if busy:
            device = users[sorted(busy)[0]]
            if mountpoint == "/":
                raise RefusedDisk("%s holds the running system's root filesystem (%s): refusing to touch it"
                                  % (what, device))
            raise RefusedDisk("%s is in use: %s is mounted on %s (source %s); unmount it first"
                              % (what, device, mountpoint, source))


def check_block_device(device, sys_root="/sys", dev_root="/dev", proc_root="/proc"):
    """Validate a whole-disk block device target; RefusedDisk when anything on it is in use."""
    name, is_partition = sysfs_name(device, sys_root)
    if is_partition:
        raise BadInput("%s is a partition; give the whole disk" % device)
    users = disk_users(name, sys_root, dev_root)
    refuse_if_in_use(users, "disk %s" % device, proc_root)
    return name


def check_image_file(path, sys_root="/sys", dev_root="/dev", proc_root="/proc", what=None):
    """RefusedDisk when the file ``path`` is attached to a loop device that (or a device on it) is
    mounted or swapped on. Loops are matched by the file's device and inode, so an attachment
    through a hard link, a symlink or a bind-mounted path counts.

    An attached but unused loop is only logged: it cannot see writes made through another loop
    any differently than through the file itself."""
    what = what or "image %s" % path
    identity = path_identity(path)
    for loop in loops_backed_by(set([identity]) if identity else set(), sys_root, dev_root):
        refuse_if_in_use(disk_users(loop, sys_root, dev_root), "%s (attached to /dev/%s)" % (what, loop), proc_root)
        log.warn("%s is attached to /dev/%s (not mounted); carrying on", path, loop)
