"""Reading an HTTP/1.1 request body off a connection, as RFC 9112 section 6 frames it.

A body is delimited by ``Transfer-Encoding: chunked`` (Node's SDKs send forms that way) or by
``Content-Length``, or is absent. Exactly the body's bytes are consumed, so the next request on a
kept-alive or pipelined connection starts where this one ends. A request whose length cannot be
known is refused with a ``FramingError``: the server answers 400 (or 413 past the size limit) and
closes the connection, as section 6.3 requires, because the rest of the stream cannot be trusted.
"""
import re
from typing import BinaryIO, Optional

# The emulator's own bounds (the gateway's are not published): ECS requests are small forms.
MAX_BODY = 8 * 1024 * 1024
MAX_LINE = 4096  # a chunk-size line or a trailer field line
MAX_TRAILER_LINES = 64
_CHUNK_SIZE = re.compile(rb"^[0-9A-Fa-f]{1,16}$")


class FramingError(Exception):
    """The request's body cannot be read: answer ``status`` and close the connection."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(transfer_encoding: Optional[str], content_length: Optional[str], stream: BinaryIO,
              limit: int = MAX_BODY) -> bytes:
    """The body of one request whose header fields are given, read from ``stream``.

    RFC 9112 6.3: Transfer-Encoding overrides Content-Length (a request carrying both is read as
    chunked; the caller closes the connection afterwards); chunked must be the final coding; a
    Content-Length that is not one non-negative decimal number is an error; neither means no body.
    """
    if transfer_encoding is not None:
        codings = [c.strip().lower() for c in transfer_encoding.split(",") if c.strip()]
        if not codings or codings[-1] != "chunked":
            raise FramingError(400, "Transfer-Encoding %r does not end in chunked" % transfer_encoding)
        if codings != ["chunked"]:
            raise FramingError(400, "transfer coding %r is not supported" % transfer_encoding)
        return read_chunked(stream, limit)
    if content_length is None:
        return b""
    values = {v.strip() for v in content_length.split(",")}  # "5, 5" is one length said twice
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise FramingError(400, "invalid Content-Length %r" % content_length)
    length = int(values.pop())
    if length > limit:
        raise FramingError(413, "body of %d bytes is over the %d-byte limit" % (length, limit))
    body = stream.read(length)
    if len(body) != length:
        raise FramingError(400, "connection closed after %d of %d body bytes" % (len(body), length))
    return body


def read_chunked(stream: BinaryIO, limit: int = MAX_BODY) -> bytes:
    """RFC 9112 7.1: chunks of ``size[;ext] CRLF data CRLF``, a last chunk of size 0, then an
    optional trailer section and a final CRLF. Extensions and trailer fields are read and ignored."""
    body = bytearray()
    while True:
        size_field = _line(stream).split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.match(size_field):  # 1*HEXDIG, nothing else (int() would take "0x1", "1_0")
            raise FramingError(400, "invalid chunk size %r" % size_field)
        size = int(size_field, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise FramingError(413, "chunked body is over the %d-byte limit" % limit)
        data = stream.read(size)
        if len(data) != size:
            raise FramingError(400, "connection closed inside a chunk")
        body += data
        if stream.read(2) != b"\r\n":
            raise FramingError(400, "chunk data not followed by CRLF")
    for _ in range(MAX_TRAILER_LINES):
        if _line(stream) == b"":
            return bytes(body)
    raise FramingError(400, "trailer section has more than %d fields" % MAX_TRAILER_LINES)


def _line(stream: BinaryIO) -> bytes:
    """One CRLF-terminated line without its terminator (a bare LF is tolerated, RFC 9112 2.2)."""
    raw = stream.readline(MAX_LINE + 1)
    if not raw.endswith(b"\n"):
        raise FramingError(400, "line too long or connection closed" if raw else "connection closed")
    return raw[:-1].rstrip(b"\r")
