"""`image-repair repair --batch FILE` and `--all-at-risk` against `image-repair emulator serve
--latency fast` (real sockets, the real SDK, the local flow runner): the images run at once on the
pool of repair hosts, one line per image; a bad batch starts nothing (exit 2, one line)."""
import copy
import json

import pytest

from image_repair.emulator.seed import DEFAULT_SEED

from tests.integration.served_cli import cli, served_emulator

SOURCE = "m-bp1emulatorbrokenimg01"       # the built-in seed's broken image


def seed_file(folder, count: int):
    """The built-in seed plus ``count`` more broken images like SOURCE."""
    seed = copy.deepcopy(DEFAULT_SEED)
    template = [i for i in seed["images"] if i["id"] == SOURCE][0]
    for n in range(count):
        image = copy.deepcopy(template)
        image.update(id="m-bp1emulatorbatchcli%03d" % n, name="imported-centos7-%d" % n)
        image["disks"][0]["snapshot_id"] = "s-bp1emulatorbatchsys%03d" % n
        image["disks"][1]["snapshot_id"] = "s-bp1emulatorbatchdat%03d" % n
        seed["images"].append(image)
    path = folder / "seed.json"
    path.write_text(json.dumps(seed))
    return path


@pytest.fixture
def emulator(tmp_path):
    # The modelled minutes at 60x (not `fast`'s 600x): three flows share this process's CPU, and at
    # 600x a step slowed to 0.1 s of wall time on a loaded machine is a 60 s step, past its state's
    # Timeout (the runner then judges it killed, and the flow resumes it): seen on CI.
    latency = tmp_path / "latency.json"
    latency.write_text(json.dumps({"model": "fast", "speed": 60}))
    with served_emulator(tmp_path, "--latency", str(latency), "--seed", str(seed_file(tmp_path, 2))) as (endpoint, env):
        yield endpoint, env


def test_a_batch_file_repairs_every_image_at_once_on_the_pool(emulator, tmp_path):
    endpoint, env = emulator
    batch = tmp_path / "images.txt"
    batch.write_text("# three images\n%s\nm-bp1emulatorbatchcli000\n\nm-bp1emulatorbatchcli001  # the last\n" % SOURCE)
    done = cli("repair", "--batch", str(batch), "--endpoint", endpoint, "--engine", "alibaba", "--items", "auto",
               "--json", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = json.loads(done.stdout)
    assert [line["sourceImageId"] for line in lines] == [SOURCE, "m-bp1emulatorbatchcli000", "m-bp1emulatorbatchcli001"]
    assert {line["status"] for line in lines} == {"SUCCEEDED"} and all(line["newImageId"] for line in lines)
    status = cli("status", lines[0]["executionId"], env=env)
    assert "pool host" in status.stdout, status.stdout
    pool = cli("pool", "status", "--json", env=env)
    hosts = json.loads(pool.stdout)["hosts"]
    assert len(hosts) == 2 and {h["state"] for h in hosts} == {"ready"}     # 3 images, 2 slots a host
    # the same batch again: nothing runs twice
    again = cli("repair", "--batch", str(batch), "--endpoint", endpoint, "--engine", "alibaba", "--items", "auto",
                env=env)
    assert again.returncode == 0 and "0 to run, 3 already ran" in again.stderr, again.stderr[-2000:]


@pytest.mark.parametrize("content, why", [
    ("", "0 image ids"),
    ("[1, 2]", "must hold image ids"),
    ("%s\nnot-an-image\n" % SOURCE, "image not-an-image"),
    ("%s\n%s\n" % (SOURCE, SOURCE), "listed twice"),
])
def test_a_bad_batch_starts_nothing(emulator, tmp_path, content, why):
    endpoint, env = emulator
    batch = tmp_path / "images.txt"
    batch.write_text(content)
    done = cli("repair", "--batch", str(batch), "--endpoint", endpoint, env=env)
    assert done.returncode == 2 and why in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "no executions" in cli("list", env=env).stderr


def test_batch_and_an_image_id_are_one_or_the_other(emulator, tmp_path):
    endpoint, env = emulator
    done = cli("repair", SOURCE, "--all-at-risk", "--endpoint", endpoint, env=env)
    assert done.returncode == 2 and "give one of IMAGE_ID" in done.stderr


def test_all_at_risk_repairs_what_the_sweep_finds(emulator):
    endpoint, env = emulator
    listed = cli("sweep", "--dry-run", "--endpoint", endpoint, env=env)
    at_risk = {line.split("\t")[0] for line in listed.stdout.splitlines() if line.strip()}
    assert {SOURCE, "m-bp1emulatorbatchcli000", "m-bp1emulatorbatchcli001"} <= at_risk, listed.stdout
    done = cli("repair", "--all-at-risk", "--endpoint", endpoint, "--engine", "alibaba", "--items", "auto", "--json",
               env=env)
    lines = json.loads(done.stdout)
    assert {line["sourceImageId"] for line in lines} == at_risk
    assert done.returncode == 0 and {line["status"] for line in lines} == {"SUCCEEDED"}, done.stderr[-2000:]
    # repaired images are marked (image-repair:repaired-by): the sweep finds nothing more to do
    assert cli("sweep", "--dry-run", "--endpoint", endpoint, env=env).stdout.strip() == ""
