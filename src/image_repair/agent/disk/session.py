"""The disk layer's entry points: validate a target, then open the guest on it.

``resolve_target`` makes every check and refusal before anything is created or written (missing
path, not a disk, unknown format, a disk or image in use, a serial matching none or several
disks, an --output that exists). ``open_guest`` then maps the disk, finds and mounts the guest,
and on the way out (success, exception, SystemExit) unmounts everything, flushes, detaches every
loop device and mapping, and for non-raw images converts the repaired disk back.
"""
import contextlib
import os
import stat

from .. import log
from ..errors import AgentError, BadInput
from . import blockdev, chroot, guestmount, imagefile, volumes
from .mounts import MountStack
from .partitions import disk_size, read_partition_table


class DiskTarget(object):
    """A validated disk: an image file ("image"), a block device ("block") or a disk found by its
    serial ("serial"), with the decisions open_guest needs."""

    def __init__(self, kind, path, fmt, size_bytes, serial=None, output=None, read_only=False):
        self.kind = kind
        self.path = path
        self.format = fmt
        self.size_bytes = size_bytes
        self.serial = serial
        self.output = output
        self.read_only = read_only

    def describe(self):
        return {"kind": self.kind, "path": self.path, "serial": self.serial, "format": self.format,
                "size_bytes": self.size_bytes, "output": self.output}


def resolve_target(path=None, serial=None, output=None, read_only=False):
    """Validate the disk to work on; BadInput/RefusedDisk (exit 2) before anything is written."""
    if bool(path) == bool(serial):
        raise BadInput("give exactly one of a disk path or a serial")
    if serial:
        if output:
            raise BadInput("--output applies to disk image files, not to a disk found by serial")
        device = blockdev.find_disk_by_serial(serial)
        blockdev.check_block_device(device)
        return DiskTarget("serial", device, "raw", disk_size(device), serial=serial,
                          read_only=read_only)
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise BadInput("%s does not exist" % path)
    mode = os.stat(path).st_mode
    if stat.S_ISBLK(mode):
        if output:
            raise BadInput("--output applies to disk image files, not to block device %s" % path)
        blockdev.check_block_device(path)
        return DiskTarget("block", path, "raw", disk_size(path), read_only=read_only)
    if not stat.S_ISREG(mode):
        raise BadInput("%s is neither a disk image file nor a block device" % path)
    fmt = imagefile.detect_format(path)
    if fmt != "raw":
        imagefile.ensure_qemu_img()
    size = imagefile.virtual_size(path, fmt)
    blockdev.check_image_file(path)
    if output:
        output = os.path.abspath(output)
        imagefile.check_output_path(output, path)
    if not read_only and not output and not os.access(path, os.W_OK):
        raise BadInput("%s is not writable" % path)
    return DiskTarget("image", path, fmt, size, output=output, read_only=read_only)


class MountedGuest(object):
    def __init__(self, root, layout, stack, read_only):
        self.root = root
        self.layout = layout
        self._stack = stack
        self._read_only = read_only
        self._prepared = False

    def prepare_chroot(self, facts):
        """Bind /dev, /proc, /sys, /run... under the root (see :mod:`.chroot`); once."""
        if self._prepared:
            return
        boot_mode = getattr(facts, "boot_mode", None) or self.layout.get("boot_mode_hint")
        chroot.prepare_chroot(self._stack, self.root, boot_mode, self.layout["filesystems"], self._read_only)
        self._prepared = True


@contextlib.contextmanager
def open_guest(target):
    """Map, find and mount the guest on ``target``; yield a MountedGuest; undo everything after."""
    read_only = target.read_only
    with MountStack() as files:
        backing, created = _working_copy(files, target)
        mounted_ok = False
        try:
            with MountStack() as stack:
                yield _mount_guest(stack, files, backing, target, read_only)
            mounted_ok = True
        finally:
            if not mounted_ok and created and os.path.exists(created):
                log.warn("removing the incomplete %s", created)
                os.unlink(created)
        if not read_only and target.format != "raw":
            _convert_back(files, backing, target)


def _working_copy(files, target):
    """(raw file or device the repair works on, a new file to remove if the run fails)."""
    if target.kind != "image":
        return target.path, None
    if target.format == "raw":
        if target.output and not target.read_only:
            try:
                imagefile.sparse_copy(target.path, target.output)
            except BaseException:  # a half-written copy (disk full, SIGTERM) must not stay
                if os.path.lexists(target.output):
                    os.unlink(target.output)
                raise
            return target.output, target.output
        return target.path, None
    scratch = files.temp_dir(prefix=".image-repair-", parent=imagefile.scratch_parent(target.output or target.path))
    raw = os.path.join(scratch, "disk.raw")
    imagefile.convert_to_raw(target.path, target.format, raw)
    return raw, None


def _convert_back(files, raw, target):
    destination = target.output or target.path
    temporary = destination + ".image-repair-new"
    if os.path.lexists(temporary):
        os.unlink(temporary)
    files.push("temporary %s" % temporary, lambda: os.path.lexists(temporary) and os.unlink(temporary))
    imagefile.convert_from_raw(raw, target.format, temporary, like=target.path)
    if target.output:
        os.rename(temporary, destination)
    else:
        imagefile.replace_file(temporary, destination)
    log.info("wrote the repaired disk as %s: %s", target.format, destination)


def _mount_guest(stack, files, backing, target, read_only):
    table = read_partition_table(backing)
    partition_nodes = None
    if target.kind != "image":
        disk_device = backing
        partition_nodes = blockdev.kernel_partitions(backing)
    else:
        disk_device = stack.attach_loop(backing, read_only=read_only)
    found, problems = volumes.discover(stack, backing, table, disk_device, read_only,
                                       partition_nodes=partition_nodes)
    scratch = stack.temp_dir()
    try:
        root_volume, subvol = guestmount.find_root(found, scratch)
    except AgentError as error:
        if problems and type(error) is AgentError:  # say why an LV that may hold it was not mapped
            raise AgentError("%s; LVs not mapped: %s" % (error, "; ".join(problems)))
        raise
    root = os.path.join(scratch, "root")
    os.mkdir(root)
    guestmount.mount_guest_fs(stack, root_volume.device, root, root_volume.fstype, read_only, subvol)
    resolved, mounted = guestmount.mount_fstab(stack, root, root_volume, found, read_only)
    layout = guestmount.build_layout(table, disk_device, found, root_volume, subvol, resolved, mounted)
    log.info("guest layout: %s", layout["summary"])
    return MountedGuest(root, layout, stack, read_only)
