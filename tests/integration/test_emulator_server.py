"""The emulator as an HTTP server on 127.0.0.1, exercised with the real alibabacloud_ecs20140526
client over real sockets: both signature styles, errors, a response lost after commit (the
connection drops), the `image-repair emulator serve` command with a seed file, and the
acceptance script examples/seed_sequence.py run as a program against it."""
import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from alibabacloud_ecs20140526 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

from image_repair.emulator import LatencyModel, build_backend
from image_repair.emulator.seed import DEFAULT_SEED
from image_repair.emulator.server import EmulatorServer
from image_repair.testing import ecs_client

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
LAUNCH = dict(region_id=R, image_id="aliyun_3_x64_20G_alibase_20250629.vhd", instance_type="ecs.g7.large",
              v_switch_id="vsw-bp1emulator00000000h", security_group_id="sg-bp1emulator0000000000")


@pytest.fixture
def server():
    with EmulatorServer(build_backend()) as running:
        yield running


@pytest.mark.parametrize("rpc", [False, True], ids=["V3", "RPC"])
def test_sdk_over_http(server, rpc):
    client = ecs_client(server.backend, server.endpoint, rpc=rpc)
    body = client.describe_images_with_options(m.DescribeImagesRequest(region_id=R, image_owner_alias="self"), RT).body
    assert body.images.image[0].image_id == "m-bp1emulatorbrokenimg01" and body.request_id
    instance_id = client.run_instances_with_options(m.RunInstancesRequest(**LAUNCH, tag=[
        m.RunInstancesRequestTag(key="k", value="a b&c=d+e/f")]), RT).body.instance_id_sets.instance_id_set[0]
    described = client.describe_instances_with_options(m.DescribeInstancesRequest(
        region_id=R, instance_ids=json.dumps([instance_id])), RT).body.instances.instance[0]
    assert described.status == "Running" and described.tags.tag[0].tag_value == "a b&c=d+e/f"
    with pytest.raises(ClientException) as err:
        client.describe_regions_with_options(m.DescribeRegionsRequest(), RT)
    assert (err.value.code, err.value.status_code) == ("InvalidAction.NotFound", 404)
    assert server.backend.calls[-1].style == ("RPC" if rpc else "V3")


def test_bad_signature_over_http(server):
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.models import Config
    client = Client(Config(access_key_id=server.backend.access_key_id, access_key_secret="nope", region_id=R,
                           endpoint=server.endpoint, protocol="HTTP"))
    with pytest.raises(ClientException) as err:
        client.describe_images_with_options(m.DescribeImagesRequest(region_id=R), RT)
    assert (err.value.code, err.value.status_code) == ("SignatureDoesNotMatch", 400)


def test_lost_response_drops_the_connection_and_the_token_recovers(server):
    client = ecs_client(server.backend, server.endpoint)
    server.backend.faults.lose_response("RunInstances", mode="timeout")
    with pytest.raises(Exception) as err:
        client.run_instances_with_options(m.RunInstancesRequest(**LAUNCH, client_token="tok"), RT)
    assert not isinstance(err.value, ClientException)  # a transport failure, not an API error
    assert len(server.backend.instances) == 1
    again = client.run_instances_with_options(m.RunInstancesRequest(**LAUNCH, client_token="tok"), RT).body
    assert again.instance_id_sets.instance_id_set == list(server.backend.instances)


def start_cli(*args):
    process = subprocess.Popen([sys.executable, "-m", "image_repair", "emulator", "serve", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, cwd=ROOT)
    line = process.stdout.readline()
    match = re.search(r"http://(127\.0\.0\.1:\d+)", line)
    if not match:
        process.kill()
        raise AssertionError("no endpoint in %r; stderr: %s" % (line, process.stderr.read()))
    return process, match.group(1)


def test_serve_command_with_a_yaml_seed(tmp_path):
    seed = json.loads(json.dumps(DEFAULT_SEED))
    seed["accounts"] = [{"access_key_id": "LTAIseeded", "access_key_secret": "seeded-secret", "account_id": "42"}]
    seed["images"][2]["name"] = "seeded-name"
    path = tmp_path / "seed.yaml"
    path.write_text(yaml.safe_dump(seed))
    process, endpoint = start_cli("--seed", str(path), "--latency", "immediate")
    try:
        backend = build_backend(seed)  # only for its keys: the server has its own state
        client = ecs_client(backend, endpoint)
        image = client.describe_images_with_options(m.DescribeImagesRequest(
            region_id=R, image_id="m-bp1emulatorbrokenimg01"), RT).body.images.image[0]
        assert image.image_name == "seeded-name"
    finally:
        process.terminate()
        process.wait(10)
    bad = subprocess.run([sys.executable, "-m", "image_repair", "emulator", "serve", "--port", "0",
                          "--seed", str(tmp_path / "missing.yaml")], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, cwd=ROOT, timeout=30)
    assert bad.returncode == 2 and "missing.yaml" in bad.stderr


def test_acceptance_script_against_the_served_emulator():
    process, endpoint = start_cli("--latency", "fast")
    try:
        run = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "seed_sequence.py"),
                              "--endpoint", endpoint, "--time-scale", str(LatencyModel.named("fast").speed)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    finally:
        process.terminate()
        process.wait(10)
    assert run.returncode == 0, run.stderr + run.stdout
    result = json.loads(run.stdout[run.stdout.index("{"):])
    assert result["image_id"].startswith("m-") and result["repair_output"] == "repair finished\n"
    assert "released" in run.stdout
