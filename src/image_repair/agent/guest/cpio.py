"""List the files of an initramfs image in pure Python, to see which kernel modules it carries.

An initramfs is one or more cpio archives (``newc`` or ``crc`` format) laid end to end, each
possibly compressed: dracut and Ubuntu put an uncompressed early-microcode archive first, then the
main archive compressed with gzip, xz, lzma, bzip2, zstd or lz4. The kernel unpacks them in turn,
skipping zero padding between them; so do we.

gzip, xz, lzma and bzip2 are in the standard library. zstd and lz4 are not: they are piped through
the ``zstd``/``lz4`` binary of the repair host, or, when the host lacks it, the one of the guest
(run in its chroot, which writes nothing), so listing works on a read-only mount.
"""
import bz2
import lzma
import os
import subprocess
import zlib

from .. import runner
from ..errors import AgentError

NEWC_MAGIC = b"070701"
CRC_MAGIC = b"070702"
HEADER_SIZE = 110
TRAILER = "TRAILER!!!"

# Suffixes of kernel module files, longest first so ".ko.xz" is not taken for ".ko".
MODULE_SUFFIXES = (".ko.zst", ".ko.xz", ".ko.gz", ".ko")

# Magic numbers of the compressions an initramfs segment may use.
_GZIP = b"\x1f\x8b"
_XZ = b"\xfd7zXZ\x00"
_BZIP2 = b"BZh"
_ZSTD = b"\x28\xb5\x2f\xfd"
_LZ4_LEGACY = b"\x02\x21\x4c\x18"  # the kernel's "lz4 -l" format
_LZ4_FRAME = b"\x04\x22\x4d\x18"
_LZO = b"\x89LZO"
# lzma "alone" streams have no magic: properties byte 0x5d and a 32-bit dictionary size follow.
_LZMA_PROPS = b"\x5d\x00\x00"


class CpioError(AgentError):
    """An initramfs that cannot be listed: truncated, corrupt, or in an unknown format."""


def _pipe_through(argv, data, env=None):
    """Feed ``data`` to ``argv`` and return its binary stdout.

    runner.run is text-only (universal_newlines); decompressed archives are binary, hence this
    small binary pipe."""
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
    except OSError as error:
        raise CpioError("cannot run %s: %s" % (argv[0], error))
    output, errors = proc.communicate(data)
    if proc.returncode != 0:
        raise CpioError("%s failed (exit %d): %s" % (" ".join(argv), proc.returncode,
                                                     errors.decode("utf-8", "replace").strip()))
    return output


def _external(tool, data, guest_root):
    """Decompress ``data`` with ``tool -dc``, from the host, else from the guest's chroot."""
    if runner.which(tool):
        return _pipe_through([tool, "-d", "-c"], data)
    if guest_root and runner.which(tool, root=guest_root):
        return _pipe_through(["chroot", guest_root, tool, "-d", "-c"], data, env=dict(runner.CHROOT_ENV))
    raise CpioError("the initramfs is %s-compressed and neither the repair host nor the guest has "
                    "the %s binary" % (tool, tool))


def _u32(data, offset):
    if offset + 4 > len(data):
        raise CpioError("truncated compressed stream in the initramfs")
    return int.from_bytes(data[offset:offset + 4], "little")


def _zstd_end(data):
    """Offset just after the zstd frames at the start of ``data``.

    The zstd binary rejects the zero padding that follows the stream in an initramfs, so the
    frames are measured from their headers (RFC 8878, section 3.1.1) and passed alone."""
    offset = 0
    while data[offset:offset + 4] == _ZSTD:
        descriptor = data[offset + 4] if offset + 4 < len(data) else 0
        single_segment = descriptor & 0x20
        size_field = (0, 2, 4, 8)[descriptor >> 6] or (1 if single_segment else 0)
        offset += 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 3] + size_field
        while True:
            if offset + 3 > len(data):
                raise CpioError("truncated zstd stream in the initramfs")
            block = int.from_bytes(data[offset:offset + 3], "little")
            block_type = (block >> 1) & 3
            if block_type == 3:
                raise CpioError("corrupt zstd stream in the initramfs (reserved block type)")
            offset += 3 + (1 if block_type == 1 else block >> 3)
            if block & 1:
                break
        offset += 4 if descriptor & 4 else 0
    if offset > len(data):
        raise CpioError("truncated zstd stream in the initramfs")
    return offset


def _lz4_end(data):
    """Offset just after the lz4 stream (legacy or frame format) at the start of ``data``; the lz4
    binary, too, fails on trailing padding."""
    offset = 0
    if data.startswith(_LZ4_LEGACY):
        offset = 4
        while offset + 4 <= len(data):
            size = _u32(data, offset)
            if size == 0 or data[offset:offset + 4] == _LZ4_LEGACY or offset + 4 + size > len(data):
                # Padding, the next legacy stream (lz4 reads on), or what follows the stream (a
                # cut block would leave the archive short: the cpio parser reports it).
                break
            offset += 4 + size
        return offset
    flags = data[4] if len(data) > 4 else 0
    offset = 4 + 2 + (8 if flags & 0x08 else 0) + (4 if flags & 0x01 else 0) + 1
    while True:
        size = _u32(data, offset)
        offset += 4
        if size == 0:
            break
        offset += (size & 0x7FFFFFFF) + (4 if flags & 0x10 else 0)
    offset += 4 if flags & 0x04 else 0
    if offset > len(data):
        raise CpioError("truncated lz4 stream in the initramfs")
    return offset


def _decompress(data, guest_root):
    """Decompress one compressed segment. Returns ``(plain, rest)``: ``rest`` is what follows the
    compressed stream (more segments or padding)."""
    head = data[:6]
    try:
        if head.startswith(_GZIP):
            decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            plain = decompressor.decompress(data)
            if not decompressor.eof:
                raise CpioError("truncated gzip stream in the initramfs")
            return plain, decompressor.unused_data
        if head.startswith(_XZ) or head.startswith(_LZMA_PROPS):
            form = lzma.FORMAT_XZ if head.startswith(_XZ) else lzma.FORMAT_ALONE
            decompressor = lzma.LZMADecompressor(format=form)
            plain = decompressor.decompress(data)
            if not decompressor.eof and form == lzma.FORMAT_XZ:
                raise CpioError("truncated xz stream in the initramfs")
            return plain, decompressor.unused_data if decompressor.eof else b""
        if head.startswith(_BZIP2):
            decompressor = bz2.BZ2Decompressor()
            plain = decompressor.decompress(data)
            if not decompressor.eof:
                raise CpioError("truncated bzip2 stream in the initramfs")
            return plain, decompressor.unused_data
    except (zlib.error, lzma.LZMAError, OSError, EOFError) as error:
        raise CpioError("corrupt compressed stream in the initramfs: %s" % error)
    if head.startswith(_ZSTD):
        end = _zstd_end(data)
        return _external("zstd", data[:end], guest_root), data[end:]
    if head.startswith(_LZ4_LEGACY) or head.startswith(_LZ4_FRAME):
        end = _lz4_end(data)
        return _external("lz4", data[:end], guest_root), data[end:]
    if head.startswith(_LZO):
        raise CpioError("lzo-compressed initramfs images are not supported")
    raise CpioError("unknown data in the initramfs (starts with %r)" % head)


def _parse_newc(data, offset, names):
    """Read one cpio archive starting at ``offset``; append its file names. Returns the offset
    just after its trailer."""
    while True:
        header = data[offset:offset + HEADER_SIZE]
        if len(header) < HEADER_SIZE:
            raise CpioError("truncated cpio archive: header at offset %d cut short" % offset)
        magic = header[:6]
        if magic not in (NEWC_MAGIC, CRC_MAGIC):
            raise CpioError("corrupt cpio archive: bad magic %r at offset %d" % (magic, offset))
        try:
            file_size = int(header[54:62], 16)
            name_size = int(header[94:102], 16)
        except ValueError:
            raise CpioError("corrupt cpio archive: bad header fields at offset %d" % offset)
        name_start = offset + HEADER_SIZE
        name_end = name_start + name_size
        if name_size < 1 or name_end > len(data):
            raise CpioError("truncated cpio archive: file name at offset %d cut short" % name_start)
        name = data[name_start:name_end - 1].decode("utf-8", "surrogateescape")
        data_start = (name_end + 3) & ~3
        data_end = data_start + file_size
        if data_end > len(data):
            raise CpioError("truncated cpio archive: %s needs %d bytes, %d left"
                            % (name, file_size, max(0, len(data) - data_start)))
        offset = (data_end + 3) & ~3
        if name == TRAILER:
            return offset
        names.append(name)


def _skip_padding(data, offset):
    while offset < len(data) and data[offset] == 0:
        offset += 1
    return offset


def list_bytes(data, guest_root=None):
    """File names in the initramfs ``data`` (every concatenated archive, in order)."""
    names = []
    pending = [data]
    while pending:
        chunk = pending.pop(0)
        offset = _skip_padding(chunk, 0)
        while offset < len(chunk):
            if chunk[offset:offset + 6] in (NEWC_MAGIC, CRC_MAGIC):
                offset = _skip_padding(chunk, _parse_newc(chunk, offset, names))
                continue
            if chunk[offset:offset + 6] == b"070707":
                raise CpioError("old-style (odc) cpio archives are not supported")
            plain, rest = _decompress(chunk[offset:], guest_root)
            # The decompressed stream holds archives; what follows it may hold more segments.
            pending[:0] = [plain, rest] if rest.strip(b"\x00") else [plain]
            if not plain:
                raise CpioError("empty compressed stream in the initramfs")
            break
    return names


def list_file(host_path, guest_root=None):
    """File names in the initramfs at ``host_path`` (a host path: use GuestFS.host_path)."""
    try:
        with open(host_path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as error:
        raise CpioError("cannot read initramfs %s: %s" % (host_path, error))
    if not data:
        raise CpioError("initramfs %s is empty" % host_path)
    return list_bytes(data, guest_root)


def module_name(path):
    """``virtio_blk`` for ``.../virtio-blk.ko.xz``; None when ``path`` is not a kernel module."""
    base = os.path.basename(path)
    for suffix in MODULE_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            return normalise(base[:-len(suffix)])
    return None


def normalise(name):
    """Module names are the same with '-' or '_' (the kernel treats them alike)."""
    return name.replace("-", "_")


def module_names(paths):
    """The set of module names among the file ``paths`` of an initramfs."""
    found = set()
    for path in paths:
        name = module_name(path)
        if name:
            found.add(name)
    return found


def list_modules(host_path, guest_root=None):
    """The set of kernel module names (``virtio_blk``...) in the initramfs at ``host_path``."""
    return module_names(list_file(host_path, guest_root))
