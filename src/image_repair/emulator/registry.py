"""The emulated services by URL (moto's urls.py), and the router both transports use.

A ``Service`` says which requests are its own (the public endpoint hosts it answers for, its
paths and methods, optionally a finer test on the request) and how to build its gateway for a
backend. ``default_registry()`` lists them: ECS, Tablestore, and the emulator's
own clock. A ``Router`` mounts the services whose backend it is given and hands each request to
the first that claims it, in-process (``image_repair.testing.mock_services``) and in the served
emulator (server.py) alike. Adding a service (Function Compute, CloudFlow...) means writing its
backend and gateway and adding one ``Service`` here: nothing in the dispatch changes.

In-process, a service is reached one of two ways (``Service.in_process``): "responses" intercepts
its public endpoint inside ``requests`` (the ECS SDKs speak ``requests``); "loopback" serves it on
a 127.0.0.1 port of its own, because its SDK's transport is one ``responses`` cannot see (the
``tablestore`` SDK 6.4.8 sends with urllib3's PoolManager directly, tablestore/connection.py), so
the client is pointed at that port (``mock_services.endpoint(name)``).

Routing, in order:
1. The host. A cloud endpoint (``*.aliyuncs.com``) must match a service's ``hosts``, else the
   request fails loudly (404 EmulatorRouteNotFound; in-process, ``responses`` intercepts only
   registered hosts, so another host fails with ConnectionError unless allowed). Any other host
   (127.0.0.1, localhost, a container's name) is the served emulator itself: every service
   mounted there is a candidate.
2. The path and method, then ``accepts``: among the candidates whose ``paths`` and ``methods``
   match, those with an ``accepts`` test are asked first, in registration order, then those
   without one. So a service sharing a path with another (CloudFlow's and ECS's RPC APIs both
   answer ``/``) claims its requests by version or header without the other changing.
3. Nothing claims it: 404 EmulatorRouteNotFound, naming what is registered.
"""
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Mapping, Optional, Pattern, Protocol, Sequence, Tuple

from .clock_http import CLOCK_PATH, ClockGateway
from .http_messages import HttpRequest, HttpResponse, json_response
from .resources import request_id
from .wire import Gateway

CLOUD_HOST = re.compile(r"^[a-z0-9.-]+\.aliyuncs\.com$")
# The methods both transports hand to the router; a service answers those in its ``methods``
# (the router's 404 names the others).
ROUTED_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


class ServiceGateway(Protocol):
    """What a service's gateway offers: one request in, one response out."""

    def handle(self, request: HttpRequest) -> HttpResponse:
        ...


@dataclass(frozen=True)
class Service:
    name: str                                   # "ecs", "emulator", ...
    backend: str                                # the key of the backend it serves, in Router(backends)
    gateway: Callable[[Any], ServiceGateway]    # backend -> its gateway (built once per router)
    paths: str                                  # regex the whole request path must match
    methods: Tuple[str, ...] = ("GET", "POST")
    hosts: Optional[str] = None                 # regex of the public endpoint hosts it answers for, which
                                                # mock_ecs intercepts in-process (None: served only)
    accepts: Optional[Callable[[HttpRequest], bool]] = None  # a finer claim (see the module's docstring)
    in_process: str = "responses"               # "responses" | "loopback" (see the module's docstring)

    def claims(self, request: HttpRequest) -> bool:
        return (request.method.upper() in self.methods and re.fullmatch(self.paths, request.path) is not None
                and (self.accepts is None or self.accepts(request)))

    def url_pattern(self) -> Optional[Pattern]:
        """The URLs ``responses`` intercepts for this service in-process (None: not intercepted)."""
        if self.hosts is None or self.in_process != "responses":
            return None
        return re.compile(r"^https?://(?:%s)(?::\d+)?(?:[/?#].*)?$" % self.hosts)

    def describe(self) -> str:
        return "%s (%s%s %s)" % (self.name, "hosts %s, " % self.hosts if self.hosts else "served only, ",
                                 "|".join(self.methods), self.paths)


# ECS's public endpoints: ecs.<region>.aliyuncs.com, ecs-<region>.aliyuncs.com, ecs.aliyuncs.com;
# every SDK sends its RPC-style calls to "/" (parameters in the query or a form body).
ECS = Service(name="ecs", backend="ecs", gateway=Gateway, paths=r"/",
              hosts=r"ecs[.-][a-z0-9.-]*aliyuncs\.com")
# The emulator's own clock (clock_http.py): served only; in-process, a test holds the backend.
EMULATOR_CLOCK = Service(name="emulator", backend="ecs", gateway=ClockGateway, paths=re.escape(CLOCK_PATH),
                         methods=("GET",))


def _tablestore_gateway(backend) -> ServiceGateway:
    from .tablestore.wire import TablestoreGateway    # lazy: cold start, the SDK's protobuf loads only when Tablestore is mounted
    return TablestoreGateway(backend)


# Tablestore (tablestore/): every operation is POST /<Operation> (the SDK 6.4.8 posts to
# '/' + api_name, tablestore/protocol.py); the wire itself answers other methods 405
# OTSMethodNotAllowed, as the service does. Its endpoints (https://www.alibabacloud.com/help/
# doc-detail/52671.htm): https://<instance>.<region>.ots.aliyuncs.com (public), .vpc.tablestore.
# (VPC), .ots-internal. (classic network), .tablestore. (dual-stack). In-process it is served on a
# loopback port: its SDK speaks urllib3, which ``responses`` does not intercept.
TABLESTORE = Service(name="tablestore", backend="tablestore", gateway=_tablestore_gateway,
                     paths=r"/[A-Z][A-Za-z]{0,63}", methods=ROUTED_METHODS,
                     hosts=r"[a-z][a-z0-9-]{1,14}[a-z0-9]\.[a-z0-9-]+\.(?:ots|ots-internal|vpc\.tablestore|tablestore)"
                           r"\.aliyuncs\.com",
                     in_process="loopback")


class Registry:
    """The services an emulator can serve, by name, in registration order."""

    def __init__(self, services: Sequence[Service] = ()):
        self._services: List[Service] = []
        for service in services:
            self.register(service)

    def register(self, service: Service) -> None:
        if any(known.name == service.name for known in self._services):
            raise ValueError("a service named %r is already registered" % service.name)
        re.compile(service.paths)  # a bad pattern fails here, not on the first request
        if service.in_process not in ("responses", "loopback"):
            raise ValueError("in_process must be 'responses' or 'loopback', not %r" % service.in_process)
        if service.hosts is not None:
            re.compile(service.hosts)
        self._services.append(service)

    def __iter__(self) -> Iterator[Service]:
        return iter(list(self._services))

    def names(self) -> List[str]:
        return [service.name for service in self._services]


def default_registry() -> Registry:
    """Every service the emulator has: a new Registry each call (no state shared between tests)."""
    return Registry([ECS, TABLESTORE, EMULATOR_CLOCK])


class Router:
    """The registry's services mounted on live backends (``{"ecs": backend, ...}``): a service
    whose backend is not given is not mounted."""

    def __init__(self, backends: Mapping[str, Any], registry: Optional[Registry] = None):
        registry = default_registry() if registry is None else registry
        self.mounted: List[Tuple[Service, ServiceGateway]] = [
            (service, service.gateway(backends[service.backend])) for service in registry
            if service.backend in backends]

    def intercepted(self) -> List[Tuple[Service, Pattern]]:
        """(service, URL pattern) of every mounted service ``responses`` intercepts in-process."""
        return [(service, pattern) for service, _ in self.mounted
                for pattern in [service.url_pattern()] if pattern is not None]

    def route(self, request: HttpRequest) -> Optional[Tuple[Service, ServiceGateway]]:
        """The service that claims ``request`` and its gateway, or None."""
        host = request.hostname
        candidates = self.mounted
        if CLOUD_HOST.match(host):
            candidates = [(s, g) for s, g in candidates if s.hosts is not None and re.fullmatch(s.hosts, host)]
        claiming = [(s, g) for s, g in candidates if s.claims(request)]
        claiming.sort(key=lambda mounted: mounted[0].accepts is None)  # stable: registration order kept
        return claiming[0] if claiming else None

    def handle(self, request: HttpRequest) -> HttpResponse:
        routed = self.route(request)
        if routed is None:
            return self.not_found(request)
        return routed[1].handle(request)

    def not_found(self, request: HttpRequest) -> HttpResponse:
        """Loud: what was asked, and what this emulator answers."""
        served = "; ".join(service.describe() for service, _ in self.mounted) or "no service"
        message = "No emulated service answers %s %s on host %s. Registered: %s." % (
            request.method, request.path, request.hostname or "?", served)
        return json_response(404, {"RequestId": request_id(), "HostId": request.hostname,
                                   "Code": "EmulatorRouteNotFound", "Message": message})
