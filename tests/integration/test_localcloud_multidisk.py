"""Issue 13's repair host holding several images' disks, on the disk-backed local cloud through the
real ECS SDK: one host, two disks made by CreateDisk from two broken images' system snapshots,
attached by AttachDisk (each its own loop device under its own serial), each repaired by its own
run of the real agent (the public repair command, fstab only: fast, no packages) that touches only
the disk whose serial it was given; then both detached (loop devices released), snapshotted, and
checked repaired by the agent's check-disk. Needs root (loop devices, mount namespaces)."""
import json
import os
import subprocess
import sys

import pytest
from alibabacloud_ecs20140526 import models as m
from darabonba.runtime import RuntimeOptions

from image_repair.emulator.localcloud import LocalCloud
from image_repair.testing import ecs_client, mock_ecs

from .test_emulator_localcloud import loops_of, until   # the single-disk test's polling and loop listing

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"
ZONE = "cn-hangzhou-h"

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def broken_guests():
    """Two cached Debian guests whose fstab names devices the way a VMware import does."""
    from image_repair_lab.testimages import Recipe, broken_image
    return [str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path),
            str(broken_image(Recipe(firmware="bios", initramfs="dracut", rootfs="ext4", layout="plain"),
                             ["device_names"]).path)]


def disk_of(client, disk_id):
    return client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=R, disk_ids=json.dumps([disk_id])), RT).body.disks.disk[0]


def written_at(path):
    """When the disk's file was last written: a loop device's writes update its backing file's
    modification time as they happen (cheaper than hashing gigabytes)."""
    return os.stat(path).st_mtime_ns


def repair(client, host, serial):
    invoke_id = client.invoke_command_with_options(m.InvokeCommandRequest(
        region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[host], timeout=900,
        parameters={"repairitems": "fstab", "disk_serial": serial}), RT).body.invoke_id
    return until(lambda: client.describe_invocation_results_with_options(m.DescribeInvocationResultsRequest(
        region_id=R, invoke_id=invoke_id, content_encoding="PlainText"),
        RT).body.invocation.invocation_results.invocation_result[0],
        lambda r: r.invocation_status not in ("Pending", "Running"))


def test_one_host_repairs_two_images_disks_each_agent_run_on_its_own_disk(tmp_path, broken_guests):
    folder = tmp_path / "cloud"
    inputs_changed = [os.stat(path).st_mtime_ns for path in broken_guests]
    with mock_ecs() as ecs, LocalCloud(ecs, str(folder)) as cloud:
        client = ecs_client(ecs)
        images = [cloud.add_image(path, name="imported-%d" % index, platform="Debian", check=False)
                  for index, path in enumerate(broken_guests)]
        snapshots = [ecs.images[image_id].mappings[0].snapshot_id for image_id in images]

        host = client.run_instances_with_options(m.RunInstancesRequest(
            region_id=R, image_id="aliyun_3_x64_20G_alibase_20250629.vhd", instance_type="ecs.g7.large",
            v_switch_id="vsw-bp1emulator00000000h", security_group_id="sg-bp1emulator0000000000"),
            RT).body.instance_id_sets.instance_id_set[0]
        disks = [client.create_disk_with_options(m.CreateDiskRequest(
            region_id=R, zone_id=ZONE, snapshot_id=snapshot_id, disk_category="cloud_essd", size=20,
            client_token="pool-%s" % snapshot_id), RT).body.disk_id for snapshot_id in snapshots]
        for disk_id in disks:       # Creating while its file is copied, then Available on no loop device
            until(lambda: disk_of(client, disk_id).status, lambda status: status == "Available")
        assert loops_of(folder) == []
        for disk_id in disks:
            client.attach_disk_with_options(m.AttachDiskRequest(instance_id=host, disk_id=disk_id), RT)
        attached = [until(lambda: disk_of(client, disk_id), lambda d: d.status == "In_use") for disk_id in disks]
        assert [d.device for d in attached] == ["/dev/xvdb", "/dev/xvdc"]
        assert [d.serial_number for d in attached] == [disk_id[2:] for disk_id in disks]
        assert len(loops_of(folder / "disks")) == 2

        files = [ecs.disks[disk_id].backing_file for disk_id in disks]
        for index, disk in enumerate(attached):
            others_before = [written_at(path) for n, path in enumerate(files) if n != index]
            mine_before = written_at(files[index])
            result = repair(client, host, disk.serial_number)
            assert result.invocation_status == "Success", result.output
            report = json.loads(result.output)
            assert report["disk"]["serial"] == disk.serial_number
            assert {i["name"]: i["status"] for i in report["items"]} == {"fstab": "repaired"}
            assert [written_at(path) for n, path in enumerate(files) if n != index] == others_before
            assert written_at(files[index]) != mine_before

        for disk_id in disks:
            client.detach_disk_with_options(m.DetachDiskRequest(instance_id=host, disk_id=disk_id), RT)
        for disk_id in disks:
            until(lambda: disk_of(client, disk_id).status, lambda status: status == "Available")
        assert loops_of(folder) == []
        for disk_id in disks:
            snapshot_id = client.create_snapshot_with_options(m.CreateSnapshotRequest(disk_id=disk_id),
                                                              RT).body.snapshot_id
            until(lambda: ecs.snapshots[snapshot_id].status, lambda status: status == "accomplished")
            checked = subprocess.run([sys.executable, cloud.agent, "check-disk", ecs.snapshots[snapshot_id].backing_file,
                                      "--json", "--quiet"], stdout=subprocess.PIPE, universal_newlines=True, timeout=900)
            items = {i["name"]: i["status"] for i in json.loads(checked.stdout)["items"]}
            assert items["fstab"] == "ok", checked.stdout
    assert [os.stat(path).st_mtime_ns for path in broken_guests] == inputs_changed     # inputs only ever read
    assert loops_of(tmp_path) == []


def test_an_empty_disk_is_a_sparse_file_of_its_size_on_its_own_loop_device(tmp_path):
    folder = tmp_path / "cloud"
    with mock_ecs() as ecs, LocalCloud(ecs, str(folder)):
        client = ecs_client(ecs)
        host = client.run_instances_with_options(m.RunInstancesRequest(
            region_id=R, image_id="aliyun_3_x64_20G_alibase_20250629.vhd", instance_type="ecs.g7.large",
            v_switch_id="vsw-bp1emulator00000000h", security_group_id="sg-bp1emulator0000000000"),
            RT).body.instance_id_sets.instance_id_set[0]
        disk_id = client.create_disk_with_options(m.CreateDiskRequest(
            region_id=R, zone_id=ZONE, size=20, disk_category="cloud_essd"), RT).body.disk_id
        path = folder / "disks" / (disk_id + ".img")
        assert path.stat().st_size == 20 * 1024 ** 3 and path.stat().st_blocks == 0
        client.attach_disk_with_options(m.AttachDiskRequest(instance_id=host, disk_id=disk_id), RT)
        until(lambda: disk_of(client, disk_id).status, lambda status: status == "In_use")
        [loop] = loops_of(folder / "disks")
        device = loop.split(" ", 1)[0]
        size = subprocess.run(["blockdev", "--getsize64", device], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip()
        assert size == str(20 * 1024 ** 3)
        client.detach_disk_with_options(m.DetachDiskRequest(instance_id=host, disk_id=disk_id), RT)
        until(lambda: disk_of(client, disk_id).status, lambda status: status == "Available")
        assert loops_of(folder) == []
        client.delete_disk_with_options(m.DeleteDiskRequest(disk_id=disk_id), RT)
        assert not path.exists()
