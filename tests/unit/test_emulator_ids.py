"""Resource IDs carry the region's code where Alibaba documents it (i-bp1... in cn-hangzhou,
i-2ze... in cn-beijing, i-uf6... in cn-shanghai, i-t4n... in ap-southeast-1; sources in
docs/cloud-contracts.md, "The emulator as the gateway") and a code-less ID of the same length elsewhere; every
generated ID passes the control plane's ID patterns."""
import json
import random
import re

import pytest

from image_repair.emulator import build_backend
from image_repair.emulator.resources import ECS_REGION_CODES, new_id
from image_repair.emulator.seed import DEFAULT_SEED
from image_repair.control.models import CUSTOM_IMAGE_ID, SECURITY_GROUP_ID, VSWITCH_ID

ALNUM = re.compile(r"^[a-z0-9]+$")


@pytest.mark.parametrize("region, code", [("cn-hangzhou", "bp1"), ("cn-beijing", "2ze"), ("cn-shanghai", "uf6"),
                                          ("ap-southeast-1", "t4n"), ("eu-central-1", "")])
def test_ecs_ids_carry_the_regions_code(region, code):
    rng = random.Random(1)
    for prefix in ("i-", "d-", "s-", "m-", "sg-", "vsw-"):
        made = new_id(prefix, rng, region)
        rest = made[len(prefix):]
        assert made.startswith(prefix + code) and len(rest) == 20 and ALNUM.match(rest)
    assert re.match(CUSTOM_IMAGE_ID, new_id("m-", rng, region))
    assert re.match(SECURITY_GROUP_ID, new_id("sg-", rng, region)) and re.match(VSWITCH_ID, new_id("vsw-", rng, region))
    assert (region in ECS_REGION_CODES) == bool(code)


def test_cloud_assistant_ids_carry_the_city_code():
    rng = random.Random(1)
    assert new_id("t-", rng, "cn-hangzhou").startswith("t-hz0") and new_id("c-", rng, "cn-hangzhou").startswith("c-hz0")
    assert len(new_id("t-", rng, "cn-beijing")) == len("t-hz0jdfwd9f****")


def test_a_beijing_account_makes_beijing_ids_end_to_end():
    seed = json.loads(json.dumps(DEFAULT_SEED))
    seed["region"] = "cn-beijing"
    backend = build_backend(seed)
    launched = backend.handle("RunInstances", {
        "RegionId": "cn-beijing", "ImageId": "m-bp1emulatorbrokenimg01", "InstanceType": "ecs.g7.large",
        "VSwitchId": "vsw-bp1emulator00000000h", "SecurityGroupId": "sg-bp1emulator0000000000",
        "DataDisk.1.SnapshotId": "s-bp1emulatorbroken0001"}).body
    instance_id = launched["InstanceIdSets"]["InstanceIdSet"][0]
    disks = [d.id for d in backend.disks.values() if d.instance_id == instance_id]
    assert instance_id.startswith("i-2ze") and disks and all(d.startswith("d-2ze") for d in disks)
    snapshot_id = backend.handle("CreateSnapshot", {"DiskId": disks[0]}).body["SnapshotId"]
    backend.advance(3600)
    image_id = backend.handle("CreateImage", {"RegionId": "cn-beijing", "SnapshotId": snapshot_id}).body["ImageId"]
    assert snapshot_id.startswith("s-2ze") and image_id.startswith("m-2ze") and re.match(CUSTOM_IMAGE_ID, image_id)
