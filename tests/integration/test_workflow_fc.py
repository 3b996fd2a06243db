"""The FC entry points as Function Compute calls them: step handlers building their own ports from
the function's environment (credentials, store, an emulator endpoint) over real HTTP, and the
start handler starting CloudFlow with a deterministic execution name (fnf SDK, HTTP mocked)."""
import importlib
import json
import urllib.parse

import pytest
import responses

from image_repair.emulator.seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, build_backend
from image_repair.emulator.server import EmulatorServer
from image_repair.control.flow import FlowRunner
from image_repair.control.handlers.fc import use_ports
from image_repair.control.steps import runner
from image_repair.control.local_run import CloudClock, load_repair_flow
from image_repair.control.models import flow_input
from image_repair.control.steps import FUNCTIONS
from image_repair.control.store import open_store

from .workflow_env import SOURCE, HostAgent, request


@pytest.fixture
def fc_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DEFAULT_ACCESS_KEY_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DEFAULT_ACCESS_KEY_SECRET)
    monkeypatch.setenv("FC_REGION", "cn-hangzhou")
    monkeypatch.setenv("IMAGE_REPAIR_STORE", "sqlite://%s" % (tmp_path / "state.db"))
    monkeypatch.setenv("IMAGE_REPAIR_FLOW_NAME", "image-repair")
    use_ports(None)
    yield tmp_path
    use_ports(None)


def test_step_handlers_from_the_environment_over_http(fc_env, monkeypatch):
    from image_repair.emulator.clock import LatencyModel
    backend = build_backend(latency=LatencyModel.named("manual"))
    backend.command_handlers.append(HostAgent(None))
    with EmulatorServer(backend).start() as server:
        monkeypatch.setenv("IMAGE_REPAIR_ECS_ENDPOINT", server.endpoint)
        from image_repair.control.steps.start import record_execution
        execution, _, _ = record_execution(open_store(), request())
        handlers = {name: importlib.import_module("image_repair.control.handlers." + step).handler
                    for name, step in FUNCTIONS.items()}
        result = FlowRunner(load_repair_flow(), handlers, clock=CloudClock(backend)).run(
            flow_input(execution.execution_id), name=execution.execution_id)
        assert result.status == "Succeeded", result.error_detail
        assert {c.style for c in backend.calls} == {"V3"}          # signed requests over HTTP
        done = open_store().get_execution(execution.execution_id)
        assert done.status.value == "SUCCEEDED" and done.report["newImageId"] in backend.images
        assert not [r for r in backend.resources_by_tag("image-repair:execution", execution.execution_id)
                    if r[0] == "instance"]
        # a handler re-invoked as FC would (bytes in, dict out) changes nothing
        out = handlers["image-repair-finish"](json.dumps({"executionId": execution.execution_id}).encode(), None)
        assert out["executionId"] == execution.execution_id


def test_handler_errors_carry_codes(fc_env):
    from image_repair.control.handlers.check_source_image import handler
    with pytest.raises(runner.HandlerError) as info:
        handler(b'{"attempt": 1}', None)
    assert info.value.code == "InvalidInput"
    assert str(info.value).startswith("InvalidInput: ")    # what reaches the caller: errorMessage


def fnf_calls(mock):
    return [dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(c.request.url).query)) | dict(
        urllib.parse.parse_qsl(c.request.body if isinstance(c.request.body, str) else (c.request.body or b"").decode()))
            for c in mock.calls]


def test_start_handler_records_once_and_starts_a_named_execution(fc_env):
    from image_repair.control.handlers.start import handler
    event = json.dumps({k: v for k, v in request().items() if k != "regionId"}).encode()
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://cn-hangzhou.fnf.aliyuncs.com/", json={"RequestId": "r1", "Name": "x"})
        mock.add(responses.POST, "https://cn-hangzhou.fnf.aliyuncs.com/", status=400, json={
            "RequestId": "r2", "Code": "ExecutionAlreadyExists", "Message": "exists"})
        first = handler(event, None)
        second = handler(event, None)
        calls = fnf_calls(mock)
    assert first["created"] and first["flowStarted"] and not second["created"] and not second["flowStarted"]
    assert first["executionId"] == second["executionId"]
    assert [c["ExecutionName"] for c in calls] == [first["executionId"]] * 2
    assert json.loads(calls[0]["Input"]) == {"executionId": first["executionId"], "watch": False}   # the flow's first Choice
    assert calls[0]["FlowName"] == "image-repair"
    assert len(open_store().list_executions()) == 1
    assert open_store().list_executions()[0].source_image_id == SOURCE


def test_start_handler_refuses_bad_input_clearly(fc_env):
    from image_repair.control.handlers.start import handler
    with pytest.raises(runner.HandlerError) as info:
        handler(json.dumps({"repairImageId": "nope", "repairItems": ["warp"]}).encode(), None)
    assert info.value.code == "InvalidInput"
    assert str(info.value).startswith("InvalidInput: ")    # what reaches the caller: errorMessage
    assert "repairImageId" in str(info.value) and "warp" in str(info.value) and "zoneId: missing" in str(info.value)
    assert open_store().list_executions() == []


def test_start_handler_with_a_list_starts_one_pooled_execution_per_image_up_to_its_quota(fc_env):
    from image_repair.control.handlers.start import handler
    common = {k: v for k, v in request().items() if k not in ("regionId", "repairImageId")}
    images = ["m-bp1emulatorbatch%05d" % n for n in range(3)]
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://cn-hangzhou.fnf.aliyuncs.com/", json={"RequestId": "r1", "Name": "x"})
        answer = handler(json.dumps(dict(common, repairImageIds=images, maxStarts=2)).encode(), None)
        calls = fnf_calls(mock)
    assert [e["created"] and e["flowStarted"] for e in answer["executions"]] == [True, True]
    assert answer["deferred"] == images[2:]
    assert [c["ExecutionName"] for c in calls] == [e["executionId"] for e in answer["executions"]]
    recorded = sorted(open_store().list_executions(), key=lambda e: e.source_image_id)
    assert [e.source_image_id for e in recorded] == images[:2]
    assert all(e.params["pool"] is True for e in recorded)


@pytest.mark.parametrize("body, why", [
    ({"repairImageIds": []}, "repairImageIds: a list of 1-100"),
    ({"repairImageIds": ["m-bp1emulatorbatch00001"] * 2}, "listed twice"),
    ({"repairImageIds": ["m-bp1emulatorbatch00001", "bogus"]}, "image bogus"),
    ({"repairImageIds": ["m-bp1emulatorbatch00001"], "maxStarts": "2"}, "maxStarts"),
])
def test_a_bad_bulk_start_starts_nothing(fc_env, body, why):
    from image_repair.control.handlers.start import handler
    common = {k: v for k, v in request().items() if k not in ("regionId", "repairImageId")}
    with pytest.raises(runner.HandlerError) as info:
        handler(json.dumps(dict(common, **body)).encode(), None)
    assert info.value.code == "InvalidInput" and why in str(info.value), str(info.value)
    assert open_store().list_executions() == []
