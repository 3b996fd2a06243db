"""The served emulator as any HTTP/1.1 client meets it (RFC 9112): bodies sent with
``Transfer-Encoding: chunked`` (as Node's SDKs send forms) or Content-Length, several requests on
one kept-alive connection, pipelined requests, and the framing errors that close a connection;
plus the classic Python SDK (aliyun-python-sdk-core + aliyun-python-sdk-ecs) over real sockets,
with its own exceptions for the gateway's signature errors.

Requests are written on raw sockets, so nothing between the test and the server fixes them up.
Their RPC signatures come from aliyun-python-sdk-core's signer, not from the emulator."""
import socket
import threading
from urllib.parse import urlencode

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.auth.composer import rpc_signature_composer
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from aliyunsdkecs.request.v20140526.DescribeImagesRequest import DescribeImagesRequest

from image_repair.emulator import build_backend
from image_repair.emulator.server import EmulatorServer

R = "cn-hangzhou"
IMAGE = "m-bp1emulatorbrokenimg01"


@pytest.fixture
def server():
    with EmulatorServer(build_backend()) as running:
        yield running


def signed_form(backend, form):
    """(request target, form body) of a POST DescribeImages signed by the classic SDK's signer:
    common parameters and signature in the query, business parameters in the form body."""
    target, _ = rpc_signature_composer.get_signed_url(
        {"Action": "DescribeImages", "Version": "2014-05-26"}, backend.access_key_id, backend.access_key_secret,
        "JSON", "POST", dict(form))
    return target, urlencode(form).encode()


def chunked(body, sizes=(7, 1, 50)):
    """``body`` in chunks of the given sizes (then the rest), with a chunk extension on one of
    them and a trailer field, as RFC 9112 7.1 allows."""
    out, rest = [], body
    for size in sizes:
        piece, rest = rest[:size], rest[size:]
        if piece:
            out.append(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
    if rest:
        out.append(b"%X\r\n%s\r\n" % (len(rest), rest))
    return b"".join(out) + b"0\r\nX-Trailer: ignored\r\n\r\n"


def request_bytes(target, host, body=None, framing="length", extra=b""):
    head = b"POST %s HTTP/1.1\r\nHost: %s\r\n" % (target.encode(), host.encode())
    if body is not None:
        head += b"Content-Type: application/x-www-form-urlencoded\r\n"
        if framing == "chunked":
            head += b"Transfer-Encoding: chunked\r\n"
            body = chunked(body)
        else:
            head += b"Content-Length: %d\r\n" % len(body)
    return head + extra + b"\r\n" + (body or b"")


def read_response(stream):
    """(status, headers with lower-case names, body) of one response, read off a shared stream
    so that the next response on the connection stays in it."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while True:
        line = stream.readline().rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers.get("content-length", "0")))
    return int(status_line.split()[1]), headers, body


def connect(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    return sock, sock.makefile("rb")


def test_chunked_form_then_more_requests_on_the_same_connection(server):
    form = {"RegionId": R, "ImageId": IMAGE}
    sock, stream = connect(server)
    with sock, stream:
        for framing in ("chunked", "length", "chunked"):
            target, body = signed_form(server.backend, form)
            sock.sendall(request_bytes(target, server.endpoint, body, framing))
            status, headers, payload = read_response(stream)
            assert status == 200, payload
            assert IMAGE.encode() in payload and headers.get("connection") != "close"
        # A request without a body (GET, parameters in the query) on the same connection.
        target, _ = rpc_signature_composer.get_signed_url(
            {"Action": "DescribeImages", "Version": "2014-05-26", "RegionId": R, "ImageId": IMAGE},
            server.backend.access_key_id, server.backend.access_key_secret, "JSON", "GET", {})
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target.encode(), server.endpoint.encode()))
        status, _, payload = read_response(stream)
        assert status == 200 and IMAGE.encode() in payload
    described = [c for c in server.backend.calls if c.action == "DescribeImages"]
    assert [c.params.get("ImageId") for c in described] == [IMAGE] * 4


def test_pipelined_requests_are_answered_in_order(server):
    requests = []
    for image in (IMAGE, "aliyun_3_x64_20G_alibase_20250629.vhd", IMAGE):
        target, body = signed_form(server.backend, {"RegionId": R, "ImageId": image})
        requests.append((image, request_bytes(target, server.endpoint, body, "chunked" if image == IMAGE else "length")))
    sock, stream = connect(server)
    with sock, stream:
        sock.sendall(b"".join(raw for _, raw in requests))  # all at once, before any answer
        for image, _ in requests:
            status, _, payload = read_response(stream)
            assert status == 200 and ('"ImageId": "%s"' % image).encode() in payload


def test_connection_close_is_honoured(server):
    target, body = signed_form(server.backend, {"RegionId": R, "ImageId": IMAGE})
    sock, stream = connect(server)
    with sock, stream:
        sock.sendall(request_bytes(target, server.endpoint, body, extra=b"Connection: close\r\n"))
        status, headers, _ = read_response(stream)
        assert status == 200 and headers["connection"] == "close"
        assert stream.read() == b""  # the server closed its side


@pytest.mark.parametrize("head, body, status", [
    (b"Transfer-Encoding: chunked\r\n", b"zz\r\nabc\r\n0\r\n\r\n", 400),             # chunk size not hex
    (b"Transfer-Encoding: chunked\r\n", b"0x3\r\nabc\r\n0\r\n\r\n", 400),            # "0x" is not HEXDIG
    (b"Transfer-Encoding: chunked\r\n", b"3\r\nabcXY0\r\n\r\n", 400),                # no CRLF after the data
    (b"Transfer-Encoding: gzip\r\n", b"abc", 400),                                   # chunked not final
    (b"Transfer-Encoding: gzip, chunked\r\n", b"3\r\nabc\r\n0\r\n\r\n", 400),        # coding not supported
    (b"Content-Length: 3, 4\r\n", b"abcd", 400),                                     # two lengths
    (b"Content-Length: -1\r\n", b"", 400),
    (b"Content-Length: 99999999999\r\n", b"", 413),                                  # over the limit
], ids=["bad-size", "0x-size", "no-crlf", "gzip-only", "gzip-chunked", "two-lengths", "negative", "too-big"])
def test_unframeable_bodies_are_refused_and_the_connection_closed(server, head, body, status):
    sock, stream = connect(server)
    with sock, stream:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: %s\r\n%s\r\n%s" % (server.endpoint.encode(), head, body))
        got, headers, _ = read_response(stream)
        assert (got, headers["connection"]) == (status, "close")
        assert stream.read() == b""
    assert not server.backend.calls  # nothing reached the API


def test_chunked_with_content_length_is_read_as_chunked_then_closed(server):
    """RFC 9112 6.3: Transfer-Encoding overrides Content-Length; the server closes afterwards."""
    target, body = signed_form(server.backend, {"RegionId": R, "ImageId": IMAGE})
    sock, stream = connect(server)
    with sock, stream:
        sock.sendall(request_bytes(target, server.endpoint, body, "chunked", extra=b"Content-Length: 5\r\n"))
        status, headers, payload = read_response(stream)
        assert status == 200 and IMAGE.encode() in payload and headers["connection"] == "close"
        assert stream.read() == b""


# --- the classic Python SDK over HTTP -------------------------------------------------------
def classic_client(backend, secret=None):
    return AcsClient(backend.access_key_id, secret or backend.access_key_secret, R, auto_retry=False)


def describe_image(endpoint, method="POST"):
    request = DescribeImagesRequest()
    request.set_endpoint(endpoint)
    request.set_protocol_type("http")
    request.set_method(method)
    request.set_ImageId(IMAGE)
    request.set_PageSize(1)
    return request


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_classic_sdk_calls_the_served_emulator(server, method):
    body = classic_client(server.backend).do_action_with_exception(describe_image(server.endpoint, method))
    assert IMAGE.encode() in body
    assert server.backend.calls[-1].style == "RPC"


def test_classic_sdk_form_body(server):
    request = CommonRequest(domain=server.endpoint, version="2014-05-26", action_name="DescribeImages")
    request.set_protocol_type("http")
    request.set_method("POST")
    request.add_body_params("RegionId", R)
    request.add_body_params("ImageId", IMAGE)
    assert IMAGE.encode() in classic_client(server.backend).do_action_with_exception(request)


def test_classic_sdk_wrong_secret_raises_its_own_exception(server):
    """The SDK reads the gateway's string to sign from the message, finds its own, and says the
    secret is wrong (aliyunsdkcore/client.py _get_server_exception), not IndexError."""
    request = describe_image(server.endpoint)
    with pytest.raises(ServerException) as err:
        classic_client(server.backend, secret="wrong").do_action_with_exception(request)
    assert (err.value.get_error_code(), err.value.get_http_status()) == ("InvalidAccessKeySecret", 400)
    assert err.value.get_request_id()


class RewritingProxy:
    """A one-connection TCP relay that changes bytes of the request on the way to the server,
    like a proxy that alters a signed request."""

    def __init__(self, target_port, old, new):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port, self.old, self.new = target_port, old, new
        self.thread = threading.Thread(target=self._relay, daemon=True)
        self.thread.start()

    def _relay(self):
        client, _ = self.listener.accept()
        with client, socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
            stream = client.makefile("rb")
            head = b""
            while not head.endswith(b"\r\n\r\n"):
                head += stream.readline()
            length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
            body = stream.read(length[0]) if length else b""
            upstream.sendall(head.replace(self.old, self.new) + body)
            upstream.shutdown(socket.SHUT_WR)
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                client.sendall(data)

    def close(self):
        self.listener.close()
        self.thread.join(10)


def test_classic_sdk_request_changed_in_transit_is_signature_does_not_match(server):
    proxy = RewritingProxy(server.port, b"PageSize=1", b"PageSize=2")
    try:
        with pytest.raises(ServerException) as err:
            classic_client(server.backend).do_action_with_exception(describe_image("127.0.0.1:%d" % proxy.port))
    finally:
        proxy.close()
    assert (err.value.get_error_code(), err.value.get_http_status()) == ("SignatureDoesNotMatch", 400)
    message = err.value.get_error_msg()
    assert message.startswith("Specified signature is not matched with our calculation. server string to sign is:")
    assert "PageSize%3D2" in message
