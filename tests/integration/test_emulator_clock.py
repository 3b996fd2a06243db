"""The served emulator over real sockets: its clock (GET /__emulator__/clock, read with
emulator_clock), loud answers to paths no service claims, and a service registered beside ECS."""
import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from image_repair.emulator import EmulatorClockError, LatencyModel, build_backend, emulator_clock
from image_repair.emulator.registry import ECS, EMULATOR_CLOCK, Registry
from image_repair.emulator.server import EmulatorServer
from tests.unit.test_emulator_registry import FC, Recorder


def test_a_fast_emulator_tells_its_speed():
    backend = build_backend(latency=LatencyModel.named("fast"))
    with EmulatorServer(backend) as server:
        before = backend.clock.now()
        now, speed = emulator_clock(server.endpoint)
        after = backend.clock.now()
    assert speed == 600.0 and before <= now <= after


def test_a_manual_emulator_tells_its_exact_time():
    backend = build_backend(latency=LatencyModel.named("manual"))
    with EmulatorServer(backend) as server:
        first = emulator_clock("http://" + server.endpoint)
        backend.advance(60)
        second = emulator_clock(server.endpoint)
    assert first == (backend.clock.now() - 60, 0.0) and second == (backend.clock.now(), 0.0)


def test_paths_no_service_claims_are_a_loud_404():
    with EmulatorServer(build_backend()) as server:
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen("http://%s/no/such/path" % server.endpoint, timeout=5)
    body = json.loads(err.value.read())
    assert (err.value.code, body["Code"]) == (404, "EmulatorRouteNotFound")
    assert "GET /no/such/path" in body["Message"] and "ecs (hosts" in body["Message"]


def test_a_service_registered_beside_ecs_is_served():
    fc = Recorder("fc")
    registry = Registry([ECS, EMULATOR_CLOCK, FC])
    with EmulatorServer(build_backend(), registry=registry, backends={"fc": fc}) as server:
        request = urllib.request.Request("http://%s/2023-03-30/functions/f" % server.endpoint, method="PUT", data=b"")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert json.loads(answer.read()) == {"service": "fc", "path": "/2023-03-30/functions/f"}
        assert emulator_clock(server.endpoint)[1] == 0.0  # the others still answer (immediate: speed 0)
    assert fc.requests == [("PUT", "/2023-03-30/functions/f")]


class _Other(BaseHTTPRequestHandler):
    """Some other HTTP server: 404 on the clock's path, or a body that is no clock answer."""
    answer = None

    def do_GET(self):
        if self.answer is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("answer, message", [(None, "answered HTTP 404: not an image-repair emulator"),
                                             (b"<html>", "is not an emulator's clock answer"),
                                             (b'{"now": 1, "speed": -1}', "speed is -1"),
                                             (b'{"now": "soon", "speed": 1}', "now is 'soon'")])
def test_another_server_is_refused_in_one_line(answer, message):
    handler = type("Handler", (_Other,), {"answer": answer})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        with pytest.raises(EmulatorClockError) as err:
            emulator_clock("127.0.0.1:%d" % httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert message in str(err.value) and "\n" not in str(err.value)


def test_nothing_listening_is_refused_in_one_line():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Other)
    port = httpd.server_address[1]
    httpd.server_close()  # a port that was free a moment ago, now closed
    with pytest.raises(EmulatorClockError, match="cannot reach the emulator's clock"):
        emulator_clock("127.0.0.1:%d" % port)
