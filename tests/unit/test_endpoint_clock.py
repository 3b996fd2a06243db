"""``--endpoint``: the command learns the served emulator's clock (cli/cloud_target.py) and runs
the flow's waits at its pace; an endpoint without that clock keeps real time, quietly."""
import http.server
import threading

import pytest

from image_repair.cli.cloud_target import EndpointClock, ask_emulator_clock


class FakeTime:
    """Monotonic and sleep of a test: time moves only when slept."""

    def __init__(self):
        self.now, self.slept = 100.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def clock_on(answer, fake: FakeTime, wall=lambda: 1_000.0) -> EndpointClock:
    return EndpointClock("127.0.0.1:1", ask=lambda endpoint: answer, monotonic=fake.monotonic,
                         real_sleep=fake.sleep, wall=wall)


def test_a_fast_emulator_scales_every_wait_by_its_speed():
    fake = FakeTime()
    clock = clock_on((1_700_000_000.0, 600.0), fake)
    assert clock.now() == 1_700_000_000.0 and clock.speed == 600.0
    clock.sleep(300)                                  # the image check's modelled five minutes
    assert fake.slept == [0.5]
    assert clock.now() == 1_700_000_300.0             # the flow's time moved by the whole wait


def test_the_steps_own_work_takes_real_time_on_the_flow_clock():
    """A step's work is real: 2 s of it are 2 s for the flow's function timeouts, not 1200."""
    fake = FakeTime()
    clock = clock_on((1_700_000_000.0, 600.0), fake)
    started = clock.now()
    fake.now += 2.0                                   # a handler working
    assert clock.now() - started == 2.0
    clock.sleep(60)
    assert clock.now() - started == 62.0


def test_an_emulator_moved_only_by_its_tests_takes_no_real_time():
    fake = FakeTime()
    clock = clock_on((1_700_000_000.0, 0.0), fake)
    clock.sleep(60)
    clock.sleep(30)
    assert fake.slept == [] and clock.now() == 1_700_000_090.0
    fake.now += 1.5                                   # work is real time here too
    assert clock.now() == 1_700_000_091.5


def test_without_an_emulator_clock_waits_are_real():
    fake = FakeTime()
    clock = clock_on(None, fake, wall=lambda: 42.0)
    clock.sleep(5)
    assert fake.slept == [5] and clock.now() == 42.0 and clock.speed is None


def test_the_clock_is_asked_once_and_only_when_used():
    asked = []
    clock = EndpointClock("127.0.0.1:1", ask=lambda endpoint: asked.append(endpoint) or (0.0, 1.0))
    assert asked == []                                # a command refused before any work asks nothing
    clock.now()
    clock.now()
    assert asked == ["127.0.0.1:1"]
    with pytest.raises(ValueError):
        clock.sleep(-1)


class NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def not_an_emulator():
    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_an_endpoint_answering_404_keeps_real_time_and_says_so_calmly(not_an_emulator, capsys):
    assert ask_emulator_clock(not_an_emulator) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no emulator clock: flow waits take real time" in err
    assert "error" not in err.lower() and "Traceback" not in err


def test_a_refused_connection_keeps_real_time(capsys):
    with socket_closed() as endpoint:
        assert ask_emulator_clock(endpoint) is None
    assert "has no emulator clock" in capsys.readouterr().err


class socket_closed:
    """A loopback port nobody listens on (bound, then closed)."""

    def __enter__(self) -> str:
        import socket
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        return "127.0.0.1:%d" % port

    def __exit__(self, *exc):
        return False
