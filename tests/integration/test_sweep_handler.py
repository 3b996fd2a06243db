"""The timer-triggered FC handler image-repair-sweep: the sweep, then the janitor."""
import json

import pytest

from image_repair.control.clients.ecs import EcsPort
from image_repair.emulator.seed import many_images, seed_with_images
from image_repair.control.handlers.fc import use_ports
from image_repair.control.steps.runner import HandlerError
from image_repair.control.handlers.sweep import handler
from image_repair.cli.cloud_target import emulator_defaults
from image_repair.control.steps.common import Ports
from image_repair.control.store.sqlite import SQLiteStore
from image_repair.testing import ecs_client, mock_ecs

from .test_sweep import RecordingLauncher, kind


@pytest.fixture
def account(tmp_path, monkeypatch):
    images = many_images(300, at_risk_fraction=0.2, other_fraction=0.2, seed=2)
    store = SQLiteStore(str(tmp_path / "state.db"))
    with mock_ecs(seed_with_images(images)) as backend:
        use_ports(Ports(store=store, ecs=EcsPort(ecs_client(backend), backend.region)))
        monkeypatch.setenv("IMAGE_REPAIR_SWEEP_DEFAULTS", json.dumps(emulator_defaults(backend.seed_data)))
        launcher = RecordingLauncher()
        monkeypatch.setattr("image_repair.control.handlers.sweep.fanout_launcher", lambda settings, store: launcher)
        yield images, store, launcher
    use_ports(None)
    store.close()


def timer(payload) -> bytes:
    return json.dumps({"triggerTime": "2026-11-25T21:00:00Z", "triggerName": "sweep",
                       "payload": json.dumps(payload) if payload is not None else ""}).encode()


def test_timer_dry_run_sweeps_then_runs_the_janitor(account):
    images, store, launcher = account
    result = handler(timer({"dryRun": True}))
    assert sorted(d["imageId"] for d in result["sweep"]["needRepair"]) == sorted(
        i["id"] for i in images if kind(i) == "at_risk")
    assert result["janitor"]["dryRun"] is True and result["janitor"]["deleted"] == []
    assert launcher.launched == [] and store.list_executions() == []


def test_timer_starts_up_to_max_starts(account):
    images, store, launcher = account
    result = handler(timer({"maxStarts": 3, "policy": {"maxConcurrent": 50}}))
    assert len(launcher.launched) == 3 == len(store.list_executions())
    assert [d["action"] for d in result["sweep"]["needRepair"]].count("started") == 3
    empty = handler(timer(None))        # a timer without payload: the defaults (cap 10: 7 more)
    assert len(launcher.launched) == 10 and "janitor" in empty


@pytest.mark.parametrize("payload, code", [({"dryrun": True}, "InvalidInput"),
                                           ({"policy": {"riskLevels": ["Low"]}}, "InvalidInput")])
def test_bad_payloads_are_refused(account, payload, code):
    with pytest.raises(HandlerError) as caught:
        handler(timer(payload))
    assert caught.value.code == code


def test_bad_defaults_are_a_configuration_error_and_the_janitor_still_runs(account, monkeypatch, caplog):
    monkeypatch.setenv("IMAGE_REPAIR_SWEEP_DEFAULTS", json.dumps({"zoneId": "nowhere"}))
    caplog.set_level("INFO")
    with pytest.raises(HandlerError) as caught:
        handler(timer({}))
    assert caught.value.code == "InvalidConfiguration"
    assert "janitor.finished" in [r.getMessage() for r in caplog.records]
