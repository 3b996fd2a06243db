"""The format of a disk image file, read from its magic bytes, never probed by qemu.

A raw disk whose first bytes look like a qcow2 header would make qemu's probe follow a "backing
file" named by the guest's data, so the agent decides the format itself, for the image it is
given (:mod:`.session`) and for each backing file whose format the image does not record
(:mod:`.chain`).
"""
import os

from ..errors import BadInput

# Files that are clearly not disks, with a hint: a user handing us the download as it came.
ARCHIVE_MAGICS = ((b"\x1f\x8b", "a gzip archive"), (b"\xfd7zXZ\x00", "an xz archive"),
                  (b"\x28\xb5\x2f\xfd", "a zstd archive"), (b"BZh", "a bzip2 archive"),
                  (b"PK\x03\x04", "a zip archive"), (b"\x7fELF", "an executable"))

# Evidence that a headerless file is a raw disk: a filesystem or LVM signature at a fixed offset.
RAW_SIGNATURES = ((1080, b"\x53\xef", "ext2/3/4"), (0, b"XFSB", "xfs"), (65600, b"_BHRfS_M", "btrfs"),
                  (512, b"LABELONE", "LVM2 PV"), (3, b"MSDOS", "FAT"), (3, b"mkfs.fat", "FAT"),
                  (4086, b"SWAPSPACE2", "swap"), (32769, b"CD001", "ISO 9660"))


def read_at(path, offset, length):
    """``length`` bytes of the file ``path`` from ``offset`` (fewer at its end)."""
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
    head = read_at(path, 0, 4096)
    if head[:4] == b"KDMV" or b"# Disk DescriptorFile" in head[:1024]:
        return "vmdk"  # a descriptor may be a small text file naming its extents
    if size < 512:
        raise BadInput("%s is %d bytes long: not a disk image" % (path, size))
    if head[:4] == b"QFI\xfb":
        return "qcow2"
    if head[:8] == b"vhdxfile":
        return "vhdx"
    if head[:8] == b"conectix" or read_at(path, size - 512, 8) == b"conectix":
        return "vhd"
    for magic, what in ARCHIVE_MAGICS:
        if head.startswith(magic):
            raise BadInput("%s is %s, not a disk image: extract it first" % (path, what))
    if head[512:520] == b"EFI PART" or _looks_like_partition_table(head):
        return "raw"
    for offset, magic, _what in RAW_SIGNATURES:
        if read_at(path, offset, len(magic)) == magic:
            return "raw"
    raise BadInput("%s is not a disk image: no partition table, filesystem, LVM or image-format signature"
                   % path)
