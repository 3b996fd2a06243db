"""Acceptance against mock_ecs: examples/seed_sequence.py (real SDK only) runs the seed
template's whole sequence on a deterministic virtual clock (each poll's sleep advances it)."""
import importlib.util
import os

import pytest

from image_repair.testing import ecs_client, mock_ecs

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "seed_sequence.py")


def load_example():
    spec = importlib.util.spec_from_file_location("seed_sequence", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seed_sequence_against_mock_ecs():
    example = load_example()
    lines = []
    with mock_ecs(latency="manual") as ecs:
        result = example.run_sequence(ecs_client(ecs), dict(example.DEFAULTS, run_id="accept1"),
                                      sleep=ecs.advance, log=lines.append)
        counts = ecs.call_counts()
        image = ecs.images[result["image_id"]]
        assert image.status == "Available" and image.check.status == "Finished"
        assert image.detection_strategy == "Standard" and image.platform == "CentOS"
        assert result["repair_output"] == "repair finished\n"
        assert result["disk_serial"] and not result["risks"]
        # Everything it created is tagged; the repair instance and its disks are gone.
        assert not ecs.instances and not ecs.disks
        assert sorted(k for k, _ in ecs.resources_by_tag("image-repair:run", "accept1")) == ["image", "snapshot"]
        # It waited on the virtual clock: boot, snapshot, image and check took realistic time.
        assert ecs.clock.now() - ecs.calls[0].time > ecs.latency.image_check + ecs.latency.snapshot_seconds(20)
    for action in ("DescribeImages", "RunInstances", "DescribeInstances", "DescribeCloudAssistantStatus",
                   "DescribeDisks", "RunCommand", "InvokeCommand", "DescribeInvocationResults",
                   "CreateSnapshot", "DescribeSnapshots", "CreateImage", "DeleteInstance"):
        assert counts[action] >= 1, action
    assert counts["RunInstances"] == 1 and counts["DeleteInstance"] == 1
    assert any("released" in line for line in lines)


def test_seed_sequence_failure_releases_the_instance_through_the_protection_window():
    example = load_example()
    with mock_ecs(latency="manual") as ecs:
        ecs.faults.fail_command("ACS-ECS-ImageRepair-for-linux.sh", exit_code=2, output="grub-install failed")
        with pytest.raises(example.SequenceFailed, match="grub-install failed"):
            example.run_sequence(ecs_client(ecs), dict(example.DEFAULTS, run_id="fail1"),
                                 sleep=ecs.advance, log=lambda line: None)
        deletes = [c.error_code for c in ecs.calls if c.action == "DeleteInstance"]
        # The failure came inside the first minute: Initializing first, then released.
        assert deletes[0] == "IncorrectInstanceStatus.Initializing" and deletes[-1] is None
        assert not ecs.instances and not ecs.disks
        assert ecs.resources_by_tag("image-repair:run", "fail1") == []
