"""Fingerprints that show whether a repair wrote anything: of a sparse image file, and of guest files."""
import hashlib
import os
from pathlib import Path


def image_digest(path) -> str:
    """SHA-256 over the data extents of a sparse file (holes skipped by SEEK_DATA/SEEK_HOLE), so a
    3 GiB image with 700 MiB of data hashes in seconds; any written byte changes it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        fd = handle.fileno()
        size = os.fstat(fd).st_size
        offset = 0
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole is left
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            digest.update(b"%d:" % start)
            os.lseek(fd, start, os.SEEK_SET)
            remaining = end - start
            while remaining:
                block = os.read(fd, min(remaining, 8 * 1024 * 1024))
                digest.update(block)
                remaining -= len(block)
            offset = end
        digest.update(b"size:%d" % size)
    return digest.hexdigest()


def tree_digest(root: Path, guest_dirs=("/etc", "/boot", "/usr/sbin", "/usr/local", "/var/lib/dpkg")) -> dict:
    """{guest path: sha256 or link target} of every file under ``guest_dirs`` of a mounted guest."""
    result = {}
    for guest_dir in guest_dirs:
        top = Path(root) / guest_dir.lstrip("/")
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                key = "/" + str(path.relative_to(root))
                if path.is_symlink():
                    result[key] = "-> " + os.readlink(path)
                elif path.is_file():
                    result[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return result
