"""The registry of emulated services by URL and its router, used in-process (mock_ecs,
mock_services) as the served emulator uses it: ECS and the emulator's clock are registered; a
new service plugs in without any change to the dispatch; unknown hosts and paths fail loudly."""
import json
import subprocess
import sys

import pytest
import requests
from alibabacloud_ecs20140526 import models as m
from darabonba.runtime import RuntimeOptions

from image_repair.emulator import LatencyModel, build_backend
from image_repair.emulator.clock_http import CLOCK_PATH, clock_url
from image_repair.emulator.http_messages import HttpRequest, json_response
from image_repair.emulator.registry import ECS, EMULATOR_CLOCK, Registry, Router, Service, default_registry
from image_repair.testing import ecs_client, mock_ecs, mock_services

RT = RuntimeOptions(autoretry=False)
R = "cn-hangzhou"


class Recorder:
    """A stand-in service's backend: what its gateway was asked (the registry's own test double;
    no such service exists in the emulator yet)."""

    def __init__(self, name):
        self.name, self.requests = name, []


class RecorderGateway:
    def __init__(self, backend):
        self.backend = backend

    def handle(self, request):
        self.backend.requests.append((request.method, request.path))
        return json_response(200, {"service": self.backend.name, "path": request.path})


FC = Service(name="fc", backend="fc", gateway=RecorderGateway, paths=r"/2023-03-30/.*", methods=("GET", "PUT"),
             hosts=r"[0-9]+\.cn-hangzhou\.fc\.aliyuncs\.com")


def flow_version(request):
    return request.header("x-acs-version") == "2019-03-15"


# Shares "/" with ECS; claims only its own API version.
FLOW = Service(name="cloudflow", backend="flow", gateway=RecorderGateway, paths=r"/",
               hosts=r"cn-hangzhou\.fnf\.aliyuncs\.com|ecs[.-][a-z0-9.-]*aliyuncs\.com", accepts=flow_version)


def test_the_default_registry_serves_ecs_tablestore_and_the_clock():
    assert default_registry().names() == ["ecs", "tablestore", "emulator"]
    assert default_registry() is not default_registry()  # no registry shared between tests


def test_unknown_path_on_an_intercepted_host_is_a_loud_404():
    with mock_ecs():
        answer = requests.post("https://ecs.cn-hangzhou.aliyuncs.com/nothing/here")
        clock = requests.get("https://ecs.cn-hangzhou.aliyuncs.com" + CLOCK_PATH)  # served only
    for response in (answer, clock):
        body = response.json()
        assert (response.status_code, body["Code"]) == (404, "EmulatorRouteNotFound")
        assert "ecs (hosts" in body["Message"] and "emulator (served only" in body["Message"]


def test_unknown_cloud_host_is_a_loud_404_on_the_router():
    router = Router({"ecs": build_backend()})
    response = router.handle(HttpRequest("GET", "http://oss-cn-hangzhou.aliyuncs.com/", {}))
    assert response.status == 404 and json.loads(response.body)["Code"] == "EmulatorRouteNotFound"
    assert "on host oss-cn-hangzhou.aliyuncs.com" in json.loads(response.body)["Message"]


def test_the_clock_answers_on_the_emulators_own_address():
    backend = build_backend(latency=LatencyModel.named("manual"))
    backend.advance(90)
    router = Router({"ecs": backend})
    response = router.handle(HttpRequest("GET", "http://127.0.0.1:8765" + CLOCK_PATH, {}))
    assert response.status == 200
    assert json.loads(response.body) == {"now": backend.clock.now(), "speed": 0.0, "region": R}
    posted = router.handle(HttpRequest("POST", "http://127.0.0.1:8765" + CLOCK_PATH, {}))
    assert posted.status == 404  # GET only


def test_a_new_service_plugs_in_beside_ecs():
    backend, fc = build_backend(), Recorder("fc")
    registry = Registry([ECS, EMULATOR_CLOCK, FC])
    with mock_services({"ecs": backend, "fc": fc}, registry):
        answer = requests.put("https://1234.cn-hangzhou.fc.aliyuncs.com/2023-03-30/functions/f")
        assert answer.json() == {"service": "fc", "path": "/2023-03-30/functions/f"}
        ecs_client(backend).describe_images_with_options(m.DescribeImagesRequest(region_id=R), RT)
        assert requests.delete("https://1234.cn-hangzhou.fc.aliyuncs.com/2023-03-30/x").status_code == 404
    assert fc.requests == [("PUT", "/2023-03-30/functions/f")] and backend.call_counts()["DescribeImages"] == 1
    # A service whose backend is not given is not mounted.
    assert [s.name for s, _ in Router({"ecs": backend}, registry).mounted] == ["ecs", "emulator"]


def test_a_service_sharing_a_path_claims_its_requests_first():
    backend, flow = build_backend(), Recorder("cloudflow")
    router = Router({"ecs": backend, "flow": flow}, Registry([ECS, EMULATOR_CLOCK, FLOW]))
    routed = router.route(HttpRequest("POST", "https://ecs.cn-hangzhou.aliyuncs.com/", {"x-acs-version": "2019-03-15"}))
    assert routed[0].name == "cloudflow"
    routed = router.route(HttpRequest("POST", "https://ecs.cn-hangzhou.aliyuncs.com/", {"x-acs-version": "2014-05-26"}))
    assert routed[0].name == "ecs"


def test_registering_twice_or_a_bad_pattern_is_refused():
    registry = default_registry()
    with pytest.raises(ValueError, match="already registered"):
        registry.register(ECS)
    with pytest.raises(Exception):
        registry.register(Service(name="bad", backend="x", gateway=RecorderGateway, paths="(unclosed"))


def test_clock_url():
    assert clock_url("127.0.0.1:8765") == "http://127.0.0.1:8765" + CLOCK_PATH
    assert clock_url("http://localhost:1/") == "http://localhost:1" + CLOCK_PATH


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)


def test_the_clock_client_loads_nothing_of_the_backend():
    result = run_python("import sys; from image_repair.emulator import emulator_clock; "
                        "print(sorted(m for m in sys.modules if m.startswith('image_repair')))")
    assert result.returncode == 0, result.stdout
    assert "image_repair.emulator.clock_http" in result.stdout
    assert "backend" not in result.stdout and "seed" not in result.stdout


def test_the_backend_does_not_import_the_seed():
    """reset() applies the seed through what build_backend handed over: backend -> seed would be a
    cycle (seed builds backends)."""
    result = run_python("import sys, image_repair.emulator.backend; "
                        "print('image_repair.emulator.seed' in sys.modules)")
    assert (result.returncode, result.stdout.strip()) == (0, "False"), result.stdout
