"""The local workflow on the Tablestore store: ``image-repair repair --endpoint`` against one served
emulator (``image-repair emulator serve``) that answers both ECS and Tablestore on one port, with
``IMAGE_REPAIR_STORE=tablestore://image-repair/state`` and ``TABLESTORE_ENDPOINT`` pointing at it,
as a user sets them (docs/store.md, "Running locally on Tablestore"). Real processes and sockets,
the real ECS and Tablestore SDKs; the state is read back from the emulator's Tablestore."""
import json
import subprocess
import sys

import pytest

from image_repair.control.store.tablestore import TablestoreStore, make_ots_client
from image_repair.emulator.seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET
from image_repair.testing import tablestore_store_env

from .served_cli import cli, served_emulator
from .workflow_env import SOURCE


@pytest.fixture
def served(tmp_path):
    """One emulator process: (its HOST:PORT, an environment whose store is its Tablestore)."""
    with served_emulator(tmp_path, "--latency", "immediate") as (endpoint, env):
        env = {k: v for k, v in env.items() if not k.startswith(("ALIBABA_CLOUD_", "TABLESTORE_", "FC_"))}
        env.update(tablestore_store_env("http://" + endpoint, table="state"))
        yield endpoint, env


def test_a_repair_keeps_its_state_in_the_served_emulators_tablestore(served):
    endpoint, env = served
    done = cli("repair", SOURCE, "--endpoint", endpoint, "--engine", "alibaba", "--items", "virtio", "--json",
               env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["status"] == "SUCCEEDED" and result["report"]["newImageId"]
    # the state is in Tablestore (read with the adapter over the same endpoint), not in a SQLite file
    store = TablestoreStore(make_ots_client("http://" + endpoint, DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET,
                                            "image-repair"), "state", create_table=False)
    (execution,) = store.list_executions()
    assert execution.execution_id == result["executionId"] and execution.status.value == "SUCCEEDED"
    assert store.get_lock(SOURCE) is None
    assert {"launch_repair_instance", "create_repaired_image"} <= set(execution.steps)
    store.close()
    # the same repair again is the same execution, found in Tablestore; status and list read it there
    again = cli("repair", SOURCE, "--endpoint", endpoint, "--engine", "alibaba", "--items", "virtio", env=env)
    assert again.returncode == 0 and "already ran" in again.stderr, again.stderr[-3000:]
    shown = cli("status", result["executionId"], env=env)
    assert shown.returncode == 0 and "SUCCEEDED" in shown.stdout
    listed = cli("list", env=env)
    assert listed.stdout.count(result["executionId"]) == 1


def test_a_store_setting_pointing_off_the_loopback_in_plain_http_is_refused_before_anything_runs(served):
    endpoint, env = served
    env = dict(env, TABLESTORE_ENDPOINT="http://192.0.2.1:%s" % endpoint.rsplit(":", 1)[1])
    done = cli("repair", SOURCE, "--endpoint", endpoint, "--engine", "alibaba", env=env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "image-repair repair: TABLESTORE_ENDPOINT=%s: plain http only to a loopback address (the emulator); "
        "Tablestore's endpoints are https" % env["TABLESTORE_ENDPOINT"])
    assert "Traceback" not in done.stderr


def test_serving_a_badly_named_tablestore_instance_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, "-m", "image_repair", "emulator", "serve", "--port", "0",
                           "--tablestore-instance", "bad-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines()[-1] == (
        "image-repair emulator: --tablestore-instance bad-: an instance name has 3 to 16 letters, digits or "
        "hyphens, starts with a letter and does not end with a hyphen")
