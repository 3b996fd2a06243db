"""The disk-backed mode (local cloud) with the real ECS SDK: an image from a real Debian disk
image file (broken the way VMware imports are), its check by the agent's check-disk, a repair
instance whose data disk is a loop device found by serial, the agent delivered by SendFile and run
by RunCommand, the public repair command run by InvokeCommand, the host released with the repaired
disk kept (Available, off its loop device), a snapshot of that disk and a new image whose check
shows the repaired item fixed. Needs root (loop devices, mount namespaces)."""
import base64
import json
import os
import subprocess
import time

import pytest
from alibabacloud_ecs20140526 import models as m
from darabonba.runtime import RuntimeOptions

from image_repair.control.agent_build import build_zipapp
from image_repair.emulator.localcloud import LocalCloud
from image_repair.testing import ecs_client, mock_ecs

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def broken_debian():
    from image_repair_lab.testimages import Recipe, broken_image
    return str(broken_image(Recipe(firmware="bios", rootfs="ext4", layout="plain"), ["vmware"]).path)


def until(probe, done, timeout=600):
    """Poll like a client of the real API: the local cloud's copies, checks and commands run in
    the background while the resources hold their status."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        assert time.monotonic() < deadline, "still %r" % (value,)
        time.sleep(0.2)


def risks(client, image_id):
    image = until(lambda: client.describe_images_with_options(m.DescribeImagesRequest(
        region_id=R, image_id=image_id), RT).body.images.image[0], lambda i: i.detection_options.status == "Finished")
    return {i.name: i.risk_level for i in image.detection_options.items.item if i.risk_level}, image


def result_of(client, invoke_id):
    return until(lambda: client.describe_invocation_results_with_options(m.DescribeInvocationResultsRequest(
        region_id=R, invoke_id=invoke_id, content_encoding="PlainText"), RT).body.invocation.invocation_results.invocation_result[0],
        lambda r: r.invocation_status not in ("Pending", "Running"))


def instance_status(client, instance_id):
    return client.describe_instances_with_options(m.DescribeInstancesRequest(
        region_id=R, instance_ids=json.dumps([instance_id])), RT).body.instances.instance[0].status


def loops_of(folder):
    """Loop devices whose backing file lies under ``folder`` (full paths, from sysfs)."""
    listing = subprocess.run(["losetup", "--list", "--noheadings", "--raw", "-O", "NAME,BACK-FILE"],
                             stdout=subprocess.PIPE, universal_newlines=True).stdout
    return [line for line in listing.splitlines() if line.split(" ", 1)[-1].startswith(str(folder))]


def test_local_cloud_repairs_an_image_end_to_end(tmp_path, broken_debian):
    with mock_ecs() as ecs, LocalCloud(ecs, str(tmp_path / "cloud")) as cloud:
        client = ecs_client(ecs)
        image_id = cloud.add_image(broken_debian, name="imported-debian", platform="Debian")
        before, image = risks(client, image_id)
        assert before["GUESTOS.Fstab"] == "High" and before["GUESTOS.Virtio"] == "High"
        snapshot_id = image.disk_device_mappings.disk_device_mapping[0].snapshot_id

        instance_id = client.run_instances_with_options(m.RunInstancesRequest(
            region_id=R, image_id="aliyun_3_x64_20G_alibase_20250629.vhd", instance_type="ecs.g7.large",
            v_switch_id="vsw-bp1emulator00000000h", security_group_id="sg-bp1emulator0000000000",
            data_disk=[m.RunInstancesRequestDataDisk(snapshot_id=snapshot_id)]), RT).body.instance_id_sets.instance_id_set[0]
        assert instance_status(client, instance_id) == "Pending"  # held while its disk is copied
        until(lambda: instance_status(client, instance_id), lambda status: status == "Running")
        disk = client.describe_disks_with_options(m.DescribeDisksRequest(
            region_id=R, instance_id=instance_id, disk_type="data"), RT).body.disks.disk[0]
        assert len(loops_of(tmp_path / "cloud" / "disks")) == 1

        # The agent, delivered by SendFile in chunks, run by RunCommand against the disk's serial.
        data = build_zipapp()
        chunks = [data[i:i + 24000] for i in range(0, len(data), 24000)]
        for index, chunk in enumerate(chunks):
            client.send_file_with_options(m.SendFileRequest(
                region_id=R, instance_id=[instance_id], target_dir="/root", name="agent.part%02d" % index,
                content=base64.b64encode(chunk).decode(), content_type="Base64"), RT)
        check = client.run_command_with_options(m.RunCommandRequest(
            region_id=R, instance_id=[instance_id], type="RunShellScript", timeout=600,
            command_content="cat /root/agent.part* > /root/agent.pyz && python3 /root/agent.pyz check-disk "
                            "--serial {{serial}} --json --quiet", enable_parameter=True,
            parameters={"serial": disk.serial_number}), RT).body.invoke_id
        checked = result_of(client, check)
        assert (checked.invocation_status, checked.exit_code) == ("Failed", 1)  # at risk: exit 1
        report = json.loads(checked.output)
        assert report["disk"]["serial"] == disk.serial_number and report["disk"]["kind"] == "serial"
        assert not os.path.exists("/root/agent.pyz")  # delivered into the instance, not onto the host

        # The public repair command: the agent's repair-disk --serial, fstab only (fast, no packages).
        repair = client.invoke_command_with_options(m.InvokeCommandRequest(
            region_id=R, command_id="ACS-ECS-ImageRepair-for-linux.sh", instance_id=[instance_id], timeout=900,
            parameters={"repairitems": "fstab", "disk_serial": disk.serial_number}), RT).body.invoke_id
        repaired = result_of(client, repair)
        assert repaired.invocation_status == "Success", repaired.output
        assert {i["name"]: i["status"] for i in json.loads(repaired.output)["items"]} == {"fstab": "repaired"}

        # The host goes as soon as the repair is done; the repaired disk outlives it (DeleteWithInstance
        # off), Available with its file kept and its loop device released, and is snapshotted so.
        client.modify_disk_attribute_with_options(m.ModifyDiskAttributeRequest(
            region_id=R, disk_id=disk.disk_id, delete_with_instance=False), RT)
        client.delete_instance_with_options(m.DeleteInstanceRequest(instance_id=instance_id, force=True), RT)
        kept = until(lambda: client.describe_disks_with_options(m.DescribeDisksRequest(
            region_id=R, disk_ids=json.dumps([disk.disk_id])), RT).body.disks.disk[0],
            lambda found: found.status == "Available")
        assert kept.instance_id == "" and kept.detached_time
        assert loops_of(tmp_path / "cloud" / "disks") == []
        assert os.listdir(tmp_path / "cloud" / "disks") == [disk.disk_id + ".img"]
        snap = client.create_snapshot_with_options(m.CreateSnapshotRequest(disk_id=disk.disk_id), RT).body.snapshot_id
        until(lambda: client.describe_snapshots_with_options(m.DescribeSnapshotsRequest(
            region_id=R, snapshot_ids=json.dumps([snap])), RT).body.snapshots.snapshot[0].status,
            lambda status: status == "accomplished")
        client.delete_disk_with_options(m.DeleteDiskRequest(disk_id=disk.disk_id), RT)
        assert os.listdir(tmp_path / "cloud" / "disks") == []
        new_image = client.create_image_with_options(m.CreateImageRequest(
            region_id=R, snapshot_id=snap, platform="Debian", detection_strategy="Standard"), RT).body.image_id
        after, described = risks(client, new_image)
        assert "GUESTOS.Fstab" not in after and after["GUESTOS.Virtio"] == "High"
        assert {i.name: i.value for i in described.detection_options.items.item}["Platform"] == "Debian"

    assert loops_of(tmp_path) == []


def test_seed_sequence_against_the_served_local_cloud(tmp_path, broken_debian):
    """The acceptance script, unchanged, on `emulator serve --local-cloud --image`: the agent
    really repairs the data disk (fstab only: no packages, no network) and the new image's check
    no longer finds the fstab risk; stopping the server leaves no loop device."""
    import re
    import sys
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    process = subprocess.Popen([sys.executable, "-m", "image_repair", "emulator", "serve", "--port", "0",
                                "--latency", "fast", "--local-cloud", str(tmp_path / "cloud"),
                                "--image", broken_debian + "=imported"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, cwd=root)
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert lines[0].startswith("image m-"), lines + [process.stderr.read()]
        image_id = lines[0].split()[1]
        endpoint = re.search(r"http://(127\.0\.0\.1:\d+)", lines[1]).group(1)
        config = tmp_path / "sequence.json"
        config.write_text(json.dumps({"repair_image_id": image_id, "repair_items": ["fstab"]}))
        run = subprocess.run([sys.executable, os.path.join(root, "examples", "seed_sequence.py"), "--endpoint", endpoint,
                              "--time-scale", "600", "--config", str(config)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
        assert run.returncode == 0, run.stderr + run.stdout
        assert "image %s: Debian x86_64" % image_id in run.stdout  # platform found by the check
        result = json.loads(run.stdout[run.stdout.rindex("\n{") + 1:])
        report = json.loads(result["repair_output"])
        assert report["disk"]["serial"] == result["disk_serial"]
        assert {i["name"]: i["status"] for i in report["items"]} == {"fstab": "repaired"}
        assert "GUESTOS.Fstab" not in result["risks"] and "GUESTOS.Virtio" in result["risks"]
    finally:
        process.terminate()
        process.wait(60)
    assert process.returncode == 0
    assert loops_of(tmp_path / "cloud") == []
