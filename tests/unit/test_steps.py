"""Pure parts of the workflow's steps: tokens, waits, agent delivery, reports, refusals, names."""
import base64
import json
import re

import pytest

from image_repair.control.cloud_errors import classify
from image_repair.control.steps.agent_delivery import (SENDFILE_LIMIT_B64, judge, parse_report, repair_script, split_parts,
                                               summarize_report)
from image_repair.control.policy import refusal, repair_items_at_risk
from image_repair.control.steps.choose_base_image import newest_alinux3
from image_repair.control.steps.common import client_token, next_wait
from image_repair.control.steps.create_repaired_image import create_platform, image_name
from image_repair.control.steps.host_lifetime import parse_release_time, release_time, still_valid


def test_client_token_is_short_ascii_and_deterministic():
    token = client_token("repair-m-abc-0123456789ab", "launch_repair_instance")
    assert token == client_token("repair-m-abc-0123456789ab", "launch_repair_instance")
    assert token != client_token("repair-m-abc-0123456789ab", "snapshot_repaired_disk")
    assert token != client_token("repair-m-abc-0123456789ab", "start_repair", "part", "1")
    assert len(token) <= 64 and token.isascii()


def test_waits_grow_within_1_to_300_seconds():
    waits = [next_wait(5, n) for n in range(30)]
    assert waits[0] == 5 and waits == sorted(waits) and max(waits) == 300 and min(waits) >= 1
    assert next_wait(0.1, 0) == 1


def test_agent_parts_fit_sendfile_and_join_back():
    payload = bytes(range(256)) * 500          # 128000 bytes
    parts = split_parts(payload)
    assert all(len(p) <= SENDFILE_LIMIT_B64 for p in parts) and len(parts) == 6
    # a margin under SendFile's "32 KB after base64" however KB is read (1,000 or 1,024)
    assert SENDFILE_LIMIT_B64 == 32000 and max(len(p) for p in parts) < 32000
    assert b"".join(base64.b64decode(p) for p in parts) == payload


def test_script_carries_parameters_as_base64_json_only():
    nasty = {"items": ["auto"], "diskSerial": "bp1abc", "mirrorUrl": "http://x/'\"; $(rm -rf /) `id`"}
    script = repair_script("ab" * 32, 3, nasty)
    assert "rm -rf" not in script and "$(rm" not in script and "`id`" not in script
    encoded = re.search(r"echo (\S+) \| base64 -d", script).group(1)
    assert json.loads(base64.b64decode(encoded)) == nasty
    assert "--params \"$params\"" in script and "parts=3" in script


def test_report_is_found_after_noise_and_summarized_small():
    report = {"version": 1, "mode": "repair", "exit_status": 1,
              "distribution": {"id": "debian", "version": "12", "name": "Debian 12", "platform": "Debian",
                               "kernels": ["6.1"] * 100},
              "items": [{"name": "virtio", "status": "failed", "error": "x" * 5000,
                         "findings": ["f%d %s" % (i, "y" * 1000) for i in range(20)],
                         "changes": {"files": ["/a", "/b"], "backups": [], "commands": []}},
                        {"name": "fstab", "status": "repaired", "findings": []}]}
    output = "heartbeat\nmore {not json\n" + json.dumps(report, indent=2) + "\ntrailing\n"
    found = parse_report(output)
    assert found == report
    summary = summarize_report(found)
    assert len(json.dumps(summary)) < 2000
    assert summary["items"][0]["filesChanged"] == 2 and len(summary["items"][0]["findings"]) == 3
    assert judge(summary, allow_partial=False) == (False, "repair items failed: virtio")
    assert judge(summary, allow_partial=True) == (True, "")
    assert parse_report("no report at all") is None


def test_refused_disk_report_is_not_acceptable():
    summary = summarize_report({"items": [], "error": {"type": "RefusedDisk", "message": "no root"}})
    assert judge(summary, True)[0] is False and "no root" in judge(summary, True)[1]


def image(**changes):
    base = {"ImageId": "m-x", "ImageOwnerAlias": "self", "OSType": "linux", "Architecture": "x86_64",
            "Status": "Available", "DiskDeviceMappings": {"DiskDeviceMapping": [
                {"Type": "data", "SnapshotId": "s-d", "Encrypted": "false"},
                {"Type": "system", "SnapshotId": "s-s", "Encrypted": "false"}]},
            "DetectionOptions": {"Status": "Finished", "Items": {"Item": [
                {"Name": "GUESTOS.Virtio", "Value": "UnSupported", "RiskLevel": "High"},
                {"Name": "GUESTOS.Fstab", "Value": "Supported"}]}}}
    base.update(changes)
    return base


@pytest.mark.parametrize("changes, reason", [
    ({}, ""),
    ({"ImageOwnerAlias": "system"}, "not a custom image"),
    ({"ImageOwnerAlias": "others"}, "not a custom image"),
    ({"OSType": "windows"}, "only Linux"),
    ({"Architecture": "i386"}, "architecture i386"),
    ({"Status": "Creating"}, "not Available"),
    ({"DiskDeviceMappings": {"DiskDeviceMapping": [{"Type": "system", "SnapshotId": "s", "Encrypted": "true"}]}},
     "encrypted"),
    ({"DiskDeviceMappings": {"DiskDeviceMapping": [{"Type": "data", "SnapshotId": "s"}]}}, "no system-disk"),
    ({"DetectionOptions": {"Items": {"Item": [{"Name": "SystemImage", "Value": "Invalid"}]}}}, "SystemImage Invalid"),
])
def test_refusals(changes, reason):
    found = refusal(image(**changes))
    assert (reason in found) if reason else found == ""


def test_items_at_risk_map_check_items_to_repair_items():
    items = [{"name": "GUESTOS.Virtio", "riskLevel": "High"}, {"name": "GUESTOS.OnlineResizeFS", "riskLevel": "Medium"},
             {"name": "GUESTOS.Fstab", "value": "Supported"}, {"name": "Platform", "riskLevel": "High"}]
    assert repair_items_at_risk(items) == ["virtio", "growpart"]


def test_platforms_and_names():
    assert create_platform("Red Hat") == "RedHat" and create_platform("Debian") == "Debian"
    assert create_platform("Something New") == "Others Linux"
    name = image_name("my image/v1", 1_700_000_000_000)
    assert name == "repaired_my_image_v1_20231114T221320Z" and len(image_name("x" * 300, 0)) <= 128
    # CreateImage's rule: a letter first, then letters, digits, ':', '_', '-' (no '.')
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9:_-]{1,127}", image_name("ubuntu_22.04 (prod)", 0))
    assert image_name("ubuntu_22.04", 0) == "repaired_ubuntu_22_04_19700101T000000Z"
    # two images of one name repaired in the same second get two names (names are unique per region)
    first, second = image_name("centos7", 0, "m-bp1aaaa"), image_name("centos7", 0, "m-bp1bbbb")
    assert first == "repaired_centos7_19700101T000000Z_m-bp1aaaa" and first != second
    assert len(image_name("x" * 300, 0, "m-" + "y" * 40)) <= 128


def test_auto_release_time_is_utc_and_valid_only_30_minutes_ahead():
    assert release_time(1_700_000_000) == "2023-11-14T22:13:20Z"
    assert parse_release_time("2023-11-14T22:13:20Z") == 1_700_000_000
    assert still_valid(release_time(1_700_000_000 + 3600), 1_700_000_000)
    assert not still_valid(release_time(1_700_000_000 + 1800), 1_700_000_000)
    assert not still_valid("tomorrow", 1_700_000_000)


def test_newest_alinux3_ignores_other_system_images():
    images = [{"ImageId": "aliyun_3_x64_20G_alibase_20240101.vhd", "CreationTime": "2024-01-01T00:00:00Z"},
              {"ImageId": "aliyun_3_x64_20G_alibase_20250629.vhd", "CreationTime": "2025-06-29T00:00:00Z"},
              {"ImageId": "ubuntu_24_04_x64_20G_alibase_20251001.vhd", "CreationTime": "2025-10-01T00:00:00Z"}]
    assert newest_alinux3(images)["ImageId"] == "aliyun_3_x64_20G_alibase_20250629.vhd"
    assert newest_alinux3([]) == {}


class FakeSdkError(Exception):
    def __init__(self, code=None, status_code=None, message="m"):
        super().__init__(message)
        self.code, self.status_code, self.message = code, status_code, message


@pytest.mark.parametrize("error, code", [
    (FakeSdkError("Throttling.User", 400), "Throttled"),
    (FakeSdkError("ServiceUnavailable", 503), "Transient"),
    (FakeSdkError("InternalError", 500), "Transient"),
    (FakeSdkError(None, None, {"message": "read timeout"}), "Transient"),
    (FakeSdkError("InvalidImageId.NotFound", 404), "InvalidImageId.NotFound"),
    (FakeSdkError("QuotaExceed.Image", 403), "QuotaExceed.Image"),
])
def test_sdk_errors_become_flow_codes(error, code):
    cloud = classify(error, "CreateImage")
    assert cloud.code == code and cloud.action == "CreateImage"


def test_step_times_follow_the_recording_order_even_with_equal_timestamps():
    from image_repair.control.steps.report import step_times
    from image_repair.control.store import Execution, StepResult
    steps = {"check_source_image": StepResult(finished_at_ms=1000), "wait_until_ready": StepResult(finished_at_ms=9000),
             "start_repair": StepResult(finished_at_ms=9000), "snapshot_repaired_disk.create": StepResult(finished_at_ms=9500),
             "wait_for_repair": StepResult(finished_at_ms=70000)}
    execution = Execution(execution_id="e", source_image_id="m-x", created_at_ms=0, updated_at_ms=0, steps=steps)
    assert list(step_times(execution).items()) == [("check_source_image", 1.0), ("wait_until_ready", 8.0),
                                                  ("start_repair", 0.0), ("wait_for_repair", 61.0)]
