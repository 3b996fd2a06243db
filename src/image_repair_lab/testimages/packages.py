"""Stand-in agent packages and local HTTP servers for repairs that install packages.

The real Cloud Assistant and Security Center packages come from Alibaba Cloud, which this machine
cannot reach. Tests and the demo build tiny *stand-in* .deb packages with ``dpkg-deb --build``
that install the files the ``assist`` and ``aegis`` items look for, and serve them on 127.0.0.1,
so the items' real install path (download, ``dpkg -i`` in the guest's chroot) runs end to end.

:class:`CachingMirror` is a small caching proxy of the Debian archive on 127.0.0.1, given to the
repair as ``--mirror-url``: the guest's own apt installs real Debian packages (signatures checked
by the guest's keyring), and warm test runs do not download them again.
"""
import contextlib
import functools
import http.server
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from image_repair.agent.runner import run

from . import cache

STANDIN_NOTE = "Stand-in built by image_repair_lab.testimages for tests; not the real agent."

# name -> (version, {guest path: (mode, content)})
STANDINS = {
    "aliyun-assist": ("2.5.3.0-standin", {
        "/usr/sbin/aliyun-service": (0o755, "#!/bin/sh\n# %s\necho 'aliyun-service 2.5.3.0 (stand-in)'\n" % STANDIN_NOTE),
        "/usr/local/share/aliyun-assist/2.5.3.0/aliyun-service": (0o755, "#!/bin/sh\nexec /usr/sbin/aliyun-service \"$@\"\n"),
        "/usr/local/share/aliyun-assist/README": (0o644, STANDIN_NOTE + "\n"),
    }),
    "aliyun-aegis": ("11.0-standin", {
        "/usr/local/aegis/aegis_client/aegis_11_00/AliYunDun": (0o755, "#!/bin/sh\n# %s\nexit 0\n" % STANDIN_NOTE),
        "/usr/local/aegis/aegis_update/AliYunDunUpdate": (0o755, "#!/bin/sh\n# %s\nexit 0\n" % STANDIN_NOTE),
        "/usr/local/aegis/README": (0o644, STANDIN_NOTE + "\n"),
    }),
}


def build_standin_deb(name: str, out_dir: Path) -> Path:
    """Build the stand-in package ``name`` (aliyun-assist or aliyun-aegis) into ``out_dir``."""
    version, files = STANDINS[name]
    tree = Path(out_dir) / ("%s-tree" % name)
    shutil.rmtree(tree, ignore_errors=True)
    (tree / "DEBIAN").mkdir(parents=True)
    (tree / "DEBIAN/control").write_text(
        "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: ecs-image-repair tests <tests@localhost>\n"
        "Section: admin\nPriority: optional\nDescription: %s\n %s\n" % (name, version, name + " stand-in", STANDIN_NOTE))
    for guest_path, (mode, content) in files.items():
        path = tree / guest_path.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(mode)
    deb = Path(out_dir) / ("%s_%s_all.deb" % (name, version))
    run(["dpkg-deb", "--root-owner-group", "--build", str(tree), str(deb)])
    shutil.rmtree(tree)
    return deb


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test and demo output readable
        pass


@contextlib.contextmanager
def serve_directory(directory: Path):
    """Serve ``directory`` on http://127.0.0.1:<free port>/ ; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    with _serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url


@contextlib.contextmanager
def _serving(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# Index files (dists/...) change upstream; packages (pool/...) never do under one name.
INDEX_TTL_SECONDS = 6 * 3600


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    upstream = "http://deb.debian.org"
    store = None  # Path of the cache

    def log_message(self, format, *args):
        pass

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _serve(self, body):
        path = self.path.split("?", 1)[0]
        if ".." in path.split("/") or not path.startswith("/debian/"):
            self.send_error(404)
            return
        local = self.store / path.lstrip("/")
        fresh = local.exists() and ("/pool/" in path or time.time() - local.stat().st_mtime < INDEX_TTL_SECONDS)
        if not fresh:
            try:
                self._fetch(path, local)
            except urllib.error.HTTPError as error:
                self.send_error(error.code)
                return
            except OSError as error:
                if not local.exists():
                    self.send_error(502, str(error))
                    return
        self.send_response(200)
        self.send_header("Content-Length", str(local.stat().st_size))
        self.end_headers()
        if body:
            with open(local, "rb") as handle:
                shutil.copyfileobj(handle, self.wfile)

    def _fetch(self, path, local: Path):
        local.parent.mkdir(parents=True, exist_ok=True)
        temp = local.with_name(".%s.%d.%d" % (local.name, os.getpid(), threading.get_ident()))
        with urllib.request.urlopen(self.upstream + path, timeout=60) as response, open(temp, "wb") as handle:
            shutil.copyfileobj(response, handle)
        temp.rename(local)


@contextlib.contextmanager
def caching_mirror(upstream="http://deb.debian.org"):
    """A caching Debian mirror on 127.0.0.1; yields its URL (``http://127.0.0.1:PORT/debian``)."""
    handler = type("MirrorHandler", (_MirrorHandler,), {"upstream": upstream, "store": cache.subdir("mirror")})
    with _serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)) as url:
        yield url + "/debian"
