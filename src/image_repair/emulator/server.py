"""``image-repair emulator serve --port PORT [--seed FILE] [--latency MODEL]``: the emulator as
a threaded HTTP server on 127.0.0.1, speaking the same wire as ECS (see wire.py). Requests are
routed to the registered services (registry.py): ECS on ``/``, the emulator's clock on
``/__emulator__/clock`` (clock_http.py); anything else gets a loud 404.

HTTP/1.1 as any client speaks it (RFC 9112): persistent connections (several requests, pipelined
or not, on one connection until the client says ``Connection: close``), bodies framed by
Content-Length or ``Transfer-Encoding: chunked`` (http_body.py)."""
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Mapping, Optional

from .backend import EcsBackend
from .clock import LatencyModel
from .http_body import FramingError, read_body
from .http_messages import HttpRequest
from .localcloud import LocalCloud
from .registry import Registry, Router
from .seed import build_backend, load_seed_file
from .serving import serve_command, serve_until_stopped


def latency_model(spec: str) -> LatencyModel:
    """A named model (immediate, manual, realistic, fast) or a YAML/JSON file of figures."""
    if spec in ("immediate", "manual", "realistic", "fast"):
        return LatencyModel.named(spec)
    return LatencyModel.from_dict(load_seed_file(spec))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ecs-emulator"
    router: Router = None  # set per server class
    quiet = True

    def _serve(self) -> None:
        transfer_encoding = self.headers.get("Transfer-Encoding")
        try:
            body = read_body(transfer_encoding, self.headers.get("Content-Length"), self.rfile)
        except FramingError as err:
            self._refuse(err)
            return
        if transfer_encoding is not None and self.headers.get("Content-Length") is not None:
            # RFC 9112 6.3: both present may be a smuggling attempt; answer, then close.
            self.close_connection = True
        url = "http://%s%s" % (self.headers.get("Host", "127.0.0.1"), self.path)
        response = self.router.handle(HttpRequest(self.command, url, dict(self.headers.items()), body))
        if response.drop:
            # "Commit, then lose the response": the client sees the connection close.
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(response.body)

    def _refuse(self, err: FramingError) -> None:
        """A body that cannot be framed: a plain-text 400/413, then the connection is closed."""
        body = ("%s\n" % err.reason).encode("utf-8")
        self.close_connection = True
        self.send_response(err.status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve  # registry.ROUTED_METHODS

    def log_message(self, fmt, *args) -> None:
        if not self.quiet:
            sys.stderr.write("emulator: " + fmt % args + "\n")


class EmulatorServer:
    """A running emulator: ``.backend``, ``.endpoint`` ("127.0.0.1:PORT"), ``.stop()``.

    It serves every registered service (``registry``, default: registry.default_registry())
    whose backend it has: ``backend`` is the "ecs" one; ``backends`` adds others by name."""

    def __init__(self, backend: EcsBackend, port: int = 0, quiet: bool = True,
                 registry: Optional[Registry] = None, backends: Optional[Mapping[str, Any]] = None):
        self.backend = backend
        self.router = Router(dict(backends or {}, ecs=backend), registry)
        handler = type("Handler", (_Handler,), {"router": self.router, "quiet": quiet})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def endpoint(self) -> str:
        return "127.0.0.1:%d" % self.port

    def start(self) -> "EmulatorServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="ecs-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> int:
    parser, serve = serve_command("image-repair emulator", "Emulate the ECS OpenAPI on 127.0.0.1 (see docs/emulator.md).",
                                  "run the emulator as an HTTP server")
    serve.add_argument("--seed", help="seed file, YAML or JSON (default: the built-in seed)")
    serve.add_argument("--latency", default="realistic",
                       help="immediate | manual | realistic | fast, or a YAML/JSON file of figures")
    serve.add_argument("--local-cloud", metavar="DIR",
                       help="disk-backed mode: disks and snapshots are files in DIR, commands really run (root)")
    serve.add_argument("--image", action="append", default=[], metavar="FILE[=NAME]",
                       help="with --local-cloud: register a disk image file as a custom image (repeatable)")
    args = parser.parse_args(argv)
    cloud = None
    try:
        seed = load_seed_file(args.seed) if args.seed else None
        backend = build_backend(seed, latency_model(args.latency))
        if args.image and not args.local_cloud:
            raise ValueError("--image needs --local-cloud")
        if args.local_cloud:
            cloud = LocalCloud(backend, args.local_cloud)
            for spec in args.image:
                path, _, name = spec.partition("=")
                image_id = cloud.add_image(path, name=name or None)
                sys.stdout.write("image %s from %s\n" % (image_id, path))
        server = EmulatorServer(backend, args.port, quiet=not args.verbose)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        sys.stderr.write("image-repair emulator: %s\n" % exc)
        if cloud is not None:
            cloud.close()
        return 2
    sys.stdout.write("ECS emulator listening on http://%s (region %s, latency %s)\n"
                     % (server.endpoint, backend.region, args.latency))
    sys.stdout.flush()

    def close() -> None:
        server.httpd.server_close()
        if cloud is not None:
            cloud.close()
    return serve_until_stopped(server.httpd.serve_forever, close)
