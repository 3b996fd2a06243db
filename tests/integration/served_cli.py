"""What the CLI's integration tests share: ``image-repair emulator serve`` on a free loopback port
(real sockets, the real SDK on the other side) and ``image-repair ...`` run as a user runs it."""
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Optional, Tuple

CLI_TIMEOUT_S = 240        # a hang fails the test (not a timing assertion)


def cli(*args: str, env: Optional[dict] = None, stdin: Optional[str] = None,
        timeout: float = CLI_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "image_repair", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, input=stdin, timeout=timeout)


@contextlib.contextmanager
def served_emulator(folder: Path, *options: str) -> Iterator[Tuple[str, dict]]:
    """-> (HOST:PORT, the commands' environment: a SQLite store in ``folder``, no credentials,
    no endpoint but the one given); ``options``: ``--latency fast``, ``--seed FILE``..."""
    server = subprocess.Popen([sys.executable, "-m", "image_repair", "emulator", "serve", "--port", "0", *options],
                              stdout=subprocess.PIPE, universal_newlines=True)
    try:
        line = server.stdout.readline()
        assert "listening on http://" in line, line
        env = dict(os.environ, IMAGE_REPAIR_STORE="sqlite://" + str(folder / "state.db"))
        for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "IMAGE_REPAIR_ECS_ENDPOINT"):
            env.pop(name, None)
        yield line.split("http://", 1)[1].split()[0], env
    finally:
        server.terminate()
        server.wait(10)
