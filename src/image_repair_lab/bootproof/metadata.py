"""An Alibaba Cloud ECS metadata service emulator on the host loopback, for booted test guests.

cloud-init's AliYun datasource reads ``http://100.100.100.200/<version>/meta-data/...`` (versions
``latest`` and ``2016-01-01``, EC2-style directory listings where a trailing ``/`` marks a
directory), ``/<version>/user-data`` and ``/<version>/vendor-data``, and newer releases first ask
``PUT /latest/api/token`` for a session token. qemu user networking maps 100.100.100.200:80 into
the guest with ``guestfwd`` (see :mod:`.relay`); nothing leaves the machine. Every request is
logged in :attr:`MetadataServer.requests` so a test can show that the guest really asked.
"""
import http.server
import threading

DEFAULT_INSTANCE_ID = "i-bootproof0000000001"
TOKEN = "bootproof-metadata-token"
USER_DATA = "#cloud-config\n{}\n"


def metadata_tree(hostname: str, instance_id: str = DEFAULT_INSTANCE_ID, mac: str = "52:54:00:12:34:56") -> dict:
    """What ECS serves under meta-data/ (the keys cloud-init reads; values as ECS formats them)."""
    return {
        "instance-id": instance_id,
        "hostname": hostname,
        "image-id": "m-bootproof",
        "region-id": "cn-hangzhou",
        "zone-id": "cn-hangzhou-h",
        "serial-number": "bootproof-serial",
        "instance": {"instance-type": "ecs.g7.large", "instance-name": hostname},
        "mac": mac,
        "network-type": "vpc",
        "private-ipv4": "10.0.2.15",
        "vpc-id": "vpc-bootproof",
        "vswitch-id": "vsw-bootproof",
        "public-keys": {},
        "ntp-conf": {"ntp-servers": "ntp.cloud.aliyuncs.com"},
        "source-address": "http://mirrors.cloud.aliyuncs.com",
    }


def lookup(tree: dict, parts: list):
    """The value at ``parts`` (a str leaf or a dict directory), or None."""
    node = tree
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def listing(directory: dict) -> str:
    """EC2-style listing: one key a line, directories with a trailing slash."""
    return "\n".join(key + "/" if isinstance(value, dict) else key for key, value in sorted(directory.items()))


class MetadataServer:
    """``with MetadataServer(hostname="guest-a") as server: server.port`` (an ephemeral port)."""

    def __init__(self, hostname: str, user_data: str = USER_DATA, vendor_data: str = "", host: str = "127.0.0.1"):
        self.tree = metadata_tree(hostname)
        self.user_data = user_data
        self.vendor_data = vendor_data
        self.requests = []  # [(method, path, status)]
        self._httpd = http.server.ThreadingHTTPServer((host, 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def hostname(self) -> str:
        return self.tree["hostname"]

    def __enter__(self):
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="metadata-emulator", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        return False

    def respond(self, method: str, path: str) -> tuple:
        """(status, body) for a request; pure, so it is unit-tested without sockets."""
        path = path.split("?", 1)[0]
        if method == "PUT":
            return (200, TOKEN) if path.rstrip("/") == "/latest/api/token" else (404, "not found")
        parts = [p for p in path.split("/") if p]
        if len(parts) < 2 or method not in ("GET", "HEAD"):
            return (404, "not found") if parts else (200, "latest\n2016-01-01")
        section, rest = parts[1], parts[2:]
        if section == "user-data" and not rest:
            return 200, self.user_data
        if section == "vendor-data" and not rest:
            return 200, self.vendor_data
        if section == "meta-data":
            node = lookup(self.tree, rest)
            if isinstance(node, dict):
                return 200, listing(node)
            if node is not None:
                return 200, node
        return 404, "not found"


def _handler_for(server: MetadataServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _reply(self):
            status, body = server.respond(self.command, self.path)
            server.requests.append((self.command, self.path, status))
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_HEAD = _reply

        def log_message(self, *args):  # the request list is the log
            pass

    return Handler
