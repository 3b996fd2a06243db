"""Testing helpers for users' own automation, the way AWS users use moto.

    from image_repair.testing import mock_ecs

    with mock_ecs() as ecs:                  # ecs: the emulator's EcsBackend
        client = Client(Config(access_key_id=ecs.access_key_id, ...))
        ...                                  # real alibabacloud_ecs20140526 calls
        assert ecs.call_counts()["RunInstances"] == 1

    @mock_ecs(latency="fast")
    def test_something(ecs_backend): ...     # the backend is passed if the test asks for it

Every ECS endpoint (``https://ecs[-.]<region>.aliyuncs.com``) is intercepted through
``responses``; an action the emulator does not implement answers InvalidAction.NotFound and any
other HTTP request fails with ConnectionError unless its URL prefix is in ``allow``.
"""
import functools
import inspect
import re
from typing import Iterable, Optional, Union

from .emulator.backend import EcsBackend
from .emulator.clock import LatencyModel
from .emulator.seed import build_backend
from .emulator.wire import Gateway, HttpRequest

ECS_URL = re.compile(r"^https?://ecs[.-][a-z0-9.-]*aliyuncs\.com(/.*)?$")


class mock_ecs:  # noqa: N801 - named like moto's decorators
    def __init__(self, seed: Optional[dict] = None, latency: Union[str, LatencyModel] = "immediate",
                 allow: Iterable[str] = ()):
        self.seed = seed
        self.latency = LatencyModel.named(latency) if isinstance(latency, str) else latency
        self.allow = tuple(allow)
        self.backend: Optional[EcsBackend] = None
        self._mock = None

    def __enter__(self) -> EcsBackend:
        import requests
        import responses

        self.backend = build_backend(self.seed, self.latency)
        gateway = Gateway(self.backend)

        def callback(request):
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode("utf-8")
            response = gateway.handle(HttpRequest(request.method, request.url, dict(request.headers), body))
            if response.drop:
                raise requests.exceptions.ReadTimeout("emulator: response lost after commit (injected)")
            return response.status, response.headers, response.body

        self._mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for method in ("GET", "POST"):
            self._mock.add_callback(method, ECS_URL, callback=callback)
        for prefix in self.allow:
            self._mock.add_passthru(prefix)
        self._mock.start()
        return self.backend

    def __exit__(self, *exc) -> None:
        self._mock.stop()
        self._mock.reset()

    def __call__(self, func):
        wants_backend = "ecs_backend" in inspect.signature(func).parameters

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mock_ecs(self.seed, self.latency, self.allow) as backend:
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
    from alibabacloud_ecs20140526.client import Client
    from alibabacloud_tea_openapi.models import Config

    config = Config(access_key_id=backend.access_key_id, access_key_secret=backend.access_key_secret,
                    region_id=backend.region,
                    endpoint=endpoint or "ecs.%s.aliyuncs.com" % backend.region,
                    protocol="HTTP" if endpoint else "HTTPS", read_timeout=10000, connect_timeout=5000)
    if rpc:
        config.signature_algorithm = "v2"
    return Client(config)
