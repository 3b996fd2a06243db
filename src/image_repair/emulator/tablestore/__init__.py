"""A Tablestore endpoint for tests and local runs: the operations the state store's adapter uses
(CreateTable, DescribeTable, ListTable, DeleteTable, GetRow, PutRow, UpdateRow, DeleteRow,
GetRange), spoken on the service's own wire (protobuf messages, PlainBuffer rows, signed x-ots-*
headers) so the real ``tablestore`` SDK is the client. docs/store.md describes it.

    backend.py      instances, tables, versioned rows, conditional writes, ranges (typed methods)
    conditions.py   row existence expectations and column conditions
    plainbuffer.py  the row format, written from its published definition
    protocol.py     protobuf messages <-> backend calls, one function per operation
    signing.py      request authentication, response signatures
    wire.py         handle(): one HTTP request in, one response out; TablestoreGateway, the
                    registry's gateway (emulator/registry.py, service "tablestore")
    faults.py       throttling, 5xx, lost responses, timeouts, late writes
    server.py       TablestoreServer: the emulator's server with Tablestore alone, on a loopback port

``image-repair emulator serve`` serves it beside ECS on one endpoint (``--tablestore-instance``).
"""
import importlib

from .backend import TablestoreBackend

__all__ = ["TablestoreBackend", "TablestoreServer"]


def __getattr__(name: str):
    """``TablestoreServer`` loads on first use: server.py builds on the emulator's server, which
    imports this package's backend (an import at the top here would be a cycle)."""
    if name != "TablestoreServer":
        raise AttributeError("module %r has no attribute %r" % (__name__, name))
    return importlib.import_module(".server", __name__).TablestoreServer
