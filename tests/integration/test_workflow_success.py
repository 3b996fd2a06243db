"""The whole repair workflow succeeding, against the emulator with the real SDK (the first on both
stores: SQLite, and Tablestore over HTTP to the emulator's Tablestore)."""
import json

from image_repair.agent.items import ITEM_NAMES
from image_repair.control.steps.agent_delivery import SENDFILE_LIMIT_B64

import pytest

from .workflow_env import SOURCE, STORES, WorkflowEnv, seed_with


@pytest.mark.parametrize("store", STORES)
def test_success_x86_64_with_data_disks_agent_auto(tmp_path, store):
    with WorkflowEnv(tmp_path, store=store) as env:
        result, execution = env.repair()
        assert result.status == "Succeeded", (result.error_code, result.error_detail, execution.error)
        env.check_invariants(execution.execution_id)
        report = execution.report
        new = env.backend.images[report["newImageId"]]
        assert new.status == "Available" and new.check.status == "Finished"
        # system disk from the repaired snapshot, the source's data-disk snapshot kept
        assert [m.type for m in new.mappings] == ["system", "data"]
        assert new.mappings[1].snapshot_id == "s-bp1emulatorbrokendata1"
        assert new.mappings[0].snapshot_id == report["resources"]["snapshotId"]
        assert new.platform == "CentOS" and new.architecture == "x86_64" and new.boot_mode == "BIOS"
        assert new.name.startswith("repaired_imported-centos7_") and new.detection_strategy == "Standard"
        assert new.nvme_support == "supported"             # nvme repaired -> marked
        assert new.tags["image-repair:source-image"] == SOURCE
        # the agent really delivered: parts within 32 KB, joined = the zipapp, run on the right disk
        sends = [c for c in env.backend.calls if c.action == "SendFile"]
        assert sends and all(len(c.params["Content"]) <= SENDFILE_LIMIT_B64 for c in sends)
        run = env.host.runs[0]
        assert run["source_snapshot"] == "s-bp1emulatorbroken0001" and run["params"]["items"] == ["auto"]
        run_instances = [c for c in env.backend.calls if c.action == "RunInstances"][0].params
        assert run_instances["InternetMaxBandwidthOut"] == "0" and "AutoReleaseTime" in run_instances
        assert run_instances["DataDisk.1.SnapshotId"] == "s-bp1emulatorbroken0001"
        assert {i["name"] for i in report["itemsBefore"] if i.get("riskLevel")} >= {"GUESTOS.Virtio"}
        assert [r["status"] for r in report["repair"]["results"]] == ["repaired"] * len(report["repair"]["results"])
        assert set(report["stepSeconds"]) >= {"check_source_image", "wait_until_ready", "wait_for_image_check"}
        # waits are loops of growing Waits, no wait over 300 s, and no fixed sleeps
        assert env.clock.sleeps and max(env.clock.sleeps) <= 300
        assert len(result.events("Waited")) >= 4
        if env.ots is not None:    # the state really went through the Tablestore wire, every call answered
            operations = {call.operation for call in env.ots.calls}
            assert {"PutRow", "UpdateRow", "GetRow", "DeleteRow"} <= operations, operations
            assert not [call for call in env.ots.calls if call.code not in ("", "OTSConditionCheckFail",
                                                                            "OTSObjectNotExist")]


ARM_IMAGE = {"id": "m-bp1emulatorarmimage01", "name": "imported-ubuntu-arm", "owner": "self",
             "platform": "Ubuntu", "os_name": "Ubuntu 22.04 ARM", "architecture": "arm64", "boot_mode": "UEFI",
             "disks": [{"type": "system", "size": 30, "snapshot_id": "s-bp1emulatorarmsys00001"}],
             "detection": {"status": "Finished", "items": [
                 {"name": "GUESTOS.Dhcp", "value": "UnSupported", "risk_level": "High", "risk_code": "Dhcp.Static"}]}}
RHEL_IMAGE = {"id": "m-bp1emulatorrhelimage1", "name": "imported rhel 8", "owner": "self",
              "platform": "Red Hat", "os_name": "Red Hat 8", "architecture": "x86_64", "boot_mode": "UEFI",
              "disks": [{"type": "data", "size": 10, "snapshot_id": "s-bp1emulatorrheldata01"},
                        {"type": "system", "size": 20, "snapshot_id": "s-bp1emulatorrhelsys001"}],
              "detection": {"status": "Finished", "items": []}}


def test_success_arm64_alibaba_engine_explicit_items(tmp_path):
    with WorkflowEnv(tmp_path, seed=seed_with(ARM_IMAGE)) as env:
        result, execution = env.repair(repairImageId=ARM_IMAGE["id"], engine="alibaba", repairItems=["dhcp", "virtio"])
        assert result.status == "Succeeded", (result.error_code, execution.error)
        env.check_invariants(execution.execution_id)
        runs = [c for c in env.backend.calls if c.action == "RunInstances"]
        assert runs[0].params["ImageId"] == "aliyun_3_arm64_20G_alibase_20250629.vhd"   # base of the same arch
        invoke = [c for c in env.backend.calls if c.action == "InvokeCommand"][0].params
        assert invoke["CommandId"] == "ACS-ECS-ImageRepair-for-linux.sh"
        params = json.loads(invoke["Parameters"])
        assert params["repairitems"] == "virtio dhcp" and params["disk_serial"]
        new = env.backend.images[execution.report["newImageId"]]
        assert new.architecture == "arm64" and new.boot_mode == "UEFI"
        assert not env.host.runs                      # the public command, not our agent


def test_success_system_disk_not_first_mapping_and_platform_mapped(tmp_path):
    with WorkflowEnv(tmp_path, seed=seed_with(RHEL_IMAGE)) as env:
        result, execution = env.repair(repairImageId=RHEL_IMAGE["id"], repairItems="all")
        assert result.status == "Succeeded", (result.error_code, execution.error)
        env.check_invariants(execution.execution_id)
        run = [c for c in env.backend.calls if c.action == "RunInstances"][0].params
        assert run["DataDisk.1.SnapshotId"] == "s-bp1emulatorrhelsys001"   # Type=system, not mapping [0]
        new = env.backend.images[execution.report["newImageId"]]
        assert new.platform == "RedHat"
        assert [m.snapshot_id for m in new.mappings][1:] == ["s-bp1emulatorrheldata01"]
        assert env.host.runs[0]["params"]["items"] == list(ITEM_NAMES)


def test_dry_run_makes_no_image(tmp_path):
    with WorkflowEnv(tmp_path) as env:
        result, execution = env.repair(dryRun=True)
        assert result.status == "Succeeded", (result.error_code, execution.error)
        env.check_invariants(execution.execution_id)
        assert execution.report["newImageId"] is None and env.created("m-") == []
        assert env.host.runs[0]["params"]["dryRun"] is True
        # no disk kept past the host: clean-up deletes the host, and its disks go with it
        calls = env.backend.call_counts()
        assert calls["DeleteInstance"] == 1 and not calls["ModifyDiskAttribute"] and not calls["DeleteDisk"]
