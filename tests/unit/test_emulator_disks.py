"""Disks for a pool of repair hosts through the real alibabacloud_ecs20140526 client against the
in-process emulator: CreateDisk (Creating -> Available), AttachDisk (Attaching -> In_use, a device
and the serial the guest sees), DetachDisk, DeleteDisk, with their documented limits and errors
(docs/cloud-contracts.md, "Disks for the pool")."""
import copy
import json

import pytest
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from darabonba.runtime import RuntimeOptions

from image_repair.emulator.resources import DEFAULT_DISK_QUANTITY
from image_repair.emulator.seed import DEFAULT_SEED
from image_repair.testing import ecs_client, mock_ecs

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"
BASE = "aliyun_3_x64_20G_alibase_20250629.vhd"
SNAP = "s-bp1emulatorbroken0001"        # the seeded broken image's system snapshot, 20 GiB
ZONE_H, ZONE_I = "cn-hangzhou-h", "cn-hangzhou-i"
VSW = {ZONE_H: "vsw-bp1emulator00000000h", ZONE_I: "vsw-bp1emulator00000000i"}
SG = "sg-bp1emulator0000000000"


def fails(code, status, call, *args):
    with pytest.raises((ClientException, ServerException)) as err:
        call(*args, RT)
    assert (err.value.code, err.value.status_code) == (code, status), err.value
    return err.value


def seed_with(**extra) -> dict:
    seed = copy.deepcopy(DEFAULT_SEED)
    seed.update(extra)
    return seed


@pytest.fixture
def cloud():
    """(backend, client) on a clock only the test moves."""
    with mock_ecs(latency="manual") as backend:
        yield backend, ecs_client(backend)


def launch(client, zone=ZONE_H, data_disks=()):
    return client.run_instances_with_options(m.RunInstancesRequest(
        region_id=R, image_id=BASE, instance_type="ecs.g7.large", v_switch_id=VSW[zone], security_group_id=SG,
        data_disk=list(data_disks)), RT).body.instance_id_sets.instance_id_set[0]


def running_host(backend, client, zone=ZONE_H):
    instance_id = launch(client, zone)
    backend.advance(30)     # Pending 5 s, Starting 25 s
    return instance_id


def create_disk(client, zone=ZONE_H, **fields):
    fields.setdefault("snapshot_id", SNAP)
    return client.create_disk_with_options(m.CreateDiskRequest(
        region_id=R, zone_id=zone, **fields), RT).body.disk_id


def disk_of(client, disk_id):
    return client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=R, disk_ids=json.dumps([disk_id])), RT).body.disks.disk[0]


def attach(client, instance_id, disk_id, runtime=RT, **fields):
    return client.attach_disk_with_options(m.AttachDiskRequest(instance_id=instance_id, disk_id=disk_id, **fields),
                                           runtime)


def detach(client, instance_id, disk_id):
    return client.detach_disk_with_options(m.DetachDiskRequest(instance_id=instance_id, disk_id=disk_id), RT)


def available_disk(backend, client, zone=ZONE_H, **fields):
    disk_id = create_disk(client, zone, **fields)
    backend.advance(10)
    return disk_id


# --- CreateDisk ------------------------------------------------------------------------------------
def test_create_disk_from_a_snapshot_is_creating_then_available(cloud):
    backend, client = cloud
    disk_id = create_disk(client, disk_category="cloud_essd", disk_name="repair-disk", description="for the pool",
                          tag=[m.CreateDiskRequestTag(key="image-repair", value="pool")])
    disk = disk_of(client, disk_id)
    assert (disk.status, disk.zone_id, disk.type, disk.category, disk.size) == (
        "Creating", ZONE_H, "data", "cloud_essd", 20)
    assert (disk.source_snapshot_id, disk.instance_id, disk.portable, disk.delete_with_instance) == (
        SNAP, "", True, False)
    assert {t.tag_key: t.tag_value for t in disk.tags.tag} == {"image-repair": "pool"}
    assert disk.serial_number == disk_id[2:]
    backend.advance(9.9)
    assert disk_of(client, disk_id).status == "Creating"
    backend.advance(0.1)
    assert disk_of(client, disk_id).status == "Available"
    usage = client.describe_snapshots_with_options(m.DescribeSnapshotsRequest(
        region_id=R, snapshot_ids=json.dumps([SNAP])), RT).body.snapshots.snapshot[0].usage
    assert usage in ("disk", "image_disk")


def test_create_disk_takes_the_larger_of_size_and_snapshot(cloud):
    _, client = cloud
    assert disk_of(client, create_disk(client, size=40, disk_category="cloud_essd")).size == 40
    assert disk_of(client, create_disk(client, size=5, disk_category="cloud_essd")).size == 20
    empty = create_disk(client, snapshot_id=None, size=30, disk_category="cloud_efficiency")
    assert (disk_of(client, empty).size, disk_of(client, empty).source_snapshot_id) == (30, "")


def test_create_disk_repeated_with_its_client_token_returns_the_first_disk(cloud):
    backend, client = cloud
    first = create_disk(client, client_token="pool-image-1")
    assert create_disk(client, client_token="pool-image-1") == first
    assert len([d for d in backend.disks.values() if d.source_snapshot_id == SNAP]) == 1
    fails("IdempotentParameterMismatch", 400, client.create_disk_with_options, m.CreateDiskRequest(
        region_id=R, zone_id=ZONE_I, snapshot_id=SNAP, client_token="pool-image-1"))


def test_create_disk_refuses_bad_requests_with_their_documented_codes(cloud):
    backend, client = cloud
    before = set(backend.disks)

    def request(**fields):
        fields.setdefault("region_id", R)
        fields.setdefault("zone_id", ZONE_H)
        return m.CreateDiskRequest(**fields)
    create = client.create_disk_with_options
    err = fails("MissingParameter", 400, create, request())
    assert '"SnapshotId" or "Size"' in err.message
    fails("MissingParameter", 400, create, request(zone_id=None, size=20))
    fails("InvalidZoneId.NotFound", 404, create, request(zone_id="cn-hangzhou-z", size=20))
    fails("InvalidSnapshotId.NotFound", 404, create, request(snapshot_id="s-nothing"))
    fails("InvalidDiskCategory.ValueNotSupported", 400, create, request(size=20, disk_category="floppy"))
    fails("InvalidDiskSize.NotSupported", 400, create, request(size=4, disk_category="cloud"))
    fails("InvalidDiskSize.NotSupported", 400, create, request(size=2001, disk_category="cloud"))
    fails("InvalidDiskSize.NotSupported", 400, create, request(size=10, disk_category="cloud_essd"))
    assert create(request(size=10, disk_category="cloud_essd", performance_level="PL0"), RT).body.disk_id
    fails("InvalidPerformanceLevel.Malformed", 400, create, request(size=20, disk_category="cloud_ssd",
                                                                    performance_level="PL1"))
    fails("InvalidDiskName.Malformed", 400, create, request(size=20, disk_name="1starts-with-a-digit"))
    fails("InvalidDescription.Malformed", 400, create, request(size=20, description="http://x"))
    fails("InvalidParam.ZoneIdAndInstanceId.Conflict", 403, create, request(size=20, instance_id="i-x"))
    fails("InvalidTagKey.Malformed", 400, create, request(size=20, tag=[m.CreateDiskRequestTag(key="acs:x",
                                                                                                value="v")]))
    assert len(set(backend.disks) - before) == 1      # only the PL0 ESSD: a refused call makes nothing


def test_a_disk_is_made_only_from_an_accomplished_snapshot(cloud):
    backend, client = cloud
    host = running_host(backend, client)
    system_disk = client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=R, instance_id=host), RT).body.disks.disk[0].disk_id
    snapshot_id = client.create_snapshot_with_options(m.CreateSnapshotRequest(disk_id=system_disk), RT).body.snapshot_id
    fails("InvalidSnapshotId.NotReady", 403, client.create_disk_with_options, m.CreateDiskRequest(
        region_id=R, zone_id=ZONE_H, snapshot_id=snapshot_id))
    backend.advance(20 + 20 * 1024 / 100.0)      # setup + 20 GiB at 100 MiB/s
    assert disk_of(client, create_disk(client, snapshot_id=snapshot_id)).source_snapshot_id == snapshot_id


# --- AttachDisk ------------------------------------------------------------------------------------
def test_attach_disk_walks_attaching_to_in_use_under_the_next_device_and_its_serial(cloud):
    backend, client = cloud
    host = running_host(backend, client)
    first, second = available_disk(backend, client), available_disk(backend, client)
    attach(client, host, first)
    assert backend.disks[first].status == "Attaching"
    assert disk_of(client, first).status == "Attaching"
    backend.advance(5)
    disk = disk_of(client, first)
    assert (disk.status, disk.instance_id, disk.device, disk.serial_number) == ("In_use", host, "/dev/xvdb", first[2:])
    assert disk.delete_with_instance is False
    assert [a.instance_id for a in disk.attachments.attachment] == [host]
    assert disk.attached_time > disk.creation_time      # attached 10 s after it was created (ISO UTC)
    attach(client, host, second, delete_with_instance=True)
    backend.advance(5)
    assert (disk_of(client, second).device, disk_of(client, second).delete_with_instance) == ("/dev/xvdc", True)
    on_host = client.describe_disks_with_options(m.DescribeDisksRequest(
        region_id=R, instance_id=host, disk_type="data"), RT).body.disks.disk
    assert sorted(d.disk_id for d in on_host) == sorted([first, second])


def test_a_detached_disk_is_available_again_and_its_device_name_is_reused(cloud):
    backend, client = cloud
    host, other = running_host(backend, client), running_host(backend, client)
    first, second, third = (available_disk(backend, client) for _ in range(3))
    for disk_id in (first, second):
        attach(client, host, disk_id)
    backend.advance(5)
    detach(client, host, first)
    assert disk_of(client, first).status == "Detaching"
    backend.advance(60)
    freed = disk_of(client, first)
    assert (freed.status, freed.instance_id, freed.device) == ("Available", "", "")
    assert freed.detached_time
    attach(client, host, third)
    backend.advance(5)
    assert disk_of(client, third).device == "/dev/xvdb"
    attach(client, other, first)        # a detached disk moves to another host
    backend.advance(5)
    assert (disk_of(client, first).instance_id, disk_of(client, first).device) == (other, "/dev/xvdb")


def test_a_disk_is_attached_to_one_instance_at_a_time(cloud):
    backend, client = cloud
    host, other = running_host(backend, client), running_host(backend, client)
    disk_id = available_disk(backend, client)
    attach(client, host, disk_id)
    fails("InvalidDisk.InUse", 404, attach, client, other, disk_id)     # while Attaching
    backend.advance(5)
    fails("InvalidDisk.InUse", 404, attach, client, other, disk_id)     # In_use
    fails("InvalidDisk.InUse", 404, attach, client, host, disk_id)      # the same host again
    detach(client, host, disk_id)
    fails("InvalidDisk.InUse", 404, attach, client, other, disk_id)     # still Detaching from it
    assert backend.disks[disk_id].instance_id == host


def test_attach_disk_checks_the_disk_the_instance_and_their_zone(cloud):
    backend, client = cloud
    host = running_host(backend, client)
    fails("InvalidDiskId.NotFound", 404, attach, client, host, "d-nothing")
    disk_id = create_disk(client)
    fails("InvalidInstanceId.NotFound", 404, attach, client, "i-nothing", disk_id)
    fails("IncorrectDiskStatus", 403, attach, client, host, disk_id)      # still Creating
    backend.advance(10)
    elsewhere = available_disk(backend, client, zone=ZONE_I)
    fails("ResourcesNotInSameZone", 403, attach, client, host, elsewhere)
    booting = launch(client)
    fails("IncorrectInstanceStatus", 400, attach, client, booting, disk_id)  # Pending
    assert backend.disks[disk_id].instance_id is None and backend.disks[elsewhere].instance_id is None
    fails("InvalidParameter", 400, client.attach_disk_with_options,
          m.AttachDiskRequest(instance_id=host, disk_id=disk_id, bootable=True))


def test_a_stopped_instance_takes_a_disk_too(cloud):
    backend, client = cloud
    host = running_host(backend, client)
    backend.schedule(backend.instances[host].progress, host, "instance.stop", [0.0])    # no StopInstance action
    backend.settle()
    assert backend.instances[host].status == "Stopped"
    disk_id = available_disk(backend, client)
    attach(client, host, disk_id)
    backend.advance(5)
    assert disk_of(client, disk_id).status == "In_use"


def test_an_instance_holds_at_most_its_types_disk_quantity(cloud):
    """17 (a system disk and 16 data disks) unless the seed says otherwise for the type."""
    backend, client = cloud
    host = running_host(backend, client)
    disks = [available_disk(backend, client, snapshot_id=None, size=20, disk_category="cloud_essd")
             for _ in range(DEFAULT_DISK_QUANTITY)]
    for disk_id in disks[:DEFAULT_DISK_QUANTITY - 1]:
        attach(client, host, disk_id)
    fails("InstanceDiskLimitExceeded", 403, attach, client, host, disks[-1])
    backend.advance(5)
    devices = sorted(backend.disks[d].device for d in disks[:-1])
    assert devices == ["/dev/xvd" + c for c in "bcdefghijklmnopq"]


def test_a_seeded_disk_quantity_bounds_attach_and_run_instances_and_a_detaching_disk_counts():
    with mock_ecs(seed=seed_with(disk_quantity={"ecs.g7.large": 2}), latency="manual") as backend:
        client = ecs_client(backend)
        fails("InstanceDiskNumber.LimitExceed", 400, client.run_instances_with_options, m.RunInstancesRequest(
            region_id=R, image_id=BASE, instance_type="ecs.g7.large", v_switch_id=VSW[ZONE_H], security_group_id=SG,
            data_disk=[m.RunInstancesRequestDataDisk(size=20)] * 2))
        host = running_host(backend, client)
        first, second = available_disk(backend, client), available_disk(backend, client)
        attach(client, host, first)
        fails("InstanceDiskLimitExceeded", 403, attach, client, host, second)
        backend.advance(5)
        detach(client, host, first)
        fails("InstanceDiskLimitExceeded", 403, attach, client, host, second)   # first still Detaching
        backend.advance(60)
        attach(client, host, second)


def test_a_seed_refuses_a_disk_quantity_that_is_not_a_positive_whole_number():
    with pytest.raises(ValueError, match="disk_quantity.ecs.g7.large"):
        with mock_ecs(seed=seed_with(disk_quantity={"ecs.g7.large": 0})):
            pass


# --- the disk's life after its host ---------------------------------------------------------------
def test_a_created_disk_is_snapshotted_only_once_it_was_attached(cloud):
    backend, client = cloud
    disk_id = available_disk(backend, client)
    snapshot = client.create_snapshot_with_options
    fails("IncorrectDiskStatus.NeverAttached", 403, snapshot, m.CreateSnapshotRequest(disk_id=disk_id))
    host = running_host(backend, client)
    attach(client, host, disk_id)
    fails("IncorrectDiskStatus", 403, snapshot, m.CreateSnapshotRequest(disk_id=disk_id))     # Attaching
    backend.advance(5)
    detach(client, host, disk_id)
    backend.advance(60)
    assert snapshot(m.CreateSnapshotRequest(disk_id=disk_id), RT).body.snapshot_id.startswith("s-")


def test_delete_disk_in_each_status(cloud):
    backend, client = cloud
    delete = client.delete_disk_with_options
    disk_id = create_disk(client)
    fails("IncorrectDiskStatus.Initializing", 403, delete, m.DeleteDiskRequest(disk_id=disk_id))
    backend.advance(10)
    host = running_host(backend, client)
    attach(client, host, disk_id)
    fails("IncorrectDiskStatus", 403, delete, m.DeleteDiskRequest(disk_id=disk_id))     # Attaching
    backend.advance(5)
    fails("IncorrectDiskStatus", 403, delete, m.DeleteDiskRequest(disk_id=disk_id))     # In_use
    detach(client, host, disk_id)
    backend.advance(60)
    delete(m.DeleteDiskRequest(disk_id=disk_id), RT)
    fails("InvalidDiskId.NotFound", 404, delete, m.DeleteDiskRequest(disk_id=disk_id))
    fails("InvalidSnapshotId.NotFound", 404, client.create_disk_with_options, m.CreateDiskRequest(
        region_id=R, zone_id=ZONE_H, snapshot_id="s-gone"))


def test_releasing_a_host_releases_or_keeps_each_attached_disk_as_asked(cloud):
    backend, client = cloud
    host = running_host(backend, client)
    kept, released = available_disk(backend, client), available_disk(backend, client)
    attach(client, host, kept)
    attach(client, host, released, delete_with_instance=True)
    backend.advance(60)         # past the deletion guard
    client.delete_instance_with_options(m.DeleteInstanceRequest(instance_id=host, force=True), RT)
    assert released not in backend.disks
    backend.advance(60)
    assert (disk_of(client, kept).status, disk_of(client, kept).instance_id) == ("Available", "")


def test_describe_instance_types_gives_vcpus_by_the_size_name_and_disk_quantity():
    """DescribeInstanceTypes through the real SDK: the pool sizes a host by these two figures."""
    from image_repair.emulator.models.instance_types import vcpus
    assert [vcpus(t) for t in ("ecs.g7.large", "ecs.g7.xlarge", "ecs.g7.4xlarge", "ecs.t6-c1m1.small")] == [2, 4, 16, 1]
    with pytest.raises(ValueError):
        vcpus("ecs.g7.huge")
    from image_repair.testing import ecs_client, mock_ecs
    from image_repair.control.clients.ecs import EcsPort
    with mock_ecs() as backend:
        port = EcsPort(ecs_client(backend), backend.region)
        assert port.instance_type("ecs.g7.large") == {"InstanceTypeId": "ecs.g7.large", "CpuCoreCount": 2,
                                                      "DiskQuantity": 17}
        assert port.instance_type("ecs.unknown.large") is None
