"""The Tablestore emulator alone on a loopback port: the emulator's own server (emulator/server.py,
``EmulatorServer``) with only the ``tablestore`` service mounted. Tests that need no ECS use it;
``image-repair emulator serve`` serves Tablestore beside ECS on one endpoint, and in-process
``image_repair.testing.mock_services`` starts the same server (the SDK speaks urllib3, which no
``responses`` mock intercepts, so the real OTSClient is pointed at this port).

    with TablestoreServer(backend) as server:      # 127.0.0.1, a free port
        client = server.client()                   # a real OTSClient, as the state store builds it
"""
from typing import Optional

from ...control.store.tablestore import make_ots_client
from ..server import EmulatorServer
from .backend import TablestoreBackend


class TablestoreServer:
    """A running endpoint: ``.backend``, ``.endpoint`` ("http://127.0.0.1:PORT"), ``.stop()``."""

    def __init__(self, backend: Optional[TablestoreBackend] = None, port: int = 0, quiet: bool = True):
        self.backend = backend or TablestoreBackend()
        self.server = EmulatorServer(None, port, quiet, backends={"tablestore": self.backend})
        self._started = False

    @property
    def endpoint(self) -> str:
        return "http://%s" % self.server.endpoint

    def client(self, instance: str = "image-repair", socket_timeout: float = 10.0):
        """A real OTSClient on this endpoint, signed with the emulator's key, built as the state
        store builds its own (control.store.tablestore.make_ots_client: the SDK does not retry)."""
        return ots_client(self.backend, self.endpoint, instance, socket_timeout)

    def start(self) -> "TablestoreServer":
        if not self._started:
            self.server.start()
            self._started = True
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> "TablestoreServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def ots_client(backend: TablestoreBackend, endpoint: str, instance: str = "image-repair",
               socket_timeout: float = 10.0):
    """A real OTSClient for ``endpoint`` (an emulator serving ``backend``), signed with the
    backend's first key and built as the state store builds its own."""
    key_id, secret = next(iter(backend.accounts.items()))
    return make_ots_client(endpoint, key_id, secret, instance, socket_timeout=socket_timeout)
