"""The Tablestore emulator on a loopback HTTP server: the in-process hook of the tests (the SDK
speaks urllib3, which no ``responses`` mock intercepts, so the tests point the real OTSClient at
this server) and ``python -m image_repair.emulator.tablestore serve``.

    with TablestoreServer(backend) as server:      # 127.0.0.1, a free port
        client = OTSClient(server.endpoint, key_id, secret, "image-repair")

HTTP/1.1 with persistent connections (urllib3 keeps them), one thread per connection; bodies are
framed by the ECS emulator's http_body.read_body (RFC 9112). A "drop" fault closes the connection
without answering; a "hold" fault answers nothing and waits until the client hangs up (its socket
timeout), then runs the stalled write if any, so a timeout never depends on guessing a delay.
"""
import select
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

from ...control.store.tablestore import make_ots_client
from ..http_body import FramingError, read_body
from ..serving import serve_command, serve_until_stopped
from .backend import TablestoreBackend
from .wire import handle

MAX_HOLD_S = 300.0      # a held request is given up after this even if the client never hangs up


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tablestore-emulator"
    disable_nagle_algorithm = True     # headers and body are two writes: no 40 ms delayed-ACK stall between them
    backend: TablestoreBackend = None      # set per server
    stopping: threading.Event = None
    quiet = True

    def _serve(self) -> None:
        try:
            body = read_body(self.headers.get("Transfer-Encoding"), self.headers.get("Content-Length"), self.rfile)
        except FramingError as error:
            self.close_connection = True
            self.send_error(error.status, error.reason)
            return
        url = "http://%s%s" % (self.headers.get("Host", "127.0.0.1"), self.path)
        response = handle(self.backend, self.command, url, dict(self.headers.items()), body)
        if response.delivery != "send":
            self.close_connection = True
            if response.delivery == "hold":
                self._wait_for_hang_up()
                if response.after is not None:
                    response.after()
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def _wait_for_hang_up(self) -> None:
        """Until the client closes its end (EOF), the server stops, or MAX_HOLD_S passes."""
        waited = 0.0
        while waited < MAX_HOLD_S and not self.stopping.is_set():
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            waited += 0.05
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        return
                except OSError:
                    return
                return      # the client sent more (a new request on a held connection): give up the hold

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, fmt, *args) -> None:
        if not self.quiet:
            sys.stderr.write("tablestore emulator: " + fmt % args + "\n")


class TablestoreServer:
    """A running endpoint: ``.backend``, ``.endpoint`` ("http://127.0.0.1:PORT"), ``.stop()``."""

    def __init__(self, backend: Optional[TablestoreBackend] = None, port: int = 0, quiet: bool = True):
        self.backend = backend or TablestoreBackend()
        self._stopping = threading.Event()
        handler = type("Handler", (_Handler,), {"backend": self.backend, "stopping": self._stopping, "quiet": quiet})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def endpoint(self) -> str:
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def client(self, instance: str = "image-repair", socket_timeout: float = 10.0):
        """A real OTSClient on this endpoint, signed with the emulator's key, built as the state
        store builds its own (store.tablestore.make_ots_client: the SDK does not retry)."""
        key_id, secret = next(iter(self.backend.accounts.items()))
        return make_ots_client(self.endpoint, key_id, secret, instance, socket_timeout=socket_timeout)

    def start(self) -> "TablestoreServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="tablestore-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "TablestoreServer":
        return self.start() if self._thread is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv=None) -> int:
    parser, serve = serve_command("python -m image_repair.emulator.tablestore",
                                  "Emulate a Tablestore endpoint on 127.0.0.1 (see docs/store.md).",
                                  "run the endpoint as an HTTP server")
    serve.add_argument("--instance", action="append", default=[], metavar="NAME",
                       help="an instance it serves (repeatable; default: image-repair)")
    args = parser.parse_args(argv)
    instances = args.instance or ["image-repair"]
    bad = [name for name in instances if not (3 <= len(name) <= 16 and name[0].isalpha()
                                              and all(c.isascii() and (c.isalnum() or c == "-") for c in name))]
    if bad:
        sys.stderr.write("tablestore emulator: --instance %s: 3 to 16 letters, digits or hyphens, "
                         "starting with a letter\n" % bad[0])
        return 2
    try:
        server = TablestoreServer(TablestoreBackend(instances), args.port, quiet=not args.verbose)
    except OSError as error:
        sys.stderr.write("tablestore emulator: %s\n" % error)
        return 2
    key_id = next(iter(server.backend.accounts))
    sys.stdout.write("Tablestore emulator listening on %s (instances %s; AccessKey ID %s)\n"
                     % (server.endpoint, ", ".join(instances), key_id))
    sys.stdout.flush()

    def close() -> None:
        server._stopping.set()
        server.httpd.server_close()
    return serve_until_stopped(server.httpd.serve_forever, close)
