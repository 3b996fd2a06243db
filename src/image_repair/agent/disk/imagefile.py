"""Local disk image files: format by magic, conversion to and from raw, sparse copies.

Repairs always work on raw data (loop devices need it): a qcow2/vmdk/vhd/vhdx source is converted
by ``qemu-img`` into a temporary sparse raw file, repaired, then converted back to the source's
format (in place, or into --output). A raw source with --output is a sparse copy.

The format is read from the file's magic here, never probed by qemu (a raw disk whose first bytes
look like a qcow2 header would make qemu follow a "backing file" named by the guest's data), and
qemu is only ever handed the vetted chain of :mod:`.chain` as an explicit JSON description.
"""
import os
import struct

from .. import log, runner
from ..errors import AgentError, BadInput
from ..fileid import owner_may_write
from .chain import QEMU_FORMATS, qemu_filename
from .partitions import disk_size

# Files that are clearly not disks, with a hint: a user handing us the download as it came.
ARCHIVE_MAGICS = ((b"\x1f\x8b", "a gzip archive"), (b"\xfd7zXZ\x00", "an xz archive"),
                  (b"\x28\xb5\x2f\xfd", "a zstd archive"), (b"BZh", "a bzip2 archive"),
                  (b"PK\x03\x04", "a zip archive"), (b"\x7fELF", "an executable"))

# Evidence that a headerless file is a raw disk: a filesystem or LVM signature at a fixed offset.
RAW_SIGNATURES = ((1080, b"\x53\xef", "ext2/3/4"), (0, b"XFSB", "xfs"), (65600, b"_BHRfS_M", "btrfs"),
                  (512, b"LABELONE", "LVM2 PV"), (3, b"MSDOS", "FAT"), (3, b"mkfs.fat", "FAT"),
                  (4086, b"SWAPSPACE2", "swap"), (32769, b"CD001", "ISO 9660"))


def _read(path, offset, length):
    with open(path, "rb") as handle:
        handle.seek(offset)
        return handle.read(length)


def _looks_like_partition_table(head):
    if head[510:512] != b"\x55\xaa":
        return False
    return all(head[446 + 16 * i] in (0x00, 0x80) for i in range(4))


def detect_format(path):
    """"raw", "qcow2", "vmdk", "vhd" or "vhdx"; BadInput for anything that is not a disk image."""
    size = os.path.getsize(path)
    head = _read(path, 0, 4096)
    if head[:4] == b"KDMV" or b"# Disk DescriptorFile" in head[:1024]:
        return "vmdk"  # a descriptor may be a small text file naming its extents
    if size < 512:
        raise BadInput("%s is %d bytes long: not a disk image" % (path, size))
    if head[:4] == b"QFI\xfb":
        return "qcow2"
    if head[:8] == b"vhdxfile":
        return "vhdx"
    if head[:8] == b"conectix" or _read(path, size - 512, 8) == b"conectix":
        return "vhd"
    for magic, what in ARCHIVE_MAGICS:
        if head.startswith(magic):
            raise BadInput("%s is %s, not a disk image: extract it first" % (path, what))
    if head[512:520] == b"EFI PART" or _looks_like_partition_table(head):
        return "raw"
    for offset, magic, _what in RAW_SIGNATURES:
        if _read(path, offset, len(magic)) == magic:
            return "raw"
    raise BadInput("%s is not a disk image: no partition table, filesystem, LVM or image-format signature"
                   % path)


def vhd_subformat(path):
    """"fixed" or "dynamic" from the VHD footer (disk type 2 or 3), to convert back alike."""
    footer = _read(path, os.path.getsize(path) - 512, 512)
    if footer[:8] != b"conectix":
        footer = _read(path, 0, 512)
    return "fixed" if struct.unpack(">I", footer[60:64])[0] == 2 else "dynamic"


def virtual_size(path, fmt, node=None):
    """Size in bytes of the disk the image holds; ``node`` is its vetted chain (chain.ImageNode),
    required for every format but raw."""
    if fmt == "raw":
        return disk_size(path)
    import json
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
    from ..outputs import fsync_path
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
    import tempfile
    return tempfile.gettempdir()


def ensure_qemu_img():
    if not runner.which("qemu-img"):
        raise AgentError("qemu-img is needed for non-raw images; install qemu-img (qemu-utils)")
