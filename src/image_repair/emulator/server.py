"""``image-repair emulator serve --port PORT [--seed FILE] [--latency MODEL]``: the emulator as
a threaded HTTP server on 127.0.0.1, speaking the same wire as ECS (see wire.py)."""
import argparse
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

from .backend import EcsBackend
from .clock import LatencyModel
from .seed import build_backend, load_seed_file
from .wire import Gateway, HttpRequest


def latency_model(spec: str) -> LatencyModel:
    """A named model (immediate, manual, realistic, fast) or a YAML/JSON file of figures."""
    if spec in ("immediate", "manual", "realistic", "fast"):
        return LatencyModel.named(spec)
    return LatencyModel.from_dict(load_seed_file(spec))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ecs-emulator"
    gateway: Gateway = None  # set per server class
    quiet = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = "http://%s%s" % (self.headers.get("Host", "127.0.0.1"), self.path)
        response = self.gateway.handle(HttpRequest(self.command, url, dict(self.headers.items()), body))
        if response.drop:
            # "Commit, then lose the response": the client sees the connection close.
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, fmt, *args) -> None:
        if not self.quiet:
            sys.stderr.write("emulator: " + fmt % args + "\n")


class EmulatorServer:
    """A running emulator: ``.backend``, ``.endpoint`` ("127.0.0.1:PORT"), ``.stop()``."""

    def __init__(self, backend: EcsBackend, port: int = 0, quiet: bool = True):
        self.backend = backend
        handler = type("Handler", (_Handler,), {"gateway": Gateway(backend), "quiet": quiet})
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
    parser = argparse.ArgumentParser(prog="image-repair emulator",
                                     description="Emulate the ECS OpenAPI on 127.0.0.1 (see docs/emulator.md).")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the emulator as an HTTP server")
    serve.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free port)")
    serve.add_argument("--seed", help="seed file, YAML or JSON (default: the built-in seed)")
    serve.add_argument("--latency", default="realistic",
                       help="immediate | manual | realistic | fast, or a YAML/JSON file of figures")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    try:
        seed = load_seed_file(args.seed) if args.seed else None
        backend = build_backend(seed, latency_model(args.latency))
        server = EmulatorServer(backend, args.port, quiet=not args.verbose)
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write("image-repair emulator: %s\n" % exc)
        return 2
    sys.stdout.write("ECS emulator listening on http://%s (region %s, latency %s)\n"
                     % (server.endpoint, backend.region, args.latency))
    sys.stdout.flush()
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0
