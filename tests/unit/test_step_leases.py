"""A step claimed by one invocation is leased for that function's timeout (FC's
``context.function.timeout``) plus a margin, not a fixed 15 minutes: an attempt the platform kills
frees its step soon after, and a live attempt never loses its claim."""
from types import SimpleNamespace

import pytest

from image_repair.control.flow import VirtualClock
from image_repair.control.steps.runner import function_time_limit, run_step
from image_repair.control.steps.common import LEASE_MARGIN_S, Ports
from image_repair.control.store import StepInProgress
from image_repair.control.store.sqlite import SQLiteStore


def test_the_time_limit_is_read_from_function_computes_context():
    assert function_time_limit(SimpleNamespace(function=SimpleNamespace(timeout=60))) == 60.0
    assert function_time_limit(SimpleNamespace(function=SimpleNamespace(timeout="120"))) == 120.0
    assert function_time_limit(None) is None and function_time_limit(SimpleNamespace()) is None


def test_a_claim_made_in_an_invocation_expires_with_the_function(tmp_path, monkeypatch):
    clock = VirtualClock()
    store = SQLiteStore(str(tmp_path / "state.db"), clock=clock)
    store.create_execution("exec-1", "m-src", {})
    ports = Ports(store=store, ecs=None, clock=clock)
    seen = {}

    def claiming_step(ports, event):
        from image_repair.control.models import FlowState
        claim = ports.store.begin_step(event.executionId, "launch", timeout_s=ports.step_lease_s)
        seen["lease"] = ports.step_lease_s
        seen["expires"] = ports.store.get_step(event.executionId, "launch").expires_at_ms
        assert not claim.completed
        return FlowState(executionId=event.executionId)
    import sys
    import types
    module = types.ModuleType("image_repair.control.steps.claiming_step")
    module.run = claiming_step
    monkeypatch.setitem(sys.modules, "image_repair.control.steps.claiming_step", module)
    run_step("claiming_step", {"executionId": "exec-1"}, ports, time_limit_s=60)
    assert seen["lease"] == 60 + LEASE_MARGIN_S
    assert seen["expires"] == int((clock.now() + 60 + LEASE_MARGIN_S) * 1000)
    with pytest.raises(StepInProgress):               # the attempt may still be running
        store.begin_step("exec-1", "launch")
    clock.advance(60 + LEASE_MARGIN_S)                # killed at its timeout: the step is free again
    assert not store.begin_step("exec-1", "launch").completed
    store.close()
