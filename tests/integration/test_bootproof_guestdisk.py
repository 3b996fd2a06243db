"""bootproof.guestdisk on a real small MBR disk image: partition table, filesystem size, files
read from a read-only mount (what the boot suite reads after a guest has powered off)."""
import json
import subprocess

import pytest

from image_repair_lab.bootproof import guestdisk

MIB = 1024 * 1024
pytestmark = pytest.mark.needs_root


@pytest.fixture
def disk(tmp_path):
    image = tmp_path / "disk.img"
    with open(image, "wb") as handle:
        handle.truncate(96 * MIB)
    subprocess.run(["sfdisk", "--quiet", str(image)], input="label: dos\nstart=2048, size=65536, type=L\n",
                   universal_newlines=True, check=True)
    offset, size = 2048 * 512, 65536 * 512
    loop = subprocess.run(["losetup", "--find", "--show", "-o", str(offset), "--sizelimit", str(size), str(image)],
                          stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
    try:
        subprocess.run(["mkfs.ext4", "-q", "-F", loop], check=True)
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        subprocess.run(["mount", loop, str(mnt)], check=True)
        (mnt / "etc").mkdir()
        (mnt / "etc/hostname").write_text("ecs-test-host\n")
        subprocess.run(["umount", str(mnt)], check=True)
    finally:
        subprocess.run(["losetup", "-d", loop], check=True)
    manifest = {"filesystems": [{"mountpoint": "/", "partition": 1, "lvm": None, "fstype": "ext4",
                                 "offset": offset, "size": size}]}
    return image, manifest


def test_partitions_size_and_files(disk):
    image, manifest = disk
    assert guestdisk.partitions(image) == {1: (1 * MIB, 32 * MIB)}
    assert guestdisk.root_partition_bytes(image, manifest) == 32 * MIB
    assert guestdisk.root_filesystem_bytes(image, manifest) == 32 * MIB
    files = guestdisk.read_guest_files(image, manifest, ["/etc/hostname", "/var/lib/cloud/data/status.json"])
    assert files == {"/etc/hostname": "ecs-test-host\n", "/var/lib/cloud/data/status.json": None}


def test_grown_partition_seen_from_the_table(disk):
    """After growpart the manifest's size is stale: the table is read again."""
    image, manifest = disk
    subprocess.run(["sfdisk", "--quiet", "-N", "1", str(image)], input="2048,131072\n", universal_newlines=True,
                   check=True)
    assert guestdisk.root_partition_bytes(image, manifest) == 64 * MIB
    assert guestdisk.root_filesystem_bytes(image, manifest) == 32 * MIB  # the filesystem itself did not grow
    table = json.loads(subprocess.run(["sfdisk", "--json", str(image)], stdout=subprocess.PIPE, check=True).stdout)
    assert table["partitiontable"]["partitions"][0]["size"] == 131072
