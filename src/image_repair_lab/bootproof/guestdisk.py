"""What a booted guest left on its disk: the root filesystem's size (growpart) and the hostname
cloud-init wrote (the AliYun datasource), read after qemu has exited.

The partition table is read again (growpart may have grown the root partition, so the offsets and
sizes of the image's manifest can be stale); filesystems are attached as offset loop devices
(no partition scan here) and mounted read-only without journal replay.
"""
import json
from pathlib import Path

from image_repair.agent.runner import run
from image_repair_lab.testimages.mounts import Mounts, mount_options

SECTOR = 512


def partitions(image: Path) -> dict:
    """{partition number: (offset bytes, size bytes)} from the image's current partition table."""
    _, out = run(["sfdisk", "--json", str(image)])
    result = {}
    for entry in json.loads(out)["partitiontable"]["partitions"]:
        number = int(entry["node"][len(str(image)):].lstrip("p"))
        result[number] = (entry["start"] * SECTOR, entry["size"] * SECTOR)
    return result


def root_region(image: Path, manifest: dict) -> tuple:
    """(offset, size) of the root filesystem now: its partition's, or the LV's from the manifest."""
    root = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    if root["lvm"]:
        return root["offset"], root["size"]
    return partitions(image)[root["partition"]]


def root_partition_bytes(image: Path, manifest: dict) -> int:
    root = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    return partitions(image)[root["partition"]][1]


def filesystem_bytes(device: str, fstype: str) -> int:
    """The size the filesystem itself records (not the device's)."""
    if fstype.startswith("ext"):
        _, out = run(["dumpe2fs", "-h", device])
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return int(fields["Block count"]) * int(fields["Block size"])
    if fstype == "xfs":
        _, out = run(["xfs_db", "-r", "-c", "sb 0", "-c", "p dblocks blocksize", device])
        fields = dict(line.split(" = ", 1) for line in out.splitlines() if " = " in line)
        return int(fields["dblocks"]) * int(fields["blocksize"])
    raise ValueError("filesystem_bytes: %s is not supported" % fstype)


def root_filesystem_bytes(image: Path, manifest: dict) -> int:
    root = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    offset, size = root_region(image, manifest)
    with Mounts() as mounts:
        return filesystem_bytes(mounts.loop(image, offset, size), root["fstype"])


def read_guest_files(image: Path, manifest: dict, paths) -> dict:
    """{guest path: text or None} of files on the root filesystem, mounted read-only."""
    root = next(fs for fs in manifest["filesystems"] if fs["mountpoint"] == "/")
    offset, size = root_region(image, manifest)
    result = {}
    with Mounts() as mounts:
        target = mounts.tempdir("image-repair-bootproof-")
        device = mounts.loop(image, offset, size)
        mounts.mount(device, target, fstype=root["fstype"], options=mount_options(root["fstype"], True))
        for path in paths:
            file = target / path.lstrip("/")
            result[path] = file.read_text(errors="replace") if file.is_file() else None
    return result
