"""The disk layer's entry points: validate and claim a target, then open the guest on it.

``resolve_target`` makes every check and refusal before anything is created or written (missing
path, not a disk, unknown format, an image chain naming what it must not, a disk or image in use,
a serial matching none or several disks, an --output that exists or is an input, a read-only
image), and claims the disk for the run (:mod:`.claim`): the lock is taken before the in-use
checks, so nothing can start using the disk in between. ``open_guest`` then maps the disk, finds
and mounts the guest, and on the way out (success, exception, SystemExit) unmounts everything,
flushes, detaches every loop device and mapping, writes the result (non-raw images converted back,
a copy published at --output) and releases the claim.
"""
import contextlib
import os
import stat

from .. import log, outputs
from ..errors import AgentError, BadInput
from ..fileid import file_identity, mode_text, owner_may_write, path_identity
from . import blockdev, chain, chroot, formats, guestmount, imagefile, volumes
from .claim import DiskClaim
from .mounts import MountStack
from .partitions import disk_size, read_partition_table


class DiskTarget(object):
    """A validated, claimed disk: an image file ("image"), a block device ("block") or a disk
    found by its serial ("serial"), with the decisions open_guest needs."""

    def __init__(self, kind, path, fmt, size_bytes, serial=None, output=None, read_only=False, force=False,
                 source=None, identity=None, node=None, chain_files=(), claim=None, inputs=None):
        self.kind = kind
        self.path = path                  # as the user named it (absolute)
        self.source = source or path      # what is worked on: symlinks resolved
        self.identity = identity          # file_identity of the claimed image file
        self.format = fmt
        self.size_bytes = size_bytes
        self.serial = serial
        self.output = output
        self.read_only = read_only
        self.force = force
        self.node = node                  # chain.ImageNode of a non-raw image
        self.chain = list(chain_files)    # [chain.ChainFile]
        self.claim = claim
        self.inputs = dict(inputs or {})  # {file identity: description}: never written as an output

    def describe(self):
        return {"kind": self.kind, "path": self.path, "serial": self.serial, "format": self.format,
                "size_bytes": self.size_bytes, "output": self.output,
                "chain": [member.describe() for member in self.chain]}

    def release(self):
        """Give up the claim on the disk (idempotent; open_guest does it on its way out)."""
        if self.claim is not None:
            self.claim.release()


def resolve_target(path=None, serial=None, output=None, read_only=False, force=False,
                   allow_backing_outside=False):
    """Validate and claim the disk to work on; BadInput/RefusedDisk (exit 2) before anything is
    written. The caller releases the target (open_guest does)."""
    if bool(path) == bool(serial):
        raise BadInput("give exactly one of a disk path or a serial")
    if serial:
        if output:
            raise BadInput("--output applies to disk image files, not to a disk found by serial")
        return _block_target("serial", blockdev.find_disk_by_serial(serial), read_only, serial=serial)
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise BadInput("%s does not exist" % path)
    mode = os.stat(path).st_mode
    if stat.S_ISBLK(mode):
        if output:
            raise BadInput("--output applies to disk image files, not to block device %s" % path)
        return _block_target("block", path, read_only)
    if not stat.S_ISREG(mode):
        raise BadInput("%s is neither a disk image file nor a block device" % path)
    return _image_target(path, output, read_only, force, allow_backing_outside)


def _block_target(kind, device, read_only, serial=None):
    blockdev.check_block_device(device)  # the clearest message for a disk in use, before opening it
    claim = DiskClaim(exclusive=not read_only)
    try:
        what = "disk %s" % device
        claim.lock_block_device(device, what)
        name = blockdev.check_block_device(device)  # again, now that nothing can start using it
        inputs = {("block", os.stat(device).st_rdev): "the disk %s" % device}
        backing = _loop_backing_file(name)
        if backing:
            # a run on a loop device and a run on the file behind it exclude each other
            st = claim.lock_file(backing, "%s (the file behind /dev/%s)" % (backing, name))
            inputs[file_identity(st)] = "the file behind %s" % device
        return DiskTarget(kind, device, "raw", disk_size(device), serial=serial, read_only=read_only,
                          claim=claim, inputs=inputs)
    except BaseException:
        claim.release()
        raise


def _loop_backing_file(name):
    """The regular file behind loop device ``name`` (checked by identity), or None."""
    if not name.startswith("loop"):
        return None
    identity = blockdev.loop_backing_identity(name)
    if not identity or identity[0] != "file":
        return None
    try:
        with open(os.path.join("/sys/block", name, "loop", "backing_file")) as handle:
            candidate = handle.read().strip()
    except (IOError, OSError):
        candidate = ""
    if candidate and path_identity(candidate) == identity:
        return candidate
    log.warn("the file behind /dev/%s is not reachable by its name here; it is not locked", name)
    return None


def _image_target(path, output, read_only, force, allow_backing_outside):
    source = os.path.realpath(path)
    # With --output the source is only read: a shared lock, like a check's.
    claim = DiskClaim(exclusive=not read_only and not output)
    try:
        st = claim.lock_file(source, "image %s" % path)
        fmt = formats.detect_format(source)
        node, chain_files = None, []
        inputs = {file_identity(st): "the image %s" % path}
        if fmt != "raw":
            imagefile.ensure_qemu_img()
            node, chain_files = chain.resolve_chain(source, fmt, allow_backing_outside)
            for member in chain_files:
                what = "%s %s of %s" % (member.role.replace("-", " "), member.path, member.of)
                inputs[file_identity(claim.lock_file(member.path, what, exclusive=False))] = "the " + what
                blockdev.check_image_file(member.path, what=what)
        blockdev.check_image_file(source, what="image %s" % path)
        size = imagefile.virtual_size(source, fmt, node)
        if not read_only and not output:
            _refuse_read_only_image(path, st, fmt, force)
        if output:
            output = outputs.check_destination(output, "--output", force)
            outputs.refuse_inputs(output, "--output", inputs)
        return DiskTarget("image", path, fmt, size, output=output, read_only=read_only, force=force,
                          source=source, identity=file_identity(st), node=node, chain_files=chain_files,
                          claim=claim, inputs=inputs)
    except BaseException:
        claim.release()
        raise


def _refuse_read_only_image(path, st, fmt, force):
    """An in-place repair writes the image (and, for non-raw formats, puts a new file in its
    folder): refused where the mode bits say read-only, as the user set them, even for root."""
    if not os.access(path, os.W_OK):
        raise BadInput("%s is not writable" % path)
    if not force and not owner_may_write(st):
        raise BadInput("%s is read-only (mode %s): not repaired in place; --force repairs it anyway, "
                       "--output repairs a copy" % (path, mode_text(st)))
    if fmt != "raw":
        outputs.check_folder_writable(os.path.dirname(os.path.realpath(path)),
                                      "repairing the %s image %s in place" % (fmt, path), force)


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
    """Map, find and mount the guest on ``target``; yield a MountedGuest; undo everything after,
    write the result, and release the target's claim."""
    read_only = target.read_only
    try:
        with MountStack() as files:
            staging = None
            if not read_only and (target.output or target.format != "raw"):
                # the finished file is made here, in the destination's folder, then renamed
                destination = target.output or target.source
                staging = files.temp_dir(prefix=outputs.TEMP_PREFIX, parent=os.path.dirname(destination))
            backing = _working_copy(files, target, staging)
            with MountStack() as stack:
                yield _mount_guest(stack, files, backing, target, read_only)
            if not read_only and target.format != "raw":
                backing = _convert_back(backing, target, staging)
            if not read_only and (target.output or target.format != "raw"):
                _put_in_place(backing, target)
    finally:
        target.release()


def _working_copy(files, target, staging):
    """The raw file or device the repair works on."""
    if target.kind != "image":
        return target.source
    if target.format == "raw":
        if target.output and not target.read_only:
            copy = os.path.join(staging, os.path.basename(target.output))
            imagefile.sparse_copy(target.source, copy)
            return copy
        return target.source
    scratch = files.temp_dir(prefix=outputs.TEMP_PREFIX, parent=imagefile.scratch_parent(target.output or target.source))
    raw = os.path.join(scratch, "disk.raw")
    imagefile.convert_to_raw(target.node, raw)
    return raw


def _convert_back(raw, target, staging):
    """The repaired raw disk in the source's format, as a new file in ``staging``."""
    converted = os.path.join(staging, os.path.basename(target.output or target.source))
    imagefile.convert_from_raw(raw, target.format, converted, like=target.source)
    return converted


def _put_in_place(finished, target):
    """Publish the finished file: at --output (never over a file that appeared meanwhile, unless
    --force), or over the source (only if the source is still the file this run claimed)."""
    if target.output:
        outputs.fsync_path(finished)
        try:
            outputs.publish(finished, target.output, "--output", target.force)
        except outputs.DestinationTaken as error:
            kept = _keep_beside(finished, target.output)
            raise AgentError("%s; the repaired copy is kept as %s" % (error, kept))
        log.info("wrote the repaired disk (%s): %s", target.format, target.output)
        return
    if path_identity(target.source) != target.identity:
        kept = _keep_beside(finished, target.source)
        raise AgentError("%s was replaced by another file while the repair ran: not overwritten; the repaired "
                         "image is kept as %s" % (target.source, kept))
    imagefile.replace_file(finished, target.source)
    log.info("wrote the repaired disk as %s: %s", target.format, target.source)


def _keep_beside(finished, destination):
    """Move ``finished`` out of the staging folder (removed at the end) to a new visible name."""
    for number in range(1, 1000):
        kept = "%s.image-repair-%d" % (destination, number)
        try:
            os.link(finished, kept)
        except OSError:
            continue
        os.unlink(finished)
        return kept
    return finished


def _mount_guest(stack, files, backing, target, read_only):
    table = read_partition_table(backing)
    partition_nodes = None
    if target.kind != "image":
        # the kernel lets nobody mount a partition of a disk opened with O_EXCL: from here on our
        # own mounts and mappings hold the disk, and the flock keeps other runs out
        target.claim.release_exclusive_opens()
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
