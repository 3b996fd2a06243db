"""Where a control-plane command's ECS calls go, and at what pace its flow waits.

* ``--endpoint HOST:PORT``: an emulator served by ``image-repair emulator serve`` (its seeded
  keys and network). The command asks the emulator for its clock (``GET /__emulator__/clock``,
  emulator/clock_http.py) and runs the flow on it: a modelled wait of N seconds lasts N/speed
  real seconds (speed 600 with ``--latency fast``), so no ``--time-scale`` is ever needed; the
  steps' own work takes the real time it takes. An
  endpoint that has no such clock (a 404, a refused connection: not our emulator) keeps real time.
* no endpoint: the real ECS API, credentials from the SDKs' chain (cloud_config.py), resolved
  before anything is recorded so that none is one clear error.

Only ``image_repair.emulator.clock_http`` and ``emulator.seed``'s constants are imported from the
emulator, and only with ``--endpoint``: never on the Function Compute path.
"""
import time
from typing import Callable, NamedTuple, Optional, Tuple

from .local_session import progress

DEFAULT_REGION = "cn-hangzhou"      # the real API's region when the settings name none
CLOCK_TIMEOUT_S = 3.0               # asking the clock: a loopback answer takes milliseconds


class EndpointClock:
    """The flow's (and the store's and steps') clock against ``--endpoint``: the emulator's own
    time and pace, asked on first use (so a command refused before any work asks nothing).

    From the emulator's answer (now, speed): ``sleep(N)``, a modelled wait, lasts N/speed real
    seconds and moves ``now()`` by N; the rest of the time (the steps' own work) moves ``now()``
    at the wall clock's rate, because it is real: the flow's function timeouts judge it as Function
    Compute would. Speed 0 (an emulator that only its tests move, or ``--latency immediate``):
    waits take no real time. No answer (not an emulator): real time."""

    def __init__(self, endpoint: str, ask: Optional[Callable[[str], Optional[Tuple[float, float]]]] = None,
                 monotonic: Callable[[], float] = time.monotonic, real_sleep: Callable[[float], None] = time.sleep,
                 wall: Callable[[], float] = time.time):
        self.endpoint = endpoint
        self._ask = ask or ask_emulator_clock
        self._monotonic, self._real_sleep, self._wall = monotonic, real_sleep, wall
        self._pace: Optional[Tuple[float, float, float]] = None      # (emulator now, speed, asked at)
        self._asked = False
        self._waited = 0.0               # modelled seconds waited
        self._slept = 0.0                # real seconds those waits took

    @property
    def speed(self) -> Optional[float]:
        """The emulator's speed (None: real time, the endpoint has no emulator clock)."""
        pace = self._learn()
        return pace[1] if pace else None

    def _learn(self) -> Optional[Tuple[float, float, float]]:
        if not self._asked:
            self._asked = True
            answer = self._ask(self.endpoint)
            if answer is not None:
                self._pace = (answer[0], answer[1], self._monotonic())
        return self._pace

    def now(self) -> float:
        pace = self._learn()
        if pace is None:
            return self._wall()
        started_at, _speed, asked_at = pace
        working = self._monotonic() - asked_at - self._slept          # real time outside the waits
        return started_at + working + self._waited

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("cannot sleep %r seconds" % seconds)
        pace = self._learn()
        if pace is None:
            self._real_sleep(seconds)
            return
        real = seconds / pace[1] if pace[1] > 0 else 0.0
        before = self._monotonic()
        if real > 0:
            self._real_sleep(real)
        self._slept += self._monotonic() - before
        self._waited += seconds

    __call__ = now          # also the store's and the steps' clock (epoch seconds)


def ask_emulator_clock(endpoint: str) -> Optional[Tuple[float, float]]:
    """(now, speed) of the emulator served at ``endpoint``, or None when it has no clock; says
    which pace the flow's waits take."""
    from ..emulator.clock_http import EmulatorClockError, emulator_clock
    try:
        now, speed = emulator_clock(endpoint, timeout=CLOCK_TIMEOUT_S)
    except EmulatorClockError:
        progress("%s has no emulator clock: flow waits take real time" % endpoint)
        return None
    if speed == 0:
        progress("the emulator at %s moves its clock only when told: flow waits take no real time" % endpoint)
    elif speed != 1:
        progress("the emulator at %s runs %g times faster than real time: so do the flow's waits" % (endpoint, speed))
    return now, speed


class CloudTarget(NamedTuple):
    ecs: object                       # control.clients.ecs.EcsPort
    defaults: dict                    # start parameters the command's requests start from
    clock: Optional[EndpointClock]    # None: real time


def emulator_defaults(backend_or_seed: dict) -> dict:
    """Network parameters from an emulator's seed (its first vSwitch, its group, a type)."""
    vswitch = backend_or_seed["vswitches"][0]
    return {"regionId": backend_or_seed.get("region", DEFAULT_REGION), "zoneId": vswitch["zone"],
            "vSwitchId": vswitch["id"], "securityGroupId": backend_or_seed["security_groups"][0]["id"],
            "instanceType": backend_or_seed["instance_types"][0]}


def cloud_target(settings, endpoint: Optional[str], region: Optional[str] = None,
                 cloud_defaults: Optional[dict] = None) -> CloudTarget:
    """The command's ECS port, start-parameter defaults and flow clock: the emulator served at
    ``endpoint`` (else the settings' IMAGE_REPAIR_ECS_ENDPOINT), else the real API (the settings'
    ALIBABA_CLOUD_REGION_ID, ``cloud_defaults`` for the rest)."""
    from ..control.cloud_config import StaticKeys, resolved_keys
    from ..control.clients.ecs import ecs_port
    endpoint = endpoint or settings.ecs_endpoint
    if endpoint:
        from ..emulator.seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, DEFAULT_SEED
        defaults = emulator_defaults(DEFAULT_SEED)
        keys = StaticKeys(DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)   # the emulator's seeded account
        return CloudTarget(ecs_port(settings, region or defaults["regionId"], endpoint, keys), defaults,
                           EndpointClock(endpoint))
    keys = resolved_keys()
    defaults = dict(cloud_defaults or {}, regionId=settings.region_id or DEFAULT_REGION)
    return CloudTarget(ecs_port(settings, region or defaults["regionId"], keys=keys), defaults, None)


def open_command_store(settings, target: Optional[CloudTarget] = None):
    """The settings' store (IMAGE_REPAIR_STORE), on the target's clock when it has one."""
    from ..control.store import open_store
    clock = target.clock if target is not None else None
    return open_store(settings.store_settings(), clock=clock)
