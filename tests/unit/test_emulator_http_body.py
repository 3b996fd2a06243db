"""Request-body framing (RFC 9112 sections 6 and 7.1) on a byte stream: exactly the body's bytes
are consumed, so whatever follows (the next request on the connection) is left in the stream."""
import io

import pytest

from image_repair.emulator.http_body import FramingError, read_body

NEXT = b"GET / HTTP/1.1\r\n"


@pytest.mark.parametrize("transfer_encoding, content_length, wire, body", [
    ("chunked", None, b"5\r\nhello\r\n6;name=value\r\n world\r\n0\r\n\r\n", b"hello world"),
    ("Chunked", None, b"a\r\n0123456789\r\n0\r\nExpires: never\r\nX-A: b\r\n\r\n", b"0123456789"),
    ("chunked", "3", b"3\r\nabc\r\n0\r\n\r\n", b"abc"),  # Transfer-Encoding overrides Content-Length
    ("chunked", None, b"3\nabc\r\n0\n\n", b"abc"),      # bare LF line ends are tolerated (RFC 9112 2.2)
    (None, "5", b"hello", b"hello"),
    (None, "5, 5", b"hello", b"hello"),
    (None, None, b"", b""),
    (None, "0", b"", b""),
])
def test_body_is_read_and_the_rest_of_the_stream_left(transfer_encoding, content_length, wire, body):
    stream = io.BytesIO(wire + NEXT)
    assert read_body(transfer_encoding, content_length, stream) == body
    assert stream.read() == NEXT


@pytest.mark.parametrize("transfer_encoding, content_length, wire, status", [
    ("chunked", None, b"5\r\nhel", 400),                  # connection closed inside a chunk
    ("chunked", None, b"5\r\nhello", 400),                # no CRLF after the data
    ("chunked", None, b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n", 400),
    ("chunked", None, b" \r\n", 400),
    ("chunked", None, b"5\r\nhello\r\n", 400),            # no last chunk
    ("chunked", None, b"f" * 5000 + b"\r\n", 400),        # size line too long
    ("chunked", None, b"0\r\n" + b"X: y\r\n" * 100 + b"\r\n", 400),
    ("chunked", None, b"11\r\n" + b"x" * 17 + b"\r\n0\r\n\r\n", 413),
    ("gzip", None, b"", 400),
    ("gzip, chunked", None, b"0\r\n\r\n", 400),
    (None, "-1", b"", 400),
    (None, "five", b"", 400),
    (None, "3, 4", b"abcd", 400),
    (None, "17", b"x" * 17, 413),
    (None, "5", b"abc", 400),                             # connection closed early
])
def test_unframeable_bodies_are_errors(transfer_encoding, content_length, wire, status):
    with pytest.raises(FramingError) as err:
        read_body(transfer_encoding, content_length, io.BytesIO(wire), limit=16)
    assert err.value.status == status and err.value.reason
