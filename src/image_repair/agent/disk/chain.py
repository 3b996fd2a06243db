"""Image chains: the other files a disk image makes qemu read, found and vetted before any is read.

A qcow2 may name a backing file (itself an image, with its own backing file...) and an external
data file; a vmdk descriptor names its extents and may name a parent (``parentFileNameHint``).
``qemu-img`` opens all of them by the names written in the image, whatever they are: another
user's image, a block device holding a mounted filesystem, the host's own disk. So the names are
read here from the headers (standard library only; nothing is opened but the image files
themselves) and each is refused when it names a protocol or a JSON description, is missing, is
not a regular file (a block device above all), lies outside the image's folder (unless the user
allows it), or loops back. What passes is handed to qemu explicitly (:func:`qemu_spec`), so qemu
opens exactly these files with the ``file`` driver (which refuses anything but a regular file)
and takes its own image locks on them.

A VHD differencing disk is refused: qemu's vpc driver reads it without its parent. A VHDX with a
parent is refused by qemu itself (block/vhdx.c: differencing files are not supported).
"""
import json
import os
import re
import stat
import struct

from ..errors import BadInput, RefusedDisk
from ..fileid import file_identity
from . import blockdev
from .formats import detect_format

# qemu-img's driver names by the format we report.
QEMU_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx"}
FORMATS_BY_DRIVER = dict((driver, fmt) for fmt, driver in QEMU_FORMATS.items())

MAX_DEPTH = 16            # images in one chain; qemu's own limit is higher, real chains are short
MAX_DESCRIPTOR = 1 << 20  # bytes of a vmdk descriptor read (qemu reads at most 1 MiB - 1)

# qcow2 (docs/interop/qcow2.txt in qemu's sources): header extension types, incompatible bit 2.
QCOW2_EXT_BACKING_FORMAT = 0xE2792ACA
QCOW2_EXT_DATA_FILE = 0x44415441
QCOW2_INCOMPAT_DATA_FILE = 1 << 2

# vmdk extent lines: ACCESS SECTORS TYPE "FILE" [OFFSET]; qemu opens RW extents of these types.
_EXTENT_LINE = re.compile(r'^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)\s+"([^"\r\n]*)"', re.MULTILINE)
QEMU_EXTENT_TYPES = ("FLAT", "SPARSE", "VMFS", "VMFSSPARSE", "SESPARSE")
_PARENT_HINT = re.compile(r'parentFileNameHint="([^"]*)"')

VHD_DIFFERENCING = 4


class ChainFile(object):
    """A file an image refers to: its role, the name written in the image, where that is."""

    def __init__(self, role, name, path, fmt, of):
        self.role = role      # "backing", "extent" or "data-file"
        self.name = name      # as written in the referring image
        self.path = path      # absolute, symlinks resolved: the file qemu is given
        self.format = fmt     # image format of a backing file; None for extents and data files
        self.of = of          # path of the referring image
        self.opened_by_qemu = True  # False for a vmdk extent qemu skips (read-only, unknown type)

    def describe(self):
        return {"role": self.role, "name": self.name, "path": self.path, "format": self.format, "of": self.of}


class ImageNode(object):
    """One image of a chain: its path and format, and the files it refers to."""

    def __init__(self, path, fmt):
        self.path = path
        self.format = fmt
        self.backing = None    # ImageNode
        self.extents = []      # [ChainFile]
        self.data_file = None  # ChainFile


# -- reading the references from the headers ---------------------------------------------------
def _read(path, offset, length):
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def _decode(raw):
    return os.fsdecode(raw.split(b"\0", 1)[0])


def qcow2_references(path):
    """(backing name, backing format, data file name) from a qcow2 header; None where absent."""
    header = _read(path, 0, 104)
    if len(header) < 72 or header[:4] != b"QFI\xfb":
        raise BadInput("%s: not a qcow2 header" % path)
    version, backing_offset, backing_size = struct.unpack(">IQI", header[4:20])
    incompatible, header_length = 0, 72
    if version >= 3:
        if len(header) < 104:
            raise BadInput("%s: truncated qcow2 v3 header" % path)
        incompatible = struct.unpack(">Q", header[72:80])[0]
        header_length = struct.unpack(">I", header[100:104])[0]
    cluster_bits = struct.unpack(">I", header[20:24])[0]
    if not 9 <= cluster_bits <= 21:
        raise BadInput("%s: qcow2 cluster size 2^%d is invalid" % (path, cluster_bits))
    backing = None
    if backing_offset:
        if backing_size > 1023:
            raise BadInput("%s: qcow2 backing file name longer than 1023 bytes" % path)
        backing = _decode(_read(path, backing_offset, backing_size)) or None
    backing_format, data_file = None, None
    # extensions: from the end of the header to the backing name (or the end of the first cluster)
    offset, end = header_length, backing_offset or (1 << cluster_bits)
    while offset + 8 <= end:
        kind, length = struct.unpack(">II", _read(path, offset, 8))
        if kind == 0:
            break
        data = _read(path, offset + 8, min(length, end - offset - 8))
        if kind == QCOW2_EXT_BACKING_FORMAT:
            backing_format = _decode(data)
        elif kind == QCOW2_EXT_DATA_FILE:
            data_file = _decode(data)
        offset += 8 + ((length + 7) & ~7)
    if incompatible & QCOW2_INCOMPAT_DATA_FILE:
        if not data_file:
            raise BadInput("%s keeps its data in an external data file whose name it does not record" % path)
    else:
        data_file = None  # qemu ignores the name unless the feature bit says the data is there
    return backing, backing_format, data_file


def vmdk_descriptor(path):
    """The text descriptor of a vmdk: the file itself, or the one embedded in a sparse extent."""
    head = _read(path, 0, 512)
    if head[:4] == b"KDMV":
        # SparseExtentHeader (little endian): descriptorOffset, descriptorSize in sectors
        offset, size = struct.unpack("<QQ", head[28:44])
        if not offset:
            return ""
        return _read(path, offset * 512, min(size * 512, MAX_DESCRIPTOR)).split(b"\0", 1)[0].decode("utf-8", "replace")
    return _read(path, 0, MAX_DESCRIPTOR).decode("utf-8", "replace")


def vmdk_references(path):
    """(parent name or None, [(access, sectors, type, extent name)]) of a vmdk. The extents of a
    sparse (KDMV) file are the file itself, so only a descriptor file lists extents to follow."""
    text = vmdk_descriptor(path)
    hint = _PARENT_HINT.search(text)
    extents = []
    if _read(path, 0, 4) != b"KDMV":
        extents = [(m.group(1), int(m.group(2)), m.group(3), m.group(4)) for m in _EXTENT_LINE.finditer(text)]
    return (hint.group(1) if hint and hint.group(1) else None), extents


def refuse_vhd_differencing(path):
    """BadInput for a VHD differencing disk, naming its parent."""
    size = os.path.getsize(path)
    footer = _read(path, 0, 512)
    if footer[:8] != b"conectix":
        footer = _read(path, size - 512, 512)
    if len(footer) < 64 or struct.unpack(">I", footer[60:64])[0] != VHD_DIFFERENCING:
        return
    parent = "?"
    data_offset = struct.unpack(">Q", footer[16:24])[0]
    if data_offset < size:
        dynamic = _read(path, data_offset, 1024)
        if dynamic[:8] == b"cxsparse":
            parent = dynamic[64:576].decode("utf-16-be", "replace").split("\0", 1)[0] or "?"
    raise BadInput("%s is a VHD differencing disk (parent %r): qemu-img would read it without its parent; "
                   "merge it into its parent first" % (path, parent))


# -- vetting ------------------------------------------------------------------------------------
def has_protocol(name):
    """qemu's path_has_protocol(): a ':' before any '/' makes ``name`` a protocol ("nbd:...",
    "json:{...}", "file:..."), not a plain file name."""
    head = re.split(r"[/]", name, 1)[0]
    return ":" in head


def vet(name, role, referrer, top_folder, allow_outside, seen):
    """The file ``name`` written in ``referrer`` as a ChainFile, or RefusedDisk/BadInput."""
    what = "%s %r of %s" % (role.replace("-", " "), name, referrer)
    if not name:
        raise BadInput("%s: empty name" % what)
    if has_protocol(name):
        raise RefusedDisk("%s names a qemu protocol or JSON description, not a file: refused" % what)
    joined = name if os.path.isabs(name) else os.path.join(os.path.dirname(referrer), name)
    try:
        st = os.stat(joined)
    except OSError as error:
        raise BadInput("%s: %s cannot be read (%s)" % (what, joined, error.strerror))
    if stat.S_ISBLK(st.st_mode):
        detail = ""
        try:
            blockdev.check_block_device(joined)
        except (BadInput, RefusedDisk) as error:
            detail = " (%s)" % error
        raise RefusedDisk("%s is the block device %s%s: an image chain may only name regular files"
                          % (what, joined, detail))
    if not stat.S_ISREG(st.st_mode):
        raise RefusedDisk("%s: %s is not a regular file" % (what, joined))
    path = os.path.realpath(joined)
    if not allow_outside and not (path.startswith(top_folder.rstrip("/") + "/")):
        raise RefusedDisk("%s is %s, outside the image's folder %s: refused (--allow-backing-outside "
                          "allows it)" % (what, path, top_folder))
    identity = file_identity(st)
    if identity in seen:
        raise RefusedDisk("%s is %s, already part of this chain: the chain loops" % (what, path))
    seen.add(identity)
    return ChainFile(role, name, path, None, referrer)


def _backing_format(path, recorded):
    """The backing file's format: as the image records it, else by our magic (never by qemu's
    probe). BadInput for a format the agent does not handle."""
    if recorded:
        fmt = FORMATS_BY_DRIVER.get(recorded)
        if fmt is None:
            raise BadInput("backing file %s has format %r, which the agent does not handle" % (path, recorded))
        return fmt
    try:
        return detect_format(path)
    except BadInput:
        return "raw"  # what qemu's probe makes of a headerless file


def resolve_chain(path, fmt, allow_outside=False):
    """(top ImageNode, [ChainFile]) of the image ``path`` (absolute, symlinks resolved) in format
    ``fmt``: every backing file, extent and data file, each vetted, top first."""
    top_folder = os.path.dirname(path)
    seen = set([file_identity(os.stat(path))])
    files = []
    top = node = ImageNode(path, fmt)
    for _depth in range(MAX_DEPTH):
        backing_name, backing_format = None, None
        if node.format == "qcow2":
            backing_name, backing_format, data_name = qcow2_references(node.path)
            if data_name:
                node.data_file = vet(data_name, "data-file", node.path, top_folder, allow_outside, seen)
                files.append(node.data_file)
        elif node.format == "vmdk":
            backing_name, extents = vmdk_references(node.path)
            backing_format = "vmdk" if backing_name else None
            for access, sectors, kind, name in extents:
                extent = vet(name, "extent", node.path, top_folder, allow_outside, seen)
                extent.opened_by_qemu = access == "RW" and kind in QEMU_EXTENT_TYPES and sectors > 0
                node.extents.append(extent)
                files.append(extent)
        elif node.format == "vhd":
            refuse_vhd_differencing(node.path)
        if not backing_name:
            return top, files
        backing = vet(backing_name, "backing", node.path, top_folder, allow_outside, seen)
        backing.format = _backing_format(backing.path, backing_format)
        files.append(backing)
        node.backing = ImageNode(backing.path, backing.format)
        node = node.backing
    raise RefusedDisk("%s: the image chain is longer than %d images" % (path, MAX_DEPTH))


# -- handing the vetted chain to qemu ------------------------------------------------------------
def _file(path):
    return {"driver": "file", "filename": path, "locking": "on"}


def qemu_spec(node, with_backing=True):
    """qemu's JSON description of ``node`` and everything it refers to, as vetted: each file by
    its resolved path with the ``file`` driver, and ``backing: null`` at the end of the chain (or
    right away without ``with_backing``, for ``qemu-img info``, which opens no backing file and
    refuses options for one) so qemu never goes by a name written in an image."""
    spec = {"driver": QEMU_FORMATS[node.format], "file": _file(node.path),
            "backing": qemu_spec(node.backing) if node.backing and with_backing else None}
    if node.data_file:
        spec["data-file"] = _file(node.data_file.path)
    # qemu opens a descriptor's extents by their written names (it takes no filename for them);
    # naming the driver makes it refuse anything but a regular file, and fixes their number.
    opened = [e for e in node.extents if e.opened_by_qemu]
    for index, _extent in enumerate(opened):
        spec["extents.%d" % index] = {"driver": "file", "locking": "on"}
    return spec


def qemu_filename(node, with_backing=True):
    """The ``json:{...}`` file name qemu-img takes for ``node``'s vetted chain."""
    return "json:" + json.dumps(qemu_spec(node, with_backing), sort_keys=True)
