"""Local disk image files: format by magic, conversion to and from raw, sparse copies.

Repairs always work on raw data (loop devices need it): a qcow2/vmdk/vhd/vhdx source is converted
by ``qemu-img`` into a temporary sparse raw file, repaired, then converted back to the source's
format (in place, or into --output). A raw source with --output is a sparse copy.
"""
import os
import shutil
import struct

from .. import log, runner
from ..errors import AgentError, BadInput
from .partitions import disk_size

# qemu-img's driver names by the format we report.
QEMU_FORMATS = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc", "vhdx": "vhdx"}

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


def virtual_size(path, fmt):
    """Size in bytes of the disk the image holds."""
    if fmt == "raw":
        return disk_size(path)
    import json
    _status, output = runner.run(["qemu-img", "info", "--output=json", "-f", QEMU_FORMATS[fmt], path])
    try:
        return int(json.loads(output)["virtual-size"])
    except (ValueError, KeyError) as error:
        raise BadInput("qemu-img cannot read %s as %s: %s" % (path, fmt, error))


def convert_to_raw(source, fmt, target):
    """Convert ``source`` to a sparse raw file ``target`` (qemu-img skips zero blocks)."""
    runner.run(["qemu-img", "convert", "-f", QEMU_FORMATS[fmt], "-O", "raw", source, target],
               label="converting %s (%s) to raw" % (os.path.basename(source), fmt))


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
    """Atomically put ``new`` in place of ``original``, keeping the original's mode and owner."""
    st = os.stat(original)
    os.chmod(new, st.st_mode & 0o7777)
    try:
        os.chown(new, st.st_uid, st.st_gid)
    except OSError as error:
        log.warn("could not keep the owner of %s: %s", original, error)
    if os.stat(os.path.dirname(os.path.abspath(new))).st_dev != st.st_dev:
        shutil.move(new, original)
    else:
        os.rename(new, original)


def scratch_parent(near):
    """Where to put large temporary files: beside ``near`` when writable (room for a disk-sized
    file is likelier there than on a small /tmp), else the system's temp directory."""
    folder = os.path.dirname(os.path.abspath(near))
    if os.access(folder, os.W_OK):
        return folder
    import tempfile
    return tempfile.gettempdir()


def check_output_path(output, source):
    """BadInput unless ``output`` is a new file in an existing, writable folder."""
    if os.path.lexists(output):
        raise BadInput("--output %s already exists: refusing to overwrite it" % output)
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise BadInput("--output %s: folder %s does not exist" % (output, folder))
    if not os.access(folder, os.W_OK):
        raise BadInput("--output %s: folder %s is not writable" % (output, folder))
    if os.path.abspath(output) == os.path.abspath(source):
        raise BadInput("--output is the source itself")


def ensure_qemu_img():
    if not runner.which("qemu-img"):
        raise AgentError("qemu-img is needed for non-raw images; install qemu-img (qemu-utils)")
