"""The image cache: ``${IMAGE_REPAIR_CACHE:-/var/cache/image-repair}``.

    debs/                         debootstrap's package cache (shared by every root)
    roots/<root_key>.tar.zst      a debootstrap root per suite and package set (shared by layouts)
    images/<key>.img (+ .json)    a built disk image per recipe, and its manifest
    images/<key>-<breakages>.img  a built image with named breakages applied
    mirror/                       the caching Debian mirror used by the tests

Every artefact is built under a temporary name and renamed into place, while holding an exclusive
``flock`` on ``<artefact>.lock``: two processes asking for the same artefact build it once.
"""
import contextlib
import fcntl
import os
from pathlib import Path


def cache_dir() -> Path:
    path = Path(os.environ.get("IMAGE_REPAIR_CACHE") or "/var/cache/image-repair")
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(name: str) -> Path:
    path = cache_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def locked(artefact: Path):
    """Hold the build lock of ``artefact`` (blocks while another process builds it)."""
    lock_path = artefact.with_name(artefact.name + ".lock")
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def temporary_name(artefact: Path) -> Path:
    """Where ``artefact`` is built before the rename; stale ones of a killed build are removed."""
    temp = artefact.with_name(".building-" + artefact.name)
    if temp.exists():
        temp.unlink()
    return temp
