#!/usr/bin/env python3
"""The ACS-ECS-RepairImage seed template's whole sequence of ECS calls, with the real
alibabacloud_ecs20140526 SDK only, minus the template's defects (see
../shared/reference/alibaba-cloud.md section 2): system disk found by Type, data disk by
DiskType=data and source snapshot, ClientTokens and tags on every create, no fixed sleeps, the
new image awaited and its check read, and the repair instance released on every path.

Against the emulator server:
    image-repair emulator serve --port 8765 --latency fast &
    python examples/seed_sequence.py --endpoint 127.0.0.1:8765 --time-scale 600
Against the real cloud: drop --endpoint, pass your own key, image and network IDs.
"""
import argparse
import json
import sys
import time
import uuid
from typing import Callable, Dict

from alibabacloud_ecs20140526 import models as m
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from darabonba.runtime import RuntimeOptions

RUNTIME = RuntimeOptions(autoretry=False)
PLATFORM_FOR_CREATE = {"Red Hat": "RedHat"}  # DescribeImages and CreateImage spell it differently
REPAIR_COMMAND = "ACS-ECS-ImageRepair-for-linux.sh"

DEFAULTS = {
    "region": "cn-hangzhou", "repair_image_id": "m-bp1emulatorbrokenimg01",
    "base_image_id": "aliyun_3_x64_20G_alibase_20250629.vhd", "instance_type": "ecs.g7.large",
    "security_group_id": "sg-bp1emulator0000000000", "vswitch_id": "vsw-bp1emulator00000000h",
    "zone_id": "cn-hangzhou-h", "system_disk_category": "cloud_essd",
    "repair_items": ["assist", "cloudinit", "virtio", "nvme", "fstab", "grub", "dhcp", "growpart"],
}


class SequenceFailed(Exception):
    pass


def wait_for(what: str, probe: Callable[[], object], done: Callable[[object], bool],
             sleep: Callable[[float], None], interval: float = 5.0, timeout: float = 3600.0):
    """Poll ``probe`` every ``interval`` (virtual) seconds until ``done``; no fixed sleeps."""
    waited = 0.0
    while True:
        value = probe()
        if done(value):
            return value
        if waited >= timeout:
            raise SequenceFailed("timed out waiting for %s (last: %r)" % (what, value))
        sleep(interval)
        waited += interval


def wait_invocation(client: Client, region: str, invoke_id: str, sleep) -> m.DescribeInvocationResultsResponseBodyInvocationInvocationResultsInvocationResult:
    def probe():
        body = client.describe_invocation_results_with_options(m.DescribeInvocationResultsRequest(
            region_id=region, invoke_id=invoke_id, content_encoding="PlainText"), RUNTIME).body
        return body.invocation.invocation_results.invocation_result[0]
    result = wait_for("invocation " + invoke_id, probe,
                      lambda r: r.invocation_status not in ("Pending", "Running"), sleep, interval=5)
    if result.invocation_status != "Success":
        raise SequenceFailed("invocation %s: %s %s %s" % (invoke_id, result.invocation_status,
                                                          result.error_code, result.output))
    return result


def release_instance(client: Client, instance_id: str, sleep, log) -> None:
    """DeleteInstance answers IncorrectInstanceStatus.Initializing during the first minute: retry."""
    for _ in range(30):
        try:
            client.delete_instance_with_options(m.DeleteInstanceRequest(instance_id=instance_id, force=True), RUNTIME)
            log("released %s" % instance_id)
            return
        except ClientException as exc:
            if exc.code != "IncorrectInstanceStatus.Initializing":
                raise
            log("%s is initializing, retrying DeleteInstance" % instance_id)
            sleep(10)
    raise SequenceFailed("could not release %s" % instance_id)


def run_sequence(client: Client, cfg: Dict, sleep: Callable[[float], None] = time.sleep,
                 log: Callable[[str], None] = print) -> Dict:
    region, run_id = cfg["region"], cfg.get("run_id") or uuid.uuid4().hex[:12]
    tag = [{"Key": "image-repair:run", "Value": run_id}]
    # 1. The image to repair: its system disk's snapshot, found by Type (not by position).
    image = client.describe_images_with_options(m.DescribeImagesRequest(
        region_id=region, image_id=cfg["repair_image_id"]), RUNTIME).body.images.image[0]
    checks = {i.name: i.value for i in (image.detection_options.items.item if image.detection_options.items else [])}
    if checks.get("SystemImage") == "Invalid":
        raise SequenceFailed("the image has no usable system disk")
    system = [d for d in image.disk_device_mappings.disk_device_mapping if d.type == "system"][0]
    log("image %s: %s %s, system snapshot %s" % (image.image_id, image.platform, image.architecture, system.snapshot_id))
    # 2. The repair instance, with the image's system disk as a data disk.
    release_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2 * 3600))
    instance_id = client.run_instances_with_options(m.RunInstancesRequest(
        region_id=region, image_id=cfg["base_image_id"], instance_type=cfg["instance_type"],
        security_group_id=cfg["security_group_id"], v_switch_id=cfg["vswitch_id"], zone_id=cfg["zone_id"],
        instance_name="image-repair-" + run_id, amount=1, instance_charge_type="PostPaid",
        internet_max_bandwidth_out=0, auto_release_time=release_at, client_token="run-" + run_id,
        system_disk=m.RunInstancesRequestSystemDisk(category=cfg["system_disk_category"]),
        data_disk=[m.RunInstancesRequestDataDisk(snapshot_id=system.snapshot_id, category=cfg["system_disk_category"],
                                                 disk_name="image_repair_" + system.snapshot_id, delete_with_instance=True)],
        tag=[m.RunInstancesRequestTag(key=t["Key"], value=t["Value"]) for t in tag]), RUNTIME
    ).body.instance_id_sets.instance_id_set[0]
    log("repair instance %s" % instance_id)
    try:
        return _repair_on(client, cfg, region, run_id, tag, image, system, instance_id, sleep, log)
    finally:
        release_instance(client, instance_id, sleep, log)


def _repair_on(client, cfg, region, run_id, tag, image, system, instance_id, sleep, log) -> Dict:
    wait_for("instance Running", lambda: client.describe_instances_with_options(m.DescribeInstancesRequest(
        region_id=region, instance_ids=json.dumps([instance_id])), RUNTIME).body.instances.instance[0].status,
        lambda s: s == "Running", sleep, interval=2)
    wait_for("Cloud Assistant", lambda: client.describe_cloud_assistant_status_with_options(
        m.DescribeCloudAssistantStatusRequest(region_id=region, instance_id=[instance_id]), RUNTIME
    ).body.instance_cloud_assistant_status_set.instance_cloud_assistant_status[0].cloud_assistant_status,
        lambda s: s == "true", sleep, interval=2)
    # 3. The data disk: DiskType=data and created from the image's snapshot (not Disk[0]).
    disks = client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=region, instance_id=instance_id, disk_type="data"), RUNTIME).body.disks.disk
    disk = [d for d in disks if d.source_snapshot_id == system.snapshot_id][0]
    log("data disk %s serial %s (%s)" % (disk.disk_id, disk.serial_number, disk.status))
    # 4. Commands: SELinux permissive without a reboot, then the repair command with JSON parameters.
    invoke_id = client.run_command_with_options(m.RunCommandRequest(
        region_id=region, type="RunShellScript", command_content="setenforce 0 || true",
        instance_id=[instance_id], timeout=60, client_token="selinux-" + run_id), RUNTIME).body.invoke_id
    wait_invocation(client, region, invoke_id, sleep)
    invoke_id = client.invoke_command_with_options(m.InvokeCommandRequest(
        region_id=region, command_id=REPAIR_COMMAND, instance_id=[instance_id], timeout=3600,
        parameters={"repairitems": " ".join(cfg["repair_items"]), "disk_serial": disk.serial_number},
        client_token="repair-" + run_id), RUNTIME).body.invoke_id
    result = wait_invocation(client, region, invoke_id, sleep)
    log("repair command: %s" % result.output.strip())
    # 5. Snapshot the repaired disk, then an image from it, checked by DetectionStrategy=Standard.
    snapshot_id = client.create_snapshot_with_options(m.CreateSnapshotRequest(
        disk_id=disk.disk_id, snapshot_name="image_repair_" + disk.disk_id, retention_days=1,
        client_token="snap-" + run_id, tag=[m.CreateSnapshotRequestTag(key=t["Key"], value=t["Value"]) for t in tag]),
        RUNTIME).body.snapshot_id
    wait_for("snapshot accomplished", lambda: client.describe_snapshots_with_options(m.DescribeSnapshotsRequest(
        region_id=region, snapshot_ids=json.dumps([snapshot_id])), RUNTIME).body.snapshots.snapshot[0].status,
        lambda s: s == "accomplished", sleep, interval=10)
    image_id = client.create_image_with_options(m.CreateImageRequest(
        region_id=region, snapshot_id=snapshot_id, image_name="repaired_%s_%s" % (image.image_name, run_id),
        detection_strategy="Standard", platform=PLATFORM_FOR_CREATE.get(image.platform, image.platform),
        architecture=image.architecture, boot_mode=image.boot_mode, client_token="image-" + run_id,
        tag=[m.CreateImageRequestTag(key=t["Key"], value=t["Value"]) for t in tag]), RUNTIME).body.image_id

    def new_image():
        return client.describe_images_with_options(m.DescribeImagesRequest(
            region_id=region, image_id=image_id), RUNTIME).body.images.image[0]
    wait_for("image Available", lambda: new_image().status, lambda s: s == "Available", sleep, interval=10)
    checked = wait_for("image check", new_image, lambda i: i.detection_options.status == "Finished",
                       sleep, interval=30)
    risks = [i.name for i in checked.detection_options.items.item if i.risk_level]
    log("new image %s Available, check Finished, risks: %s" % (image_id, risks or "none"))
    return {"image_id": image_id, "snapshot_id": snapshot_id, "instance_id": disk.instance_id,
            "disk_serial": disk.serial_number, "repair_output": result.output, "risks": risks}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", help="e.g. 127.0.0.1:8765 (plain HTTP); default: the real ECS endpoint")
    parser.add_argument("--access-key-id", default="LTAIemulatorTestKey01")
    parser.add_argument("--access-key-secret", default="emulatorTestSecret0000000000001")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="virtual seconds per real second of the server's clock (600 for --latency fast)")
    parser.add_argument("--config", help="JSON file overriding %s" % ", ".join(sorted(DEFAULTS)))
    args = parser.parse_args(argv)
    cfg = dict(DEFAULTS)
    if args.config:
        with open(args.config) as handle:
            cfg.update(json.load(handle))
    config = Config(access_key_id=args.access_key_id, access_key_secret=args.access_key_secret,
                    region_id=cfg["region"], endpoint=args.endpoint or "ecs.%s.aliyuncs.com" % cfg["region"],
                    protocol="HTTP" if args.endpoint else "HTTPS")
    try:
        result = run_sequence(Client(config), cfg, sleep=lambda s: time.sleep(s / args.time_scale))
    except (SequenceFailed, ClientException) as exc:
        print("seed sequence failed: %s" % exc, file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
