"""The emulator's own clock over HTTP, both ends: the served emulator answers

    GET /__emulator__/clock  ->  {"now": <virtual epoch seconds>, "speed": <virtual seconds per
                                  wall-clock second; 0 when only tests move it>, "region": "..."}

and ``emulator_clock(endpoint)`` asks it, so that a client of a served emulator (the CLI's
``image-repair repair --endpoint``) learns the emulator's time scale instead of being told it:
with ``--latency fast`` the speed is 600, a modelled minute passes in 0.1 s of wall clock.

Standard library only, and nothing else from the emulator: a client imports this module without
loading the emulator's backend."""
import json
import math
import urllib.error
import urllib.request
from typing import Tuple

from .http_messages import HttpRequest, HttpResponse, json_response

CLOCK_PATH = "/__emulator__/clock"
MAX_ANSWER = 4096  # bytes: the answer is three fields


class EmulatorClockError(Exception):
    """The endpoint did not answer as an emulator's clock does (one-line message)."""


class ClockGateway:
    """The server side: answers GET CLOCK_PATH from a backend's virtual clock."""

    def __init__(self, backend):
        self.backend = backend

    def handle(self, request: HttpRequest) -> HttpResponse:
        clock = self.backend.clock
        return json_response(200, {"now": clock.now(), "speed": clock.speed, "region": self.backend.region},
                             {"Cache-Control": "no-store"})


def clock_url(endpoint: str) -> str:
    """``HOST:PORT`` (plain HTTP, as ``--endpoint`` takes it) or an http(s) URL, -> the clock's URL."""
    base = endpoint if "://" in endpoint else "http://" + endpoint
    return base.rstrip("/") + CLOCK_PATH


def emulator_clock(endpoint: str, timeout: float = 5.0) -> Tuple[float, float]:
    """(now, speed) of the emulator served at ``endpoint``: its virtual time in epoch seconds and
    how many virtual seconds pass per wall-clock second (0: only its tests move it). Raises
    EmulatorClockError when the endpoint is unreachable or is not an emulator."""
    url = clock_url(endpoint)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            raw = answer.read(MAX_ANSWER + 1)
    except urllib.error.HTTPError as exc:
        raise EmulatorClockError("%s answered HTTP %d: not an image-repair emulator" % (url, exc.code))
    except (urllib.error.URLError, OSError) as exc:
        raise EmulatorClockError("cannot reach the emulator's clock at %s: %s" % (url, getattr(exc, "reason", exc)))
    try:
        if len(raw) > MAX_ANSWER:
            raise ValueError("over %d bytes" % MAX_ANSWER)
        data = json.loads(raw.decode("utf-8"))
        now, speed = data["now"], data["speed"]
        for name, value in (("now", now), ("speed", speed)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError("%s is %r" % (name, value))
    except (ValueError, KeyError, TypeError) as exc:
        raise EmulatorClockError("%s is not an emulator's clock answer (%s)" % (url, exc))
    return float(now), float(speed)
