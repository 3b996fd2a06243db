"""The partition-table parser on tables written by sfdisk/sgdisk into sparse files (no root)."""
import struct
import subprocess

import pytest

from image_repair.agent.disk.partitions import PartitionTableError, read_partition_table

MiB = 1024 * 1024


def make_disk(tmp_path, size_mib, script, name="disk.img"):
    path = str(tmp_path / name)
    with open(path, "wb") as handle:
        handle.truncate(size_mib * MiB)
    result = subprocess.run(["sfdisk", "-q", path], input=script.replace("DISK", path), universal_newlines=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert result.returncode == 0, result.stdout
    return path


def test_mbr_primary_and_logical_partitions(tmp_path):
    path = make_disk(tmp_path, 64, "label: dos\nlabel-id: 0x1234abcd\nDISK1 : start=1MiB, size=8MiB, type=83, bootable\n"
                                   "DISK3 : start=49MiB, type=ef\nDISK2 : start=9MiB, size=40MiB, type=5\n"
                                   "DISK5 : size=4MiB, type=82\nDISK6 : size=8MiB, type=8e\n"
                                   "DISK7 : size=2MiB, type=83\n")
    table = read_partition_table(path)
    assert table.kind == "mbr"
    assert table.disk_id == "1234abcd"
    numbers = [p.number for p in table.partitions]
    assert numbers == [1, 2, 3, 5, 6, 7]
    first = table.by_number(1)
    assert (first.start, first.size, first.type, first.type_name, first.bootable) == (
        1 * MiB, 8 * MiB, "0x83", "Linux", True)
    assert first.partuuid == "1234abcd-01"
    assert table.by_number(2).type_name == "Extended"
    swap, lvm, last = table.by_number(5), table.by_number(6), table.by_number(7)
    assert swap.type == "0x82" and swap.size == 4 * MiB and swap.start > 9 * MiB
    assert lvm.type_name == "Linux LVM" and lvm.start > swap.end
    assert last.size == 2 * MiB and last.start > lvm.end and last.end <= 49 * MiB
    assert table.by_number(3).esp and not first.esp
    # what blkid says about the same partitions (PARTUUID=1234abcd-05)
    assert swap.partuuid == "1234abcd-05"


def test_gpt_with_esp_names_and_partuuids(tmp_path):
    path = str(tmp_path / "gpt.img")
    with open(path, "wb") as handle:
        handle.truncate(64 * MiB)
    subprocess.run(["sgdisk", "-n", "15:1MiB:+16MiB", "-t", "15:ef00", "-c", "15:EFI system",
                    "-n", "1:0:+8MiB", "-t", "1:8300", "-n", "14:0:+1MiB", "-t", "14:ef02",
                    "-n", "2:0:0", "-t", "2:8e00", "-u", "2:0a1b2c3d-0000-4000-8000-000000000002",
                    "-U", "11111111-2222-4333-8444-555555555555", path],
                   check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    table = read_partition_table(path)
    assert table.kind == "gpt"
    assert table.disk_id == "11111111-2222-4333-8444-555555555555"
    assert [p.number for p in table.partitions] == [1, 2, 14, 15]
    esp = table.by_number(15)
    assert esp.esp and esp.type_name == "EFI System" and esp.name == "EFI system"
    assert (esp.start, esp.size) == (1 * MiB, 16 * MiB)
    assert table.by_number(14).type_name == "BIOS boot"
    assert table.by_number(1).type == "0fc63daf-8483-4772-8e79-3d69d8477de4"
    lvm = table.by_number(2)
    assert lvm.type_name == "Linux LVM" and lvm.partuuid == "0a1b2c3d-0000-4000-8000-000000000002"
    assert lvm.end <= 64 * MiB - 33 * 512  # the backup table lives in the last 33 sectors
    assert not any(p.esp for p in table.partitions if p.number != 15)


def test_no_table_on_a_whole_disk_filesystem(tmp_path):
    path = str(tmp_path / "plain.img")
    with open(path, "wb") as handle:
        handle.truncate(4 * MiB)
    assert read_partition_table(path).kind == "none"


def test_truncated_gpt_image_is_a_clear_error(tmp_path):
    path = make_disk(tmp_path, 32, "label: gpt\nstart=1MiB, type=L\n")
    with open(path, "r+b") as handle:
        handle.truncate(16 * MiB)
    with pytest.raises(PartitionTableError, match="beyond the end of the disk.*truncated"):
        read_partition_table(path)


def test_gpt_corrupt_entries_are_a_clear_error(tmp_path):
    path = make_disk(tmp_path, 32, "label: gpt\nstart=1MiB, type=L\n")
    with open(path, "r+b") as handle:      # damage the primary entries and the backup header
        handle.seek(2 * 512 + 40)
        handle.write(b"\xff\xff")
        handle.seek(32 * MiB - 512)
        handle.write(b"\0" * 8)
    with pytest.raises(PartitionTableError, match="entries checksum mismatch"):
        read_partition_table(path)


def test_gpt_damaged_primary_header_falls_back_to_the_backup(tmp_path):
    path = make_disk(tmp_path, 32, "label: gpt\nstart=1MiB, size=8MiB, type=L\n")
    with open(path, "r+b") as handle:
        handle.seek(512 + 24)
        handle.write(b"\x99")  # header CRC no longer matches
    table = read_partition_table(path)
    assert table.kind == "gpt" and table.partitions[0].size == 8 * MiB


def test_gpt_header_checksum_mismatch_without_backup(tmp_path):
    path = make_disk(tmp_path, 32, "label: gpt\nstart=1MiB, type=L\n")
    with open(path, "r+b") as handle:
        handle.seek(512 + 24)
        handle.write(b"\x99")
        handle.seek(32 * MiB - 512)
        handle.write(b"\0" * 8)
    with pytest.raises(PartitionTableError, match="header checksum mismatch"):
        read_partition_table(path)


def test_mbr_partition_beyond_the_end_is_a_clear_error(tmp_path):
    path = make_disk(tmp_path, 32, "label: dos\nstart=1MiB, type=83\n")
    with open(path, "r+b") as handle:
        handle.truncate(8 * MiB)
    with pytest.raises(PartitionTableError, match="partition 1 ends at byte .* beyond the end"):
        read_partition_table(path)


def test_looping_chain_of_logical_partitions_is_refused(tmp_path):
    path = make_disk(tmp_path, 32, "label: dos\nstart=1MiB, type=5\nsize=4MiB, type=83\nsize=4MiB, type=83\n")
    table = read_partition_table(path)
    assert [p.number for p in table.partitions] == [1, 5, 6]
    # Point the second EBR's link at itself: the chain must not be followed forever.
    ext_start = table.by_number(1).start // 512
    with open(path, "rb") as handle:
        handle.seek(ext_start * 512 + 446 + 16 + 8)
        next_rel = struct.unpack("<I", handle.read(4))[0]
    with open(path, "r+b") as handle:
        handle.seek((ext_start + next_rel) * 512 + 446 + 16)
        handle.write(struct.pack("<B3xB3xII", 0, 0x05, next_rel, 2048))
    with pytest.raises(PartitionTableError, match="loops"):
        read_partition_table(path)


def test_too_small_file_is_refused(tmp_path):
    path = tmp_path / "tiny"
    path.write_bytes(b"x" * 100)
    with pytest.raises(PartitionTableError, match="too small"):
        read_partition_table(str(path))
