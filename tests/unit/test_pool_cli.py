"""``image-repair pool status``: the pool as the store holds it (SQLite file in a temporary folder,
written through the pool's own functions), its empty state, --zone and --json, a refused zone."""
import json
import time

import pytest

from image_repair.cli import main
from image_repair.control.pool import hosts as pool_hosts
from image_repair.control.pool import leases as pool_leases
from image_repair.control.pool.models import InstanceTypeSpec, PoolSettings
from image_repair.control.store.sqlite import SQLiteStore

SPEC = InstanceTypeSpec.model_validate({"InstanceTypeId": "ecs.g7.large", "CpuCoreCount": 2, "DiskQuantity": 17})
SETTINGS = PoolSettings(max_hosts=3)


@pytest.fixture
def store_path(tmp_path, monkeypatch):
    path = tmp_path / "state.db"
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % path)
    return path


def test_an_empty_pool_says_so_on_stderr_and_keeps_stdout_clean(store_path, capsys):
    assert main(["pool", "status"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no pool hosts in the store %s" % store_path in captured.err and "IMAGE_REPAIR_STORE" in captured.err
    assert len(captured.err.splitlines()) == 1


def test_the_status_shows_hosts_slots_leases_and_idle_times(store_path, capsys):
    store = SQLiteStore(str(store_path))
    grant = pool_leases.acquire_slot(store, "repair-m-one-0", "cn-hangzhou-h", SPEC, SETTINGS)
    pool_hosts.mark_host_ready(store, grant.host, "i-bp1pooled0001", 0, SPEC, SETTINGS)
    other = pool_leases.acquire_slot(store, "repair-m-two-0", "cn-hangzhou-i", SPEC, SETTINGS)
    pool_hosts.mark_host_ready(store, other.host, "i-bp1pooled0002", 0, SPEC, SETTINGS)
    pool_leases.release_slot(store, other.lease)
    launching = pool_leases.acquire_slot(store, "repair-m-three-0", "cn-hangzhou-j", SPEC, SETTINGS)
    pool_hosts.drain_host(store, launching.host, "Cloud Assistant stopped answering")
    store.close()

    assert main(["pool", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["seat", "host", "instance", "zone", "type", "state", "slots", "idle"]
    first = out[1].split()
    assert first[:8] == ["0", grant.host.host_id, "i-bp1pooled0001", "cn-hangzhou-h", "ecs.g7.large", "ready",
                         "1/2", "-"]
    assert out[2].split()[:3] == ["slot", "0", "repair-m-one-0"] and "expires in" in out[2]
    second = out[3].split()
    assert second[1] == other.host.host_id and second[5:7] == ["ready", "0/2"] and second[7].endswith("s")
    third = out[4].split()
    assert third[1] == launching.host.host_id and third[2] == "-" and third[5:7] == ["draining", "1/2"]
    assert out[5].strip() == "draining: Cloud Assistant stopped answering"

    assert main(["pool", "status", "--zone", "cn-hangzhou-i", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [host["host_id"] for host in shown["hosts"]] == [other.host.host_id]
    assert shown["hosts"][0]["leases"] == [] and shown["hosts"][0]["idle_s"] >= 0
    assert main(["pool", "status", "--zone", "cn-shanghai-b"]) == 0
    assert "no pool hosts in zone cn-shanghai-b" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["pool", "status", "--zone", "Not A Zone"], ["pool", "status", "--zone"],
                                  ["pool"], ["pool", "resize"]])
def test_a_refused_pool_argument_is_one_line_exit_2_and_writes_nothing(argv, store_path, capsys, tmp_path):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_launch_past_its_deadline_is_shown_overdue(store_path, capsys):
    an_hour_ago = SQLiteStore(str(store_path), clock=lambda: time.time() - 3600)
    overdue = pool_leases.acquire_slot(an_hour_ago, "repair-m-slow-0", "cn-hangzhou-h", SPEC, SETTINGS)
    an_hour_ago.close()
    assert main(["pool", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split()[1] == overdue.host.host_id and out[1].split()[5] == "launching"
    assert out[2].strip().startswith("launch overdue: its seat is free again")
    assert "expired" in out[3] and "(free)" in out[3]          # its lease outlived by the hour too
