"""Disk image formats by magic: the formats qemu-img writes, raw disks, and what is not a disk."""
import gzip
import subprocess

import pytest

from image_repair.agent.disk import chain, formats, imagefile
from image_repair.agent.errors import BadInput

MiB = 1024 * 1024


@pytest.mark.parametrize("qemu_format, expected, options", [
    ("qcow2", "qcow2", []),
    ("vmdk", "vmdk", []),
    ("vmdk", "vmdk", ["-o", "subformat=monolithicFlat"]),   # a text descriptor + a flat extent
    ("vpc", "vhd", []),
    ("vpc", "vhd", ["-o", "subformat=fixed"]),               # the footer only at the end
    ("vhdx", "vhdx", []),
])
def test_formats_written_by_qemu_img(tmp_path, qemu_format, expected, options):
    path = str(tmp_path / ("disk." + qemu_format))
    subprocess.run(["qemu-img", "create", "-q", "-f", qemu_format] + options + [path, "16M"], check=True)
    assert formats.detect_format(path) == expected


def test_vhd_subformat_is_read_from_the_footer(tmp_path):
    for subformat in ("fixed", "dynamic"):
        path = str(tmp_path / ("%s.vhd" % subformat))
        subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", "-o", "subformat=" + subformat, path, "8M"],
                       check=True)
        assert imagefile.vhd_subformat(path) == subformat


def test_raw_disk_with_a_partition_table(tmp_path):
    path = str(tmp_path / "disk.img")
    with open(path, "wb") as handle:
        handle.truncate(8 * MiB)
    subprocess.run(["sfdisk", "-q", path], input="label: gpt\nstart=1MiB, type=L\n", universal_newlines=True,
                   check=True)
    assert formats.detect_format(path) == "raw"
    assert imagefile.virtual_size(path, "raw") == 8 * MiB


def test_raw_filesystem_without_a_table(tmp_path):
    path = str(tmp_path / "fs.img")
    with open(path, "wb") as handle:
        handle.truncate(8 * MiB)
    subprocess.run(["mkfs.ext4", "-q", "-F", path], check=True)
    assert formats.detect_format(path) == "raw"


def test_virtual_size_of_a_qcow2(tmp_path):
    path = str(tmp_path / "disk.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", path, "24M"], check=True)
    node, _files = chain.resolve_chain(path, "qcow2")
    assert imagefile.virtual_size(path, "qcow2", node) == 24 * MiB


@pytest.mark.parametrize("content, message", [
    (b"hello, this is a text file\n" * 100, "not a disk image"),
    (b"\0" * 4 * MiB, "not a disk image"),
    (b"short", "5 bytes long"),
])
def test_files_that_are_not_disks(tmp_path, content, message):
    path = tmp_path / "file"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message):
        formats.detect_format(str(path))


def test_a_compressed_download_gets_a_hint(tmp_path):
    path = tmp_path / "disk.img.gz"
    path.write_bytes(gzip.compress(b"\0" * MiB))
    with pytest.raises(BadInput, match="gzip archive.*extract it first"):
        formats.detect_format(str(path))
