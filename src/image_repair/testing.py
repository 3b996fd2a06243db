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
prefix is in ``allow``.
"""
import functools
import inspect
from typing import Any, Iterable, Mapping, Optional, Union

import requests
import responses
from alibabacloud_ecs20140526.client import Client
from alibabacloud_tea_openapi.models import Config

from .emulator.backend import EcsBackend
from .emulator.clock import LatencyModel
from .emulator.http_messages import HttpRequest
from .emulator.registry import ROUTED_METHODS, Registry, Router
from .emulator.seed import build_backend


class mock_services:  # noqa: N801 - a context manager named like moto's decorators
    """Intercept, in-process, the public endpoints of every registered service whose backend is
    given (``{"ecs": backend, ...}``): the building block of ``mock_ecs`` and of any emulated
    service added to the registry later."""

    def __init__(self, backends: Mapping[str, Any], registry: Optional[Registry] = None, allow: Iterable[str] = ()):
        self.router = Router(backends, registry)
        self.allow = tuple(allow)
        self._mock = None

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
        self._mock.start()
        return self.router

    def __exit__(self, *exc) -> None:
        self._mock.stop()
        self._mock.reset()


class mock_ecs:  # noqa: N801 - named like moto's decorators
    def __init__(self, seed: Optional[dict] = None, latency: Union[str, LatencyModel] = "immediate",
                 allow: Iterable[str] = (), registry: Optional[Registry] = None):
        self.seed = seed
        self.latency = LatencyModel.named(latency) if isinstance(latency, str) else latency
        self.allow = tuple(allow)
        self.registry = registry
        self.backend: Optional[EcsBackend] = None
        self._services: Optional[mock_services] = None

    def __enter__(self) -> EcsBackend:
        self.backend = build_backend(self.seed, self.latency)
        self._services = mock_services({"ecs": self.backend}, self.registry, self.allow)
        self._services.__enter__()
        return self.backend

    def __exit__(self, *exc) -> None:
        self._services.__exit__(*exc)

    def __call__(self, func):
        wants_backend = "ecs_backend" in inspect.signature(func).parameters

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mock_ecs(self.seed, self.latency, self.allow, self.registry) as backend:
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
