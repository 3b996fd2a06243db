"""MBR and GPT partition tables, read straight from a disk image file or block device.

No external tool is needed (the repair host may lack them, and this host has no partition scan):
partitions are handed to the rest of the layer as byte ranges, mapped by offset loop devices.
"""
import os
import struct
import uuid
import zlib

from ..errors import BadInput

SECTOR = 512
GPT_SIGNATURE = b"EFI PART"
MBR_EXTENDED_TYPES = (0x05, 0x0F, 0x85)
MBR_GPT_PROTECTIVE = 0xEE
MBR_ESP = 0xEF
MAX_LOGICAL = 128  # an EBR chain longer than this is a loop in a corrupt table

MBR_TYPE_NAMES = {
    0x01: "FAT12", 0x04: "FAT16 <32M", 0x05: "Extended", 0x06: "FAT16", 0x07: "HPFS/NTFS/exFAT",
    0x0B: "W95 FAT32", 0x0C: "W95 FAT32 (LBA)", 0x0E: "W95 FAT16 (LBA)", 0x0F: "W95 Ext'd (LBA)",
    0x82: "Linux swap", 0x83: "Linux", 0x85: "Linux extended", 0x8E: "Linux LVM",
    0xEE: "GPT protective", 0xEF: "EFI System", 0xFD: "Linux raid autodetect",
}

GPT_TYPE_NAMES = {
    "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI System",
    "21686148-6449-6e6f-744e-656564454649": "BIOS boot",
    "0fc63daf-8483-4772-8e79-3d69d8477de4": "Linux filesystem",
    "e6d6d379-f507-44c2-a23c-238f2a3df928": "Linux LVM",
    "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "Linux swap",
    "a19d880f-05fc-4d3b-a006-743f0f84911e": "Linux RAID",
    "4f68bce3-e8cd-4db1-96e7-fbcaf984b709": "Linux root (x86-64)",
    "b921b045-1df0-41c3-af44-4c6f280d3fae": "Linux root (ARM-64)",
    "933ac7e1-2eb4-4f13-b844-0e14e2aef915": "Linux home",
    "bc13c2ff-59e6-4262-a352-b275fd6f7172": "Linux extended boot",
    "8484680c-9521-48c6-9c11-b0720656f69e": "Linux /usr (x86-64)",
    "4d21b016-b534-45c2-a9fb-5c16e091fd2d": "Linux variable data",
    "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7": "Microsoft basic data",
    "e3c9e316-0b5c-4db8-817d-f92df00215ae": "Microsoft reserved",
    "de94bba4-06d1-4d40-a16a-bfd50179d6ac": "Windows recovery environment",
    "9e1a2d38-c612-4316-aa26-8b49521e5a8b": "PowerPC PReP boot",
}
GPT_ESP_TYPE = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"


class PartitionTableError(BadInput):
    """A partition table that is malformed or truncated: the disk cannot be read safely."""


class Partition(object):
    """One partition: ``number`` as the guest's kernel names it (sda<number>), byte range, type."""

    def __init__(self, number, start, size, type_code, type_name, esp, partuuid, name=None, bootable=False):
        self.number = number
        self.start = start          # bytes from the start of the disk
        self.size = size            # bytes
        self.type = type_code       # "0x83" (MBR) or a lower-case type GUID (GPT)
        self.type_name = type_name  # human name of the type, "unknown" when not in the tables
        self.esp = esp              # EFI system partition
        self.partuuid = partuuid    # what PARTUUID= in fstab names
        self.name = name            # GPT partition name (PARTLABEL=), None on MBR
        self.bootable = bootable    # MBR active flag

    @property
    def end(self):
        return self.start + self.size

    def to_dict(self):
        return dict((key, getattr(self, key)) for key in (
            "number", "start", "size", "type", "type_name", "esp", "partuuid", "name", "bootable"))

    def __repr__(self):
        return "Partition(%d, start=%d, size=%d, %s)" % (self.number, self.start, self.size, self.type_name)


class PartitionTable(object):
    def __init__(self, kind, partitions, disk_id=None, sector_size=SECTOR, disk_size=0):
        self.kind = kind              # "mbr", "gpt" or "none" (a filesystem on the whole disk)
        self.partitions = partitions  # sorted by number
        self.disk_id = disk_id        # MBR disk signature "8a9f4c7e" or GPT disk GUID
        self.sector_size = sector_size
        self.disk_size = disk_size

    def by_number(self, number):
        for partition in self.partitions:
            if partition.number == number:
                return partition
        return None


def disk_size(path):
    """Size in bytes of a file or block device (seeking to the end works for both)."""
    with open(path, "rb") as handle:
        return handle.seek(0, os.SEEK_END)


def _read_at(handle, offset, length):
    handle.seek(offset)
    return handle.read(length)


def read_partition_table(path, size=None):
    """Parse the partition table of the disk at ``path`` (image file or block device)."""
    size = disk_size(path) if size is None else size
    if size < SECTOR:
        raise PartitionTableError("%s is %d bytes long: too small to be a disk" % (path, size))
    with open(path, "rb") as handle:
        mbr = _read_at(handle, 0, SECTOR)
        entries = _mbr_entries(mbr) if mbr[510:512] == b"\x55\xaa" else None
        if entries and any(entry[1] == MBR_GPT_PROTECTIVE for entry in entries):
            return _read_gpt(handle, path, size)
        # A disk with a GPT but a hybrid or damaged MBR: the GPT header still names it.
        for sector_size in (SECTOR, 4096):
            if size >= 2 * sector_size and _read_at(handle, sector_size, 8) == GPT_SIGNATURE:
                return _read_gpt(handle, path, size)
        if entries is None:
            return PartitionTable("none", [], disk_size=size)
        return _read_mbr(handle, path, size, mbr, entries)


# -- MBR ---------------------------------------------------------------------------------------
def _mbr_entries(sector):
    """The four primary entries as (status, type, lba_start, sectors), or None if this sector is
    not a partition table (a filesystem boot sector also ends with 55 AA)."""
    entries = []
    for index in range(4):
        raw = sector[446 + 16 * index:446 + 16 * (index + 1)]
        status, type_code = raw[0], raw[4]
        lba_start, sectors = struct.unpack("<II", raw[8:16])
        if status not in (0x00, 0x80):
            return None
        entries.append((status, type_code, lba_start, sectors))
    return entries


def _mbr_partition(number, status, type_code, start_lba, sectors, signature):
    return Partition(number, start_lba * SECTOR, sectors * SECTOR, "0x%02x" % type_code,
                     MBR_TYPE_NAMES.get(type_code, "unknown"), type_code == MBR_ESP,
                     "%08x-%02x" % (signature, number), bootable=(status == 0x80))


def _check_bounds(path, partition, size):
    if partition.end > size:
        raise PartitionTableError(
            "%s: partition %d ends at byte %d, beyond the end of the disk (%d bytes): the image is "
            "truncated or its partition table is corrupt" % (path, partition.number, partition.end, size))


def _read_mbr(handle, path, size, mbr, entries):
    signature = struct.unpack("<I", mbr[440:444])[0]
    partitions = []
    extended = None
    for index, (status, type_code, start_lba, sectors) in enumerate(entries):
        if type_code == 0 or sectors == 0:
            continue
        partition = _mbr_partition(index + 1, status, type_code, start_lba, sectors, signature)
        _check_bounds(path, partition, size)
        partitions.append(partition)
        if type_code in MBR_EXTENDED_TYPES:
            if extended is not None:
                raise PartitionTableError("%s: more than one extended partition in the MBR" % path)
            extended = (start_lba, sectors)
    if extended:
        partitions.extend(_read_logical(handle, path, size, extended, signature))
    return PartitionTable("mbr", partitions, disk_id="%08x" % signature, disk_size=size)


def _read_logical(handle, path, size, extended, signature):
    """Follow the chain of extended boot records: logical partitions are numbered from 5.

    In each EBR the first entry is relative to that EBR, the second (link to the next EBR) to the
    start of the extended partition."""
    ext_start, ext_sectors = extended
    logical = []
    ebr_lba = ext_start
    seen = set()
    while ebr_lba:
        if ebr_lba in seen or len(seen) >= MAX_LOGICAL:
            raise PartitionTableError("%s: the chain of logical partitions loops" % path)
        seen.add(ebr_lba)
        if not ext_start <= ebr_lba < ext_start + ext_sectors or (ebr_lba + 1) * SECTOR > size:
            raise PartitionTableError("%s: an extended boot record lies outside the extended partition" % path)
        ebr = _read_at(handle, ebr_lba * SECTOR, SECTOR)
        entries = _mbr_entries(ebr) if ebr[510:512] == b"\x55\xaa" else None
        if entries is None:
            raise PartitionTableError("%s: invalid extended boot record at sector %d" % (path, ebr_lba))
        status, type_code, rel_start, sectors = entries[0]
        if type_code and sectors:
            partition = _mbr_partition(5 + len(logical), status, type_code, ebr_lba + rel_start, sectors, signature)
            _check_bounds(path, partition, size)
            logical.append(partition)
        _status, next_type, next_rel, _sectors = entries[1]
        ebr_lba = ext_start + next_rel if next_type in MBR_EXTENDED_TYPES and next_rel else 0
    return logical


# -- GPT ---------------------------------------------------------------------------------------
def _read_gpt(handle, path, size):
    errors = []
    for sector_size in (SECTOR, 4096):
        try:
            return _read_gpt_at(handle, path, size, sector_size, sector_size)
        except PartitionTableError as error:
            errors.append(str(error))
    # The primary header is damaged: the backup header in the last sector describes the same table.
    try:
        return _read_gpt_at(handle, path, size, SECTOR, size - SECTOR)
    except PartitionTableError:
        raise PartitionTableError(errors[0])


def _read_gpt_at(handle, path, size, sector_size, header_offset):
    header = _read_at(handle, header_offset, 92)
    if len(header) < 92 or header[:8] != GPT_SIGNATURE:
        raise PartitionTableError("%s: protective MBR but no GPT header (\"EFI PART\") at byte %d"
                                  % (path, header_offset))
    header_size, header_crc = struct.unpack("<II", header[12:20])
    if not 92 <= header_size <= sector_size:
        raise PartitionTableError("%s: GPT header size %d is invalid" % (path, header_size))
    full = _read_at(handle, header_offset, header_size)
    if zlib.crc32(full[:16] + b"\0\0\0\0" + full[20:]) & 0xFFFFFFFF != header_crc:
        raise PartitionTableError("%s: GPT header checksum mismatch (corrupt header)" % path)
    disk_guid = str(uuid.UUID(bytes_le=header[56:72]))
    entries_lba, count, entry_size, entries_crc = struct.unpack("<QIII", header[72:92])
    if entry_size < 128 or entry_size % 8 or count > 65536:
        raise PartitionTableError("%s: GPT partition entries of %d bytes x %d are invalid" % (path, entry_size, count))
    entries_offset = entries_lba * sector_size
    if entries_offset + count * entry_size > size:
        raise PartitionTableError("%s: the GPT partition entries lie beyond the end of the disk (%d bytes): "
                                  "the image is truncated" % (path, size))
    table = _read_at(handle, entries_offset, count * entry_size)
    if zlib.crc32(table) & 0xFFFFFFFF != entries_crc:
        raise PartitionTableError("%s: GPT partition entries checksum mismatch (corrupt table)" % path)
    partitions = []
    for index in range(count):
        raw = table[index * entry_size:(index + 1) * entry_size]
        if raw[:16] == b"\0" * 16:
            continue  # unused entry; numbers keep their slot (sda15 stays 15)
        type_guid = str(uuid.UUID(bytes_le=raw[0:16]))
        first, last, attributes = struct.unpack("<QQQ", raw[32:56])
        if last < first:
            raise PartitionTableError("%s: GPT partition %d ends before it starts" % (path, index + 1))
        name = raw[56:128].decode("utf-16-le", "replace").split("\0", 1)[0] or None
        partition = Partition(index + 1, first * sector_size, (last - first + 1) * sector_size, type_guid,
                              GPT_TYPE_NAMES.get(type_guid, "unknown"), type_guid == GPT_ESP_TYPE,
                              str(uuid.UUID(bytes_le=raw[16:32])), name=name, bootable=bool(attributes & 4))
        _check_bounds(path, partition, size)
        partitions.append(partition)
    return PartitionTable("gpt", partitions, disk_id=disk_guid, sector_size=sector_size, disk_size=size)
