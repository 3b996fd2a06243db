"""The ECS OpenAPI on the wire: requests as real clients send them, responses as ECS returns them.

Two request styles, both verified against the seeded AccessKeys:
- V3 (alibabacloud_ecs20140526 and other Tea/Darabonba SDKs): action in ``x-acs-action``,
  version in ``x-acs-version``, parameters in the query (or a form body), header
  ``Authorization: ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=...,Signature=hex``.
- RPC (aliyun-python-sdk-core, @alicloud/pop-core, the aliyun CLI, Tea SDKs configured with
  ``signature_algorithm='v2'``): ``Action``, ``Version``, ``AccessKeyId``, ``SignatureMethod=HMAC-SHA1``,
  ``SignatureVersion=1.0``, ``SignatureNonce``, ``Timestamp``, ``Signature`` in the query string or
  an ``application/x-www-form-urlencoded`` body.
Responses are JSON (``Format=XML`` is not emulated). Error bodies are the gateway's:
``RequestId``, ``HostId`` (the endpoint the request was sent to), ``Code``, ``Message`` and
``Recommend`` (the OpenAPI troubleshooting link); signature failures carry the server's string to
sign, as the real gateway's do (see errors.py).
"""
import base64
import calendar
import hashlib
import hmac
import re
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Dict, List, Tuple
from urllib.parse import parse_qsl, quote, urlsplit

from .errors import ApiError, error, gateway_missing, rpc_signature_mismatch, v3_signature_mismatch
from .http_messages import HttpRequest, HttpResponse, header, json_response
from .resources import request_id

if TYPE_CHECKING:
    from .backend import EcsBackend

__all__ = ["Gateway", "HttpRequest", "HttpResponse", "error_response", "host_id", "API_VERSION"]

API_VERSION = "2014-05-26"
PRODUCT = "Ecs"
RECOMMEND = "https://api.aliyun.com/troubleshoot?q=%s&product=%s&requestId=%s"
MAX_CLOCK_SKEW = 15 * 60
RPC_COMMON = {"Action", "Version", "Format", "AccessKeyId", "Signature", "SignatureMethod",
              "SignatureVersion", "SignatureNonce", "Timestamp", "SecurityToken", "SignatureType",
              "BearerToken"}
V3_REQUIRED_SIGNED = {"host", "x-acs-action", "x-acs-version", "x-acs-date",
                      "x-acs-signature-nonce", "x-acs-content-sha256"}
_AUTH = re.compile(r"^(\S+) Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-fA-F]+)$")
# yyyy-MM-ddTHH:mm:ssZ; Node's @alicloud/pop-core adds milliseconds (2024-09-04T12:33:10.973Z).
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z$")


def _json_response(status: int, payload: dict) -> HttpResponse:
    return json_response(status, payload, {"x-acs-request-id": payload.get("RequestId", "")})


def error_response(err: ApiError, host_id: str) -> HttpResponse:
    """The gateway's error body, fields in the order its documentation shows them."""
    rid = request_id()
    return _json_response(err.status, {"RequestId": rid, "HostId": host_id, "Code": err.code,
                                       "Message": err.message, "Recommend": RECOMMEND % (err.code, PRODUCT, rid)})


def host_id(request: "HttpRequest") -> str:
    """HostId: the endpoint the client called (ecs-cn-hangzhou.aliyuncs.com...), without a port."""
    host = header(request.headers, "host") or urlsplit(request.url).netloc
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Gateway:
    """The ECS service's gateway (registry.ECS): parses and authenticates HTTP requests, then
    hands each action to one EcsBackend."""

    def __init__(self, backend: "EcsBackend"):
        self.backend = backend
        self._nonces: Dict[str, float] = {}  # nonce -> when seen; forgotten once too old to replay
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        host = host_id(request)
        try:
            action, params, access_key_id, style = self.authenticate(request)
        except ApiError as err:
            self._log_rejected(request, err)
            return error_response(err, host)
        try:
            result = self.backend.handle(action, params, access_key_id, style)
        except ApiError as err:
            return error_response(err, host)
        except Exception as exc:  # a bug in the emulator: say so loudly, in the reply and on stderr
            traceback.print_exc(file=sys.stderr)
            return error_response(ApiError("InternalError", "emulator bug: %s: %s" % (type(exc).__name__, exc), 500),
                                  host)
        if result.lost == "timeout":
            return HttpResponse(0, b"", drop=True)
        if result.lost == "error":
            return error_response(error("InternalError"), host)
        return _json_response(200, result.body)

    def _log_rejected(self, request: HttpRequest, err: ApiError) -> None:
        self.backend.log_rejected(header(request.headers, "x-acs-action") or "?", err.code)

    # --- authentication -----------------------------------------------------------------------
    def authenticate(self, request: HttpRequest) -> Tuple[str, Dict[str, str], str, str]:
        """-> (action, business parameters, AccessKeyId, style), or raises ApiError."""
        parts = urlsplit(request.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        form: List[Tuple[str, str]] = []
        content_type = (header(request.headers, "content-type") or "").lower()
        if request.body and content_type.startswith("application/x-www-form-urlencoded"):
            # Undecodable bytes become U+FFFD: such a body then fails its signature check.
            form = parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        flat = dict(query + form)
        if "Signature" in flat or ("Action" in flat and not header(request.headers, "authorization")):
            return self._rpc(request.method, flat)
        if header(request.headers, "x-acs-action") or header(request.headers, "authorization"):
            return self._v3(request, parts.path or "/", query, form)
        raise gateway_missing("Action")

    def _secret(self, access_key_id: str) -> str:
        account = self.backend.accounts.get(access_key_id)
        if account is None:
            raise error("InvalidAccessKeyId.NotFound")
        return account.access_key_secret

    def _fresh(self, nonce: str, timestamp: float) -> None:
        if abs(time.time() - timestamp) > MAX_CLOCK_SKEW:
            raise error("InvalidTimeStamp.Expired")
        with self._lock:
            if nonce in self._nonces:
                raise error("SignatureNonceUsed")
            now = time.time()
            if len(self._nonces) > 10000:  # a replay older than the skew window fails on its timestamp
                self._nonces = {n: t for n, t in self._nonces.items() if now - t <= 2 * MAX_CLOCK_SKEW}
            self._nonces[nonce] = now

    def _v3(self, request: HttpRequest, path: str, query, form) -> Tuple[str, Dict[str, str], str, str]:
        # A missing or malformed Authorization, another algorithm or too few signed headers: the
        # documented IncompleteSignature text, with no detail (the gateway gives none).
        auth = header(request.headers, "authorization") or ""
        match = _AUTH.match(auth.strip())
        if not match or match.group(1) != "ACS3-HMAC-SHA256":
            raise error("IncompleteSignature")
        algorithm, access_key_id, signed, signature = match.groups()
        signed_names = signed.split(";")
        if not V3_REQUIRED_SIGNED <= set(signed_names):
            raise error("IncompleteSignature")
        secret = self._secret(access_key_id)
        # The payload hash is the body's own: a body changed after signing, or a wrong
        # x-acs-content-sha256, gives a canonical request other than the client's.
        payload_hash = hashlib.sha256(request.body or b"").hexdigest()
        canonical_query = "&".join("%s=%s" % (quote(k, safe="~"), quote(v, safe="~")) for k, v in sorted(query))
        canonical_headers = "".join("%s:%s\n" % (name, (header(request.headers, name) or "").strip())
                                    for name in signed_names)
        canonical = "\n".join([request.method.upper(), path, canonical_query, canonical_headers,
                               signed, payload_hash])
        to_sign = "%s\n%s" % (algorithm, hashlib.sha256(canonical.encode("utf-8")).hexdigest())
        expected = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise v3_signature_mismatch(to_sign, canonical)
        self._fresh(header(request.headers, "x-acs-signature-nonce") or "",
                    _parse_time(header(request.headers, "x-acs-date") or ""))
        if header(request.headers, "x-acs-version") != API_VERSION:
            raise error("InvalidVersion")
        return header(request.headers, "x-acs-action") or "", dict(query + form), access_key_id, "V3"

    def _rpc(self, method: str, flat: Dict[str, str]) -> Tuple[str, Dict[str, str], str, str]:
        for name in ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp"):
            if not flat.get(name):
                raise gateway_missing(name)
        # SignatureMethod may be left out ("默认可以不填写该值", the gateway's error table); its
        # default, and SignatureVersion's, are the only ones the gateway verifies here.
        if flat.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
            raise error("InvalidSignatureMethod")
        if flat.get("SignatureVersion", "1.0") != "1.0":
            raise error("InvalidSignatureVersion")
        secret = self._secret(flat["AccessKeyId"])
        signed = sorted((k, v) for k, v in flat.items() if k != "Signature")
        canonical = "&".join("%s=%s" % (quote(k, safe="~"), quote(v, safe="~")) for k, v in signed)
        to_sign = "%s&%%2F&%s" % (method.upper(), quote(canonical, safe="~"))
        digest = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode("ascii"), flat["Signature"]):
            raise rpc_signature_mismatch(to_sign)
        self._fresh(flat["SignatureNonce"], _parse_time(flat["Timestamp"]))
        if not flat.get("Action"):
            raise gateway_missing("Action")
        if flat.get("Version") != API_VERSION:
            raise error("InvalidVersion")
        params = {k: v for k, v in flat.items() if k not in RPC_COMMON}
        return flat["Action"], params, flat["AccessKeyId"], "RPC"


def _parse_time(value: str) -> float:
    """Timestamp / x-acs-date: ISO 8601 UTC, seconds or fractions of a second."""
    match = _TIMESTAMP.match(value)
    try:
        if not match:
            raise ValueError(value)
        return calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        raise error("InvalidTimeStamp.Format")
