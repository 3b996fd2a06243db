"""`image-repair events deliver --endpoint` against `image-repair emulator serve` (real sockets,
real SDK, the local runner): a custom event whose policy finds nothing at risk ends healthy with
nothing launched; bad events in the same delivery are reported and ignored; stdin works."""
import json

import pytest

from tests.integration.served_cli import cli, served_emulator

SOURCE = "m-bp1emulatorbrokenimg01"       # the built-in seed's image: virtio, nvme, fstab at High risk


@pytest.fixture
def served(tmp_path):
    with served_emulator(tmp_path, "--latency", "immediate") as (endpoint, env):
        yield endpoint, env


def test_a_healthy_image_under_the_policy_ends_healthy_and_bad_events_are_reported(served):
    endpoint, env = served
    delivery = json.dumps([
        {"id": "e1", "specversion": "1.0", "source": "my.pipeline", "type": "image-repair:Image:RepairRequested",
         "data": {"imageId": SOURCE, "policy": {"items": ["dhcp"]}}},          # dhcp is fine on this image
        {"id": "e2", "specversion": "1.0", "source": "acs.ecs", "type": "ecs:Instance:StateChange", "data": {}},
        "{not json"])
    done = cli("events", "deliver", "-", "--endpoint", endpoint, "--json", env=env, stdin=delivery)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert [i["reason"].split(" ")[0] for i in result["summary"]["ignored"]] == ["unknown", "malformed"]
    (execution,) = result["executions"]
    assert execution["status"] == "SUCCEEDED" and execution["report"]["summary"] == "healthy, nothing to repair"
    assert "ignored event e2: unknown event type" in done.stderr
    # delivered again: the same execution, nothing new (and the human-readable form)
    again = cli("events", "deliver", "-", "--endpoint", endpoint, env=env, stdin=delivery)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already known" in again.stderr and "healthy, nothing to repair" in again.stdout
    listed = cli("list", env=env)
    assert listed.stdout.count("watch-%s-" % SOURCE) == 1


def test_nothing_accepted_is_exit_status_2(served):
    endpoint, env = served
    done = cli("events", "deliver", "-", "--endpoint", endpoint, env=env, stdin="[]")
    assert done.returncode == 2 and "empty array" in done.stderr
