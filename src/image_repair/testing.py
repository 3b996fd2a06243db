"""Testing helpers for users' own automation, the way AWS users use moto.

    from image_repair.testing import mock_ecs

    with mock_ecs() as ecs:                  # ecs: the emulator's EcsBackend
        client = Client(Config(access_key_id=ecs.access_key_id, ...))
        ...                                  # real alibabacloud_ecs20140526 calls
        assert ecs.call_counts()["RunInstances"] == 1

    @mock_ecs(latency="fast")
    def test_something(ecs_backend): ...     # the backend is passed if the test asks for it

Requests to the public endpoints of the registered services (emulator/registry.py; ECS:
``https://ecs[-.]<region>.aliyuncs.com``) are intercepted through ``responses`` and routed as the
served emulator routes them; an action the emulator does not implement answers
InvalidAction.NotFound, and any other HTTP request fails with ConnectionError unless its URL
prefix is in ``allow``. A service whose SDK ``responses`` cannot see (Tablestore: urllib3) is
served on a loopback port instead, on the same backends:

    mock = mock_ecs(tablestore=True)
    with mock as ecs:       # mock.tablestore: its TablestoreBackend, on the ECS backend's clock
        env = tablestore_store_env(mock.tablestore_endpoint)   # IMAGE_REPAIR_STORE and friends
"""
import functools
import inspect
from typing import Any, Dict, Iterable, Mapping, Optional, Union

import requests
import responses
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.models import Config

from .emulator.backend import EcsBackend
from .emulator.clock import LatencyModel
from .emulator.http_messages import HttpRequest
from .emulator.registry import ROUTED_METHODS, Registry, Router
from .emulator.seed import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, build_backend
from .emulator.server import EmulatorServer
from .emulator.tablestore.backend import TablestoreBackend

TABLESTORE_INSTANCE = "image-repair"
TABLESTORE_TABLE = "image_repair_state"


class mock_services:  # noqa: N801 - a context manager named like moto's decorators
    """Intercept, in-process, the public endpoints of every registered service whose backend is
    given (``{"ecs": backend, "tablestore": backend, ...}``): the building block of ``mock_ecs``
    and of any emulated service added to the registry later. The services registered
    ``in_process="loopback"`` are served on one 127.0.0.1 port instead: ``endpoint(name)``."""

    def __init__(self, backends: Mapping[str, Any], registry: Optional[Registry] = None, allow: Iterable[str] = ()):
        self.backends = dict(backends)
        self.registry = registry
        self.router = Router(backends, registry)
        self.allow = tuple(allow)
        self._mock = None
        self.served = None      # the loopback EmulatorServer, when a mounted service needs one

    def endpoint(self, service: str) -> str:
        """``http://127.0.0.1:PORT``: where a loopback service is served while this is active."""
        if self.served is None or service not in [s.name for s, _ in self.served.router.mounted]:
            raise ValueError("%r is not served on a loopback port here (mounted: %s)"
                             % (service, ", ".join(s.name for s, _ in self.router.mounted) or "nothing"))
        return "http://%s" % self.served.endpoint

    def __enter__(self) -> Router:
        def callback(request):
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode("utf-8")
            response = self.router.handle(HttpRequest(request.method, request.url, dict(request.headers), body))
            if response.drop:
                raise requests.exceptions.ReadTimeout("emulator: response lost after commit (injected)")
            return response.status, response.headers, response.body

        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for _, pattern in self.router.intercepted():
            for method in ROUTED_METHODS:  # the router answers a method the service lacks (loud 404)
                self._mock.add_callback(method, pattern, callback=callback)
        for prefix in self.allow:
            self._mock.add_passthru(prefix)
        loopback = [service for service, _ in self.router.mounted if service.in_process == "loopback"]
        if loopback:
            self.served = EmulatorServer(None, backends={s.backend: self.backends[s.backend] for s in loopback},
                                         registry=Registry(loopback)).start()
        self._mock.start()
        return self.router

    def __exit__(self, *exc) -> None:
        if self.served is not None:
            self.served.stop()
            self.served = None
        self._mock.stop()
        self._mock.reset()


class mock_ecs:  # noqa: N801 - named like moto's decorators
    """ECS in-process; with ``tablestore=True`` also a Tablestore (instance ``image-repair``) on the
    ECS backend's clock, served on a loopback port: ``.tablestore`` (its backend) and
    ``.tablestore_endpoint`` while the block runs."""

    def __init__(self, seed: Optional[dict] = None, latency: Union[str, LatencyModel] = "immediate",
                 allow: Iterable[str] = (), registry: Optional[Registry] = None, tablestore: bool = False):
        self.seed = seed
        self.latency = LatencyModel.named(latency) if isinstance(latency, str) else latency
        self.allow = tuple(allow)
        self.registry = registry
        self.with_tablestore = tablestore
        self.backend: Optional[EcsBackend] = None
        self.tablestore = None
        self._services: Optional[mock_services] = None

    def __enter__(self) -> EcsBackend:
        self.backend = build_backend(self.seed, self.latency)
        backends: Dict[str, Any] = {"ecs": self.backend}
        if self.with_tablestore:
            self.tablestore = backends["tablestore"] = TablestoreBackend([TABLESTORE_INSTANCE],
                                                                         clock=self.backend.clock.now)
        self._services = mock_services(backends, self.registry, self.allow)
        self._services.__enter__()
        return self.backend

    @property
    def tablestore_endpoint(self) -> str:
        return self._services.endpoint("tablestore")

    def __exit__(self, *exc) -> None:
        self._services.__exit__(*exc)

    def __call__(self, func):
        wants_backend = "ecs_backend" in inspect.signature(func).parameters

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mock_ecs(self.seed, self.latency, self.allow, self.registry, self.with_tablestore) as backend:
                if wants_backend:
                    kwargs["ecs_backend"] = backend
                return func(*args, **kwargs)
        if wants_backend:  # hide the injected parameter from pytest's fixture lookup
            params = [p for name, p in inspect.signature(func).parameters.items() if name != "ecs_backend"]
            wrapper.__signature__ = inspect.signature(func).replace(parameters=params)
        return wrapper


def ecs_client(backend: EcsBackend, endpoint: Optional[str] = None, rpc: bool = False):
    """A real ``alibabacloud_ecs20140526`` client signed with the backend's first account key.

    ``endpoint``: "127.0.0.1:PORT" for a server (plain HTTP), else the region's public endpoint
    (intercepted by ``mock_ecs``). ``rpc=True`` makes the SDK sign the classic RPC way
    (HMAC-SHA1 signature v1 in the query) instead of V3."""
    config = Config(access_key_id=backend.access_key_id, access_key_secret=backend.access_key_secret,
                    region_id=backend.region,
                    endpoint=endpoint or "ecs.%s.aliyuncs.com" % backend.region,
                    protocol="HTTP" if endpoint else "HTTPS", read_timeout=10000, connect_timeout=5000)
    if rpc:
        config.signature_algorithm = "v2"
    return Client(config)


def tablestore_store_env(endpoint: str, instance: str = TABLESTORE_INSTANCE,
                         table: str = TABLESTORE_TABLE) -> Dict[str, str]:
    """The environment that points the state store (``IMAGE_REPAIR_STORE``, docs/store.md) at an
    emulated Tablestore served at ``endpoint`` (``http://127.0.0.1:PORT``), with the emulator's key."""
    return {"IMAGE_REPAIR_STORE": "tablestore://%s/%s" % (instance, table), "TABLESTORE_ENDPOINT": endpoint,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": DEFAULT_ACCESS_KEY_ID,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": DEFAULT_ACCESS_KEY_SECRET}
