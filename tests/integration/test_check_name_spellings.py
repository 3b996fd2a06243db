"""``auto`` through the whole workflow in both check item spellings (issue 10 point 4): against
the emulator with the real SDK, the public command gets the same items whether DescribeImages
names them ``GUESTOS.Virtio`` or ``Virtio``."""
import copy
import json

import pytest

from image_repair.agent.items.checknames import SPELLINGS
from image_repair.emulator.seed import DEFAULT_SEED

from .workflow_env import WorkflowEnv


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_alibaba_engine_auto_repairs_the_checks_risks_in_either_spelling(tmp_path, spelling):
    seed = copy.deepcopy(DEFAULT_SEED)
    seed["check_item_names"] = spelling
    with WorkflowEnv(tmp_path, seed=seed) as env:
        result, execution = env.repair(engine="alibaba", repairItems="auto")
        assert result.status == "Succeeded", (result.error_code, execution.error)
        env.check_invariants(execution.execution_id)
        invoke = [c for c in env.backend.calls if c.action == "InvokeCommand"][0].params
        # the source's check: Virtio, Nvme, Fstab at High risk, CloudInit at Medium
        assert json.loads(invoke["Parameters"])["repairitems"] == "virtio nvme fstab cloudinit"
        before = [i["name"] for i in execution.report["itemsBefore"]]
        assert ("GUESTOS.Virtio" in before) is (spelling == "prefixed") and ("Virtio" in before) is (spelling == "bare")
        assert execution.report["atRiskBefore"] == ["virtio", "nvme", "fstab", "cloudinit"]
