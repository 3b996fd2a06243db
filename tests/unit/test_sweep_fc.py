"""The FC async fan-out over the real FC 3.0 SDK (2023-03-30): its HTTP request is caught by ``responses``."""
import json

import pytest
import responses
from alibabacloud_fc20230330.client import Client
from alibabacloud_tea_openapi.models import Config

from image_repair.control.cloud_errors import CloudError
from image_repair.control.clients.fc import FcInvoker
from image_repair.control.launchers import CloudFlowLauncher, FcAsyncLauncher, fanout_launcher, start_execution
from image_repair.control.settings import Settings, SettingsError

ENDPOINT = "123456.cn-hangzhou.fc.aliyuncs.com"
URL = "https://%s/2023-03-30/functions/image-repair-start/invocations" % ENDPOINT   # no service in FC 3.0
RAW = {"regionId": "cn-hangzhou", "zoneId": "cn-hangzhou-h", "repairImageId": "m-bp1emulatorbrokenimg01",
       "instanceType": "ecs.g7.large", "securityGroupId": "sg-bp1emulator0000000000",
       "vSwitchId": "vsw-bp1emulator00000000h", "repairItems": ["virtio"]}


def launcher(store):
    client = Client(Config(access_key_id="LTAItestkey", access_key_secret="secret", region_id="cn-hangzhou",
                           endpoint=ENDPOINT))
    return FcAsyncLauncher(FcInvoker(client), store)


@responses.activate
def test_async_invocation_carries_the_execution_id_and_its_parameters(store):
    responses.add(responses.POST, URL, status=202, body=b"")
    launched = start_execution(store, launcher(store), RAW)
    assert launched.created and launched.started
    (call,) = responses.calls
    request = call.request
    assert request.method == "POST"
    assert request.url.split("?")[0] == URL
    assert request.headers["x-fc-invocation-type"] == "Async"
    assert request.headers["x-fc-async-task-id"] == launched.execution_id
    assert "X-Fc-Stateful-Async-Invocation-Id" not in request.headers
    assert request.headers["Authorization"].startswith("ACS3-HMAC-SHA256 Credential=LTAItestkey,")
    assert request.headers["x-acs-action"] == "InvokeFunction" and request.headers["x-acs-version"] == "2023-03-30"
    body = json.loads(request.body)
    assert body["repairImageId"] == RAW["repairImageId"] and body["repairItems"] == ["virtio"]
    assert body == store.get_execution(launched.execution_id).params


@responses.activate
def test_a_second_invocation_of_one_id_is_already_started(store):
    responses.add(responses.POST, URL, status=202, body=b"")
    # FC answers a task id it has seen with HTTP 409 Conflict; its error code string is not in the FC 3.0
    # docs found, so the launcher keys on the status alone (this body's code is only a placeholder)
    responses.add(responses.POST, URL, status=409, json={"Code": "Conflict", "Message": "async task id exists"})
    fc = launcher(store)
    first = start_execution(store, fc, RAW)
    second = start_execution(store, fc, RAW)      # RUNNING + idempotent launcher: launched again, refused
    assert first.started and not second.started and not second.created
    assert len(responses.calls) == 2


@responses.activate
def test_other_failures_are_cloud_errors(store):
    responses.add(responses.POST, URL, status=500, json={"ErrorCode": "InternalServerError", "ErrorMessage": "x"})
    with pytest.raises(CloudError) as caught:
        start_execution(store, launcher(store), RAW)
    assert caught.value.code == "Transient"


def test_fanout_is_chosen_by_environment(store, monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAItestkey")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    env = {"IMAGE_REPAIR_FLOW_NAME": "image-repair", "FC_ACCOUNT_ID": "123456", "FC_REGION": "cn-hangzhou"}
    assert isinstance(fanout_launcher(Settings.from_env(env), store), CloudFlowLauncher)
    env["IMAGE_REPAIR_FANOUT"] = "fc-async"                         # FC 3.0: no service to name
    fc = fanout_launcher(Settings.from_env(env), store)
    assert isinstance(fc, FcAsyncLauncher) and fc.function_name == "image-repair-start" and fc.idempotent
    assert fc.invoker.client._endpoint == "123456.cn-hangzhou.fc.aliyuncs.com"
    env["IMAGE_REPAIR_START_FUNCTION"] = "my-start"
    assert fanout_launcher(Settings.from_env(env), store).function_name == "my-start"
    del env["FC_ACCOUNT_ID"]
    with pytest.raises(CloudError):               # no endpoint to call
        fanout_launcher(Settings.from_env(env), store)
    with pytest.raises(CloudError):               # a value given by the caller (the CLI's --fanout) is checked too
        fanout_launcher(Settings.from_env(env), store, fanout="sqs")
    with pytest.raises(SettingsError, match="IMAGE_REPAIR_FANOUT"):
        Settings.from_env(dict(env, IMAGE_REPAIR_FANOUT="sqs"))
