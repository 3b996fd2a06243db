"""Local disk image files: conversion to and from raw, sparse copies.

Repairs always work on raw data (loop devices need it): a qcow2/vmdk/vhd/vhdx source is converted
by ``qemu-img`` into a temporary sparse raw file, repaired, then converted back to the source's
format (in place, or into --output). A raw source with --output is a sparse copy.

The format is read from the file's magic (:mod:`.formats`), never probed by qemu, and qemu is only
ever handed the vetted chain of :mod:`.chain` as an explicit JSON description.
"""
import json
import os
import struct
import tempfile

from .. import log, runner
from ..errors import AgentError, BadInput
from ..fileid import owner_may_write
from ..outputs import fsync_path
from .chain import QEMU_FORMATS, qemu_filename
from .formats import read_at
from .partitions import disk_size


def vhd_subformat(path):
    """"fixed" or "dynamic" from the VHD footer (disk type 2 or 3), to convert back alike."""
    footer = read_at(path, os.path.getsize(path) - 512, 512)
    if footer[:8] != b"conectix":
        footer = read_at(path, 0, 512)
    return "fixed" if struct.unpack(">I", footer[60:64])[0] == 2 else "dynamic"


def virtual_size(path, fmt, node=None):
    """Size in bytes of the disk the image holds; ``node`` is its vetted chain (chain.ImageNode),
    required for every format but raw."""
    if fmt == "raw":
        return disk_size(path)
    _status, output = runner.run(["qemu-img", "info", "--output=json", qemu_filename(node, with_backing=False)])
    try:
        return int(json.loads(output)["virtual-size"])
    except (ValueError, KeyError) as error:
        raise BadInput("qemu-img cannot read %s as %s: %s" % (path, fmt, error))


def convert_to_raw(node, target):
    """Convert the vetted image chain ``node`` to a sparse raw file ``target`` (qemu-img skips
    zero blocks). qemu opens exactly the files of ``node``, nothing named inside them."""
    runner.run(["qemu-img", "convert", "-O", "raw", qemu_filename(node), target],
               label="converting %s (%s) to raw" % (os.path.basename(node.path), node.format))


def convert_from_raw(raw, fmt, target, like=None):
    """Write ``raw`` as ``fmt`` into ``target`` (which must not exist); ``like`` is the original
    image, whose VHD subformat is kept."""
    options = []
    if fmt == "vhd":
        options = ["-o", "subformat=%s,force_size=on" % (vhd_subformat(like) if like else "dynamic")]
    runner.run(["qemu-img", "convert", "-f", "raw", "-O", QEMU_FORMATS[fmt]] + options + [raw, target],
               label="converting the repaired disk back to %s" % fmt)


def sparse_copy(source, target):
    """Copy ``source`` to the new file ``target``: a reflink where the filesystem can, else sparse."""
    runner.run(["cp", "--reflink=auto", "--sparse=always", source, target],
               label="copying %s to %s" % (source, target))


def replace_file(new, original):
    """Atomically put ``new`` (same filesystem) in place of ``original``, keeping the original's
    mode and owner; ``new`` is flushed to disk first, the folder after."""
    st = os.stat(original)
    os.chmod(new, st.st_mode & 0o7777)
    try:
        os.chown(new, st.st_uid, st.st_gid)
    except OSError as error:
        log.warn("could not keep the owner of %s: %s", original, error)
    fsync_path(new)
    os.rename(new, original)
    fsync_path(os.path.dirname(original))


def scratch_parent(near):
    """Where to put large temporary files: beside ``near`` when its folder may be written (room
    for a disk-sized file is likelier there than on a small /tmp) and is not marked read-only by
    its mode bits, else the system's temp directory."""
    folder = os.path.dirname(os.path.abspath(near))
    if os.access(folder, os.W_OK) and owner_may_write(os.stat(folder)):
        return folder
    return tempfile.gettempdir()


def ensure_qemu_img():
    if not runner.which("qemu-img"):
        raise AgentError("qemu-img is needed for non-raw images; install qemu-img (qemu-utils)")
