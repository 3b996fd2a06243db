"""Finding the target disk by serial, and the in-use checks, on a fake /sys and /proc tree."""
import os

import pytest

from image_repair.agent.disk import blockdev
from image_repair.agent.errors import BadInput, RefusedDisk


def write(path, content=""):
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    with open(str(path), "w") as handle:
        handle.write(content)


@pytest.fixture
def host(tmp_path):
    """A repair host: vda (system), vdb (virtio, serial bp1data), nvme0n1 (controller serial
    bp1nvme), sda (SCSI, serial only in /dev/disk/by-id), loop0 and zram0 (never targets)."""
    sys_root, dev_root = tmp_path / "sys", tmp_path / "dev"
    write(sys_root / "block/vda/serial", "bp1system\n")
    write(sys_root / "block/vdb/serial", "bp1data\n")
    write(sys_root / "block/nvme0n1/device/serial", "bp1nvme   \n")
    os.makedirs(str(sys_root / "block/sda"))
    write(sys_root / "block/loop0/serial", "bp1data\n")
    write(sys_root / "block/zram0/serial", "bp1data\n")
    os.makedirs(str(dev_root / "disk/by-id"))
    for name in ("vda", "vdb", "sda", "sda1", "nvme0n1"):
        write(dev_root / name)
    links = {"scsi-0QEMU_QEMU_HARDDISK_bp1scsi": "sda", "scsi-0QEMU_QEMU_HARDDISK_bp1scsi-part1": "sda1",
             "virtio-bp1data": "vdb", "nvme-Alibaba_Cloud_Elastic_Block_Storage_bp1nvme": "nvme0n1"}
    for name, target in links.items():
        os.symlink("../../" + target, str(dev_root / "disk/by-id" / name))
    return str(sys_root), str(dev_root)


@pytest.mark.parametrize("serial, expected", [
    ("bp1data", "vdb"),              # virtio: /sys/block/vdb/serial (and its by-id link: one disk)
    ("d-bp1data", "vdb"),            # the disk ID as the console shows it
    ("bp1nvme", "nvme0n1"),          # NVMe: the controller serial, padded with spaces
    ("bp1scsi", "sda"),              # SCSI: only by-id knows it; the -part1 link is not a disk
])
def test_serial_matches_one_disk(host, serial, expected):
    sys_root, dev_root = host
    assert blockdev.find_disk_by_serial(serial, sys_root, dev_root) == os.path.join(dev_root, expected)


def test_serial_matching_no_disk_is_refused(host):
    with pytest.raises(RefusedDisk, match="no disk on this host has the serial 'bp1nothere'"):
        blockdev.find_disk_by_serial("bp1nothere", *host)


def test_serial_is_not_a_substring_match(host):
    with pytest.raises(RefusedDisk):
        blockdev.find_disk_by_serial("data", *host)


def test_serial_matching_several_disks_is_refused(host):
    sys_root, dev_root = host
    write(os.path.join(sys_root, "block/vdc/serial"), "bp1data\n")
    with pytest.raises(RefusedDisk, match=r"matches several disks \(vdb, vdc\)"):
        blockdev.find_disk_by_serial("bp1data", sys_root, dev_root)


def test_empty_serial_is_bad_input(host):
    with pytest.raises(BadInput):
        blockdev.find_disk_by_serial("  ", *host)


@pytest.fixture
def stacked(tmp_path):
    """vdb with partitions vdb1 (held by dm-0) and vdb2 (backing loop3); vdc untouched."""
    sys_root, dev_root, proc_root = tmp_path / "sys", tmp_path / "dev", tmp_path / "proc"
    write(sys_root / "block/vdb/dev", "252:16\n")
    write(sys_root / "block/vdb/vdb1/dev", "252:17\n")
    write(sys_root / "block/vdb/vdb1/partition", "1\n")
    write(sys_root / "block/vdb/vdb1/holders/dm-0/.keep")
    write(sys_root / "block/vdb/vdb2/dev", "252:18\n")
    write(sys_root / "block/vdb/vdb2/partition", "2\n")
    write(sys_root / "block/dm-0/dev", "253:0\n")
    write(sys_root / "block/loop3/dev", "7:3\n")
    write(sys_root / "block/loop3/loop/backing_file", str(dev_root / "vdb2") + "\n")
    write(sys_root / "block/vdc/dev", "252:32\n")
    os.makedirs(str(sys_root / "class/block"))
    for name, target in (("vdb1", "../../block/vdb/vdb1"), ("vdb2", "../../block/vdb/vdb2")):
        os.symlink(target, str(sys_root / "class/block" / name))
    write(dev_root / "vdb2")
    write(proc_root / "swaps", "Filename\tType\tSize\tUsed\tPriority\n")
    write(proc_root / "self/mountinfo", "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n")
    return str(sys_root), str(dev_root), str(proc_root)


def test_disk_users_follow_partitions_holders_and_loops(stacked):
    sys_root, dev_root, _ = stacked
    assert blockdev.disk_users("vdb", sys_root, dev_root) == {
        "252:16": "vdb", "252:17": "vdb1", "252:18": "vdb2", "253:0": "dm-0", "7:3": "loop3"}


@pytest.mark.parametrize("line, culprit", [
    ("40 27 253:0 / /srv rw - xfs /dev/mapper/vg-srv rw\n", "dm-0 is mounted on /srv"),
    ("41 27 7:3 / /mnt/x rw - ext4 /dev/loop3 rw\n", "loop3 is mounted on /mnt/x"),
    ("42 27 252:17 / / rw - ext4 /dev/vdb1 rw\n", "holds the running system's root"),
])
def test_a_mount_anywhere_on_the_disk_refuses_it(stacked, line, culprit):
    sys_root, dev_root, proc_root = stacked
    with open(os.path.join(proc_root, "self/mountinfo"), "a") as handle:
        handle.write(line)
    with pytest.raises(RefusedDisk, match=culprit):
        blockdev.refuse_if_in_use(blockdev.disk_users("vdb", sys_root, dev_root), "disk /dev/vdb", proc_root)
    # another disk of the same host is not affected
    blockdev.refuse_if_in_use(blockdev.disk_users("vdc", sys_root, dev_root), "disk /dev/vdc", proc_root)


def test_an_unused_disk_passes(stacked):
    sys_root, dev_root, proc_root = stacked
    blockdev.refuse_if_in_use(blockdev.disk_users("vdb", sys_root, dev_root), "disk /dev/vdb", proc_root)


def test_mountinfo_escapes_are_decoded(stacked):
    sys_root, dev_root, proc_root = stacked
    with open(os.path.join(proc_root, "self/mountinfo"), "a") as handle:
        handle.write("43 27 7:3 / /mnt/with\\040space rw - ext4 /dev/loop3 rw\n")
    with pytest.raises(RefusedDisk, match="/mnt/with space"):
        blockdev.refuse_if_in_use(blockdev.disk_users("vdb", sys_root, dev_root), "disk /dev/vdb", proc_root)


def test_kernel_partitions_of_a_disk(tmp_path, monkeypatch):
    """The kernel's partition nodes by (start, size) in bytes, from sysfs' 512-byte sectors."""
    sys_root, dev_root = tmp_path / "sys", tmp_path / "dev"
    write(sys_root / "block/vdb/vdb1/partition", "1\n")
    write(sys_root / "block/vdb/vdb1/start", "2048\n")
    write(sys_root / "block/vdb/vdb1/size", "204800\n")
    write(sys_root / "block/vdb/vdb15/partition", "15\n")
    write(sys_root / "block/vdb/vdb15/start", "206848\n")
    write(sys_root / "block/vdb/vdb15/size", "8192\n")
    write(sys_root / "block/vdb/queue/logical_block_size", "512\n")
    for name in ("vdb", "vdb1", "vdb15"):
        write(dev_root / name)
    monkeypatch.setattr(blockdev, "sysfs_name", lambda device, sys_root: ("vdb", False))
    assert blockdev.kernel_partitions(str(dev_root / "vdb"), str(sys_root), str(dev_root)) == {
        (1048576, 104857600): str(dev_root / "vdb1"), (105906176, 4194304): str(dev_root / "vdb15")}
