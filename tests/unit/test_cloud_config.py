"""One place for the SDK clients' credentials, region and endpoint (cloud_config.py):
the credential chain of ``alibabacloud_credentials`` and the SDKs' own endpoint rules."""
import os
import subprocess
import sys

import pytest

from image_repair.control.cloud_config import StaticKeys, resolved_keys, sdk_config
from image_repair.control.clients.cloudflow import cloudflow_starter
from image_repair.control.clients.ecs import ecs_port
from image_repair.control.cloud_errors import CloudError
from image_repair.control.settings import Settings


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAIexample")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "secret")
    monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
    monkeypatch.delenv("IMAGE_REPAIR_ECS_ENDPOINT", raising=False)
    monkeypatch.delenv("IMAGE_REPAIR_FNF_ENDPOINT", raising=False)


@pytest.mark.parametrize("region, ecs, fnf", [
    ("cn-hangzhou", "ecs-cn-hangzhou.aliyuncs.com", "cn-hangzhou.fnf.aliyuncs.com"),
    ("cn-beijing", "ecs.cn-beijing.aliyuncs.com", "cn-beijing.fnf.aliyuncs.com"),
    ("ap-southeast-1", "ecs.ap-southeast-1.aliyuncs.com", "fnf.ap-southeast-1.aliyuncs.com")])
def test_endpoints_come_from_the_sdks_own_rules(keys, monkeypatch, region, ecs, fnf):
    """No endpoint forced by us: the SDK's endpoint map and rules (alibabacloud_ecs20140526
    client.py _endpoint_map: cn-hangzhou is ecs-cn-hangzhou.aliyuncs.com)."""
    settings = Settings.from_env({"FC_REGION": region, "IMAGE_REPAIR_FLOW_NAME": "image-repair"})
    assert ecs_port(settings).client._endpoint == ecs
    assert cloudflow_starter(settings).client._endpoint == fnf


def test_an_emulator_endpoint_on_loopback_is_plain_http(keys):
    config = sdk_config("cn-hangzhou", "127.0.0.1:8765")
    assert (config.endpoint, config.protocol) == ("127.0.0.1:8765", "HTTP")
    assert sdk_config("cn-hangzhou").endpoint is None


def test_keys_are_read_when_asked_not_when_imported(monkeypatch):
    """alibabacloud_credentials reads the environment once, at import; we read it at each call."""
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "first")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "s1")
    assert resolved_keys().access_key_id == "first"
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "second")
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", "sts-token")
    assert resolved_keys() == StaticKeys("second", "s1", "sts-token")


def test_without_keys_the_default_chain_is_asked_and_its_failure_is_one_clear_error(tmp_path):
    # in a fresh process: the package reads the environment once, at its first import
    code = ("from image_repair.control.cloud_config import keys_from_env, resolved_keys\n"
            "assert keys_from_env() is None\n"
            "try:\n    resolved_keys()\nexcept Exception as error:\n    print(error.code, error)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALIBABA_CLOUD_")}
    env.update(HOME=str(tmp_path), ALIBABA_CLOUD_ECS_METADATA_DISABLED="true")   # no profile, no metadata
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert run.stdout.startswith("MissingCredentials ") and "chain" in run.stdout, run.stdout + run.stderr
    assert "Traceback" not in run.stderr           # the package's own noisy logging is kept quiet


def test_the_region_is_function_computes_then_the_sdks_variable():
    assert Settings.from_env({"FC_REGION": "cn-shanghai", "ALIBABA_CLOUD_REGION_ID": "cn-beijing"}).region() \
        == "cn-shanghai"
    assert Settings.from_env({"ALIBABA_CLOUD_REGION_ID": "cn-beijing"}).region() == "cn-beijing"
    with pytest.raises(CloudError, match="ALIBABA_CLOUD_REGION_ID"):
        Settings.from_env({}).region()
