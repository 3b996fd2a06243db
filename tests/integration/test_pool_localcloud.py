"""Issue 13 on the disk-backed local cloud: three real broken Debian guests repaired at once on one
pool host by the pooled flow (the deployed definition, the real SDK, the real agent on each disk's
own loop device found by its serial); each new image's own check (the agent's check-disk on the
new snapshot) finds it healthy. The boot of one of them: tests/boot/test_pool_boot.py. Needs root."""
import os

import pytest

from .pool_localcloud import repaired_on_one_host, three_broken_guests

pytestmark = pytest.mark.needs_root


@pytest.fixture(scope="module")
def guests():
    return three_broken_guests()


def test_three_real_guests_repaired_at_once_on_one_pool_host(tmp_path, guests):
    inputs = [os.stat(path).st_mtime_ns for path in guests]
    results, executions, calls, leases, _ = repaired_on_one_host(str(tmp_path), guests)
    assert [r.status for r in results] == ["Succeeded"] * 3, [e.error for e in executions]
    # one host for the three...
    hosts = {e.steps["wait_until_ready"].result["instanceId"] for e in executions}
    assert len(hosts) == 1 and len([c for c in calls if c.action == "RunInstances"]) == 1
    runs = [c for c in calls if c.action == "RunCommand" and not c.error_code]
    assert [c.params.get("InstanceId.1", c.params.get("InstanceId")) for c in runs] == list(hosts) * 3
    # ...at once: the three held their slots together (each leased before any gave its slot back)
    leased = [e.steps["launch_repair_instance"].finished_at_ms for e in executions]
    freed = [e.steps["release_repair_host.slot"].finished_at_ms for e in executions]
    assert max(leased) < min(freed), (leased, freed)
    for execution in executions:       # each new image's own check: healthy where it was repaired
        after = {i["name"] for i in execution.report["itemsAfter"] if i.get("riskLevel")}
        assert not after & {"GUESTOS.Fstab", "GUESTOS.Grub", "GUESTOS.Virtio", "GUESTOS.Dhcp"}, after
        assert {r["status"] for r in execution.report["repair"]["results"]} <= {"repaired", "ok"}
    assert leases == []
    assert [os.stat(path).st_mtime_ns for path in guests] == inputs     # the inputs were only read
