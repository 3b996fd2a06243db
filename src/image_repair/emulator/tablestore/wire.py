"""The Tablestore endpoint on the wire: one request in, one response out.

    handle(backend, method, url, headers, body) -> WireResponse(status, headers, body, delivery, after)

Every transport reaches it through ``TablestoreGateway``, the ``tablestore`` service of the
emulator's registry (emulator/registry.py): the served emulator (``image-repair emulator serve``,
``EmulatorServer``) and the loopback server the tests use (server.py, ``TablestoreServer``). A request is
``POST /<Operation>`` with a protobuf body and the signed x-ots-* headers (signing.py); the answer
is a protobuf message, or an ``Error {code, message}`` with the error's HTTP status, carrying the
headers the SDK requires (x-ots-contentmd5, x-ots-requestid, x-ots-date, x-ots-contenttype) and,
once the caller is known, the response signature.

``delivery`` says what the transport does: "send" the response; "drop" close the connection
without answering (the write is applied, its answer lost); "hold" answer nothing until the client
hangs up, then run ``after`` if given (a stalled write applied late).
"""
import datetime
import uuid
from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Optional
from urllib.parse import urlsplit

from tablestore.protobuf import table_store_pb2 as pb

from ..http_messages import HttpRequest, HttpResponse
from .backend import TablestoreBackend
from .errors import OTSError
from .protocol import OPERATIONS
from .signing import DATE_FORMAT, authenticate, content_md5, lower_names, response_authorization


@dataclass
class WireResponse:
    status: int
    headers: Dict[str, str]
    body: bytes
    delivery: str = "send"                          # "send" | "drop" | "hold"
    after: Optional[Callable[[], None]] = None      # with "hold": run once the client gave up


@dataclass(frozen=True)
class Call:
    """One request the endpoint answered: its operation, the error code it answered ("" for
    success, the code even when the answer was then lost) and the fault it met, if any."""
    operation: str
    code: str = ""
    fault: Optional[str] = None


@dataclass
class Caller:
    access_key_id: str
    secret: str
    instance: str
    path: str = "/"


def handle(backend: TablestoreBackend, method: str, url: str, headers: Mapping[str, str], body: bytes,
           now: Optional[datetime.datetime] = None) -> WireResponse:
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    path = urlsplit(url).path or "/"
    if method.upper() != "POST":
        return _error(OTSError("OTSMethodNotAllowed"), now)
    try:
        access_key_id, secret, instance = authenticate(path, lower_names(headers), body, backend.accounts,
                                                       backend.instances, now)
    except OTSError as error:     # the caller is not known: the answer cannot be signed
        return _error(error, now)
    caller = Caller(access_key_id, secret, instance, path)
    operation = path.rstrip("/").rsplit("/", 1)[-1]
    run = OPERATIONS.get(operation)
    if run is None:
        return _error(OTSError("OTSParameterInvalid", "Unsupported operation: %s." % operation), now, caller)
    fault = backend.faults.take(operation)
    if fault is not None and fault.kind == "interleave":
        fault.action(backend)
        fault = None
    if fault is not None and fault.kind == "fail":
        backend.calls.append(Call(operation, fault.code, "fail"))
        return _error(OTSError(fault.code, fault.message), now, caller)
    if fault is not None and fault.kind == "stall":
        def late() -> None:
            try:
                run(backend, instance, body)
                backend.calls.append(Call(operation, "", "stall"))
            except OTSError as error:
                backend.calls.append(Call(operation, error.code, "stall"))
        return WireResponse(0, {}, b"", delivery="hold", after=late)
    try:
        response = _answer(200, run(backend, instance, body), now, caller)
        backend.calls.append(Call(operation, "", fault and fault.kind))
    except OTSError as error:
        response = _error(error, now, caller)
        backend.calls.append(Call(operation, error.code, fault and fault.kind))
    if fault is None:
        return response
    if fault.kind in ("drop", "hold"):
        return WireResponse(0, {}, b"", delivery=fault.kind)
    code = "OTSInternalServerError" if fault.kind == "error" else "OTSTimeout"
    return _error(OTSError(code), now, caller)


class TablestoreGateway:
    """The registry's gateway for Tablestore: ``handle(HttpRequest) -> HttpResponse`` over
    ``handle`` above ("drop" and "hold" become the response's ``drop`` and ``hold``)."""

    def __init__(self, backend: TablestoreBackend):
        self.backend = backend

    def handle(self, request: HttpRequest) -> HttpResponse:
        answer = handle(self.backend, request.method, request.url, request.headers, request.body)
        return HttpResponse(answer.status, answer.body, answer.headers, drop=answer.delivery == "drop",
                            hold=answer.delivery == "hold", after=answer.after)


def _answer(status: int, body: bytes, now: datetime.datetime, caller: Optional[Caller]) -> WireResponse:
    headers = {"x-ots-contentmd5": content_md5(body), "x-ots-requestid": _request_id(),
               "x-ots-date": now.strftime(DATE_FORMAT), "x-ots-contenttype": "protocol buffer"}
    if caller is not None:
        headers["Authorization"] = response_authorization(caller.access_key_id, caller.secret, caller.path, headers)
    headers["Content-Type"] = "application/x-protobuf"
    return WireResponse(status, headers, body)


def _error(error: OTSError, now: datetime.datetime, caller: Optional[Caller] = None) -> WireResponse:
    message = pb.Error()
    message.code, message.message = error.code, error.message
    return _answer(error.status, message.SerializeToString(), now, caller)


def _request_id() -> str:
    # the service's request IDs look like 0005f...-....-....; any unique string serves the SDK
    return "0005" + uuid.uuid4().hex[:28]
