"""Acceptance: ``image-repair sweep --dry-run`` over a seeded account (``image-repair emulator
serve --seed FILE``, real sockets, real SDK) lists exactly the images that need a repair;
``image-repair janitor --dry-run`` runs against it too."""
import json

import pytest

from image_repair.emulator.seed import many_images, seed_with_images
from tests.integration.served_cli import cli, served_emulator


@pytest.fixture
def served(tmp_path):
    images = many_images(2000, at_risk_fraction=0.1, other_fraction=0.2, seed=5)
    seed_file = tmp_path / "account.json"
    seed_file.write_text(json.dumps(seed_with_images(images)))
    with served_emulator(tmp_path, "--seed", str(seed_file), "--latency", "immediate") as (endpoint, env):
        yield images, endpoint, env


def test_sweep_dry_run_lists_exactly_the_images_that_need_repair(served):
    images, endpoint, env = served
    expected = sorted(i["id"] for i in images if i["name"].endswith("-at_risk"))
    done = cli("sweep", "--dry-run", "--endpoint", endpoint, env=env)
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert sorted(row[0] for row in rows) == expected
    assert {row[1] for row in rows} == {"would_start", "deferred"}            # the cap (10) is shown
    assert sum(row[1] == "would_start" for row in rows) == 10
    assert all(row[2] == "fstab,virtio" and row[3].endswith("-at_risk") for row in rows)
    assert "need a repair" in done.stderr
    # --json: the whole report; a policy with Medium adds the Medium-only images
    medium = cli("sweep", "--dry-run", "--json", "--endpoint", endpoint, "--policy",
                 '{"riskLevels": ["High", "Medium"], "maxConcurrent": 1000}', env=env)
    report = json.loads(medium.stdout)
    assert sorted(d["imageId"] for d in report["needRepair"]) == sorted(
        i["id"] for i in images if i["name"].endswith(("-at_risk", "-medium_only")))
    assert {d["action"] for d in report["needRepair"]} == {"would_start"}
    # nothing was recorded by the dry runs
    listed = cli("list", env=env)
    assert listed.returncode == 0 and listed.stdout == ""


def test_janitor_dry_run_on_a_clean_account(served):
    _, endpoint, env = served
    done = cli("janitor", "--dry-run", "--ttl", "1", "--endpoint", endpoint, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and "janitor: 0 to delete" in done.stderr


def test_bad_policy_and_usage(served):
    _, endpoint, env = served
    bad = cli("sweep", "--dry-run", "--endpoint", endpoint, "--policy", '{"items": ["nope"]}', env=env)
    assert bad.returncode == 2 and "bad --policy" in bad.stderr and "unknown repair items" in bad.stderr
    assert "Traceback" not in bad.stderr
    usage = cli("--help")
    assert "sweep [--dry-run]" in usage.stdout and "janitor [--dry-run]" in usage.stdout
