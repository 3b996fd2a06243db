"""The pure-Python initramfs lister on archives built here with the real cpio and compressors."""
import bz2
import gzip
import lzma
import os
import subprocess

import pytest

from image_repair.agent.guest import cpio

MODULES = ["usr/lib/modules/6.1.0-1-amd64/kernel/drivers/block/virtio_blk.ko.xz",
           "usr/lib/modules/6.1.0-1-amd64/kernel/drivers/nvme/host/nvme-core.ko.zst",
           "usr/lib/modules/6.1.0-1-amd64/kernel/drivers/virtio/virtio_pci.ko",
           "usr/lib/modules/6.1.0-1-amd64/kernel/drivers/scsi/virtio_scsi.ko.gz"]


def build_cpio(tmp_path, files, fmt="newc"):
    """A cpio archive (bytes) holding ``files`` (relative paths), built with the real cpio."""
    tree = tmp_path / ("tree-%s-%d" % (fmt, len(os.listdir(str(tmp_path)))))
    for rel in files:
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * (len(rel) % 7))  # sizes that exercise the 4-byte padding
    listing = subprocess.run(["find", "."], cwd=str(tree), stdout=subprocess.PIPE, check=True).stdout
    return subprocess.run(["cpio", "--quiet", "-o", "-H", fmt], cwd=str(tree), input=listing,
                          stdout=subprocess.PIPE, check=True).stdout


def test_plain_newc_and_crc(tmp_path):
    for fmt in ("newc", "crc"):
        names = cpio.list_bytes(build_cpio(tmp_path, MODULES, fmt))
        assert set(MODULES) <= set(n.lstrip("./") for n in names)
        assert cpio.module_names(names) == {"virtio_blk", "nvme_core", "virtio_pci", "virtio_scsi"}


@pytest.mark.parametrize("compress", [
    gzip.compress,
    lzma.compress,
    lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
    bz2.compress,
], ids=["gzip", "xz", "lzma", "bzip2"])
def test_early_microcode_then_compressed_main(tmp_path, compress):
    early = build_cpio(tmp_path, ["kernel/x86/microcode/GenuineIntel.bin"])
    main = build_cpio(tmp_path, MODULES + ["usr/bin/init"])
    image = early + b"\x00" * 512 + compress(main) + b"\x00" * 300
    names = cpio.list_bytes(image)
    assert any(n.endswith("GenuineIntel.bin") for n in names)
    assert cpio.module_names(names) == {"virtio_blk", "nvme_core", "virtio_pci", "virtio_scsi"}


@pytest.mark.parametrize("argv", [
    pytest.param(["zstd", "-q", "-c"], id="zstd", marks=pytest.mark.needs_tools("zstd")),
    pytest.param(["zstd", "-q", "-c", "--no-check", "-19"], id="zstd-nocheck", marks=pytest.mark.needs_tools("zstd")),
    pytest.param(["lz4", "-l", "-q", "-c"], id="lz4-legacy", marks=pytest.mark.needs_tools("lz4")),
    pytest.param(["lz4", "-q", "-c", "-BD", "--content-size"], id="lz4-frame", marks=pytest.mark.needs_tools("lz4"))])
def test_zstd_and_lz4_through_the_host_binary(tmp_path, argv):
    main = build_cpio(tmp_path, MODULES)
    packed = subprocess.run(argv, input=main, stdout=subprocess.PIPE, check=True).stdout
    image = build_cpio(tmp_path, ["early/x"]) + packed + b"\x00" * 64
    assert "nvme_core" in cpio.module_names(cpio.list_bytes(image))
    with pytest.raises(cpio.CpioError):
        cpio.list_bytes(packed[:len(packed) // 2])


def test_two_compressed_segments(tmp_path):
    first = gzip.compress(build_cpio(tmp_path, [MODULES[0]]))
    second = lzma.compress(build_cpio(tmp_path, [MODULES[2]]))
    assert cpio.module_names(cpio.list_bytes(first + second)) == {"virtio_blk", "virtio_pci"}


def test_truncated_and_corrupt_archives_fail_clearly(tmp_path):
    main = build_cpio(tmp_path, MODULES)
    with pytest.raises(cpio.CpioError, match="truncated cpio"):
        cpio.list_bytes(main[:len(main) // 2])
    with pytest.raises(cpio.CpioError, match="truncated gzip"):
        cpio.list_bytes(gzip.compress(main)[:-40])
    broken = bytearray(gzip.compress(main))
    broken[20:40] = b"\xff" * 20
    with pytest.raises(cpio.CpioError, match="corrupt|truncated"):
        cpio.list_bytes(bytes(broken))
    with pytest.raises(cpio.CpioError, match="unknown data"):
        cpio.list_bytes(b"this is not an initramfs")
    second = main.index(b"070701", 6)
    with pytest.raises(cpio.CpioError, match="bad magic"):
        cpio.list_bytes(main[:second] + b"070799" + main[second + 6:])
    empty = tmp_path / "empty.img"
    empty.write_bytes(b"")
    with pytest.raises(cpio.CpioError, match="empty"):
        cpio.list_file(str(empty))


@pytest.mark.needs_tools("zstd")
def test_zstd_missing_everywhere_is_a_clear_error(tmp_path, monkeypatch):
    packed = subprocess.run(["zstd", "-q", "-c"], input=build_cpio(tmp_path, MODULES),
                            stdout=subprocess.PIPE, check=True).stdout
    monkeypatch.setattr(cpio.runner, "which", lambda name, root=None: None)
    with pytest.raises(cpio.CpioError, match="neither the repair host nor the guest has the zstd"):
        cpio.list_bytes(packed, guest_root=str(tmp_path))


def test_module_names_normalise():
    assert cpio.module_name("lib/modules/x/nvme-core.ko.xz") == "nvme_core"
    assert cpio.module_name("lib/modules/x/virtio_blk.ko") == "virtio_blk"
    assert cpio.module_name("lib/modules/x/modules.dep") is None
    assert cpio.module_name("etc/foo.ko.bak") is None
    assert cpio.module_name(".ko") is None


@pytest.mark.needs_tools("zstd")
def test_multiple_zstd_frames(tmp_path):
    main = build_cpio(tmp_path, MODULES)
    half = len(main) // 2
    frames = b"".join(subprocess.run(["zstd", "-q", "-c"], input=part, stdout=subprocess.PIPE, check=True).stdout
                      for part in (main[:half], main[half:]))
    assert "nvme_core" in cpio.module_names(cpio.list_bytes(frames + b"\0" * 100))
