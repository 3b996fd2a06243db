"""The ECS OpenAPI on the wire: requests as real clients send them, responses as ECS returns them.

Two request styles, both verified against the seeded AccessKeys:
- V3 (alibabacloud_ecs20140526 and other Tea/Darabonba SDKs): action in ``x-acs-action``,
  version in ``x-acs-version``, parameters in the query (or a form body), header
  ``Authorization: ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=...,Signature=hex``.
- RPC (aliyun-python-sdk-core, @alicloud/pop-core, the aliyun CLI, Tea SDKs configured with
  ``signature_algorithm='v2'``): ``Action``, ``Version``, ``AccessKeyId``, ``SignatureMethod=HMAC-SHA1``,
  ``SignatureVersion=1.0``, ``SignatureNonce``, ``Timestamp``, ``Signature`` in the query string or
  an ``application/x-www-form-urlencoded`` body.
Responses are JSON (``Format=XML`` is not emulated).
"""
import base64
import hashlib
import hmac
import json
import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, quote, urlsplit

from .backend import EcsBackend
from .errors import ApiError, error, missing
from .resources import request_id

API_VERSION = "2014-05-26"
HOST_ID = "ecs.aliyuncs.com"
MAX_CLOCK_SKEW = 15 * 60
RPC_COMMON = {"Action", "Version", "Format", "AccessKeyId", "Signature", "SignatureMethod",
              "SignatureVersion", "SignatureNonce", "Timestamp", "SecurityToken", "SignatureType",
              "BearerToken"}
V3_REQUIRED_SIGNED = {"host", "x-acs-action", "x-acs-version", "x-acs-date",
                      "x-acs-signature-nonce", "x-acs-content-sha256"}
_AUTH = re.compile(r"^(\S+) Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-fA-F]+)$")


@dataclass
class HttpRequest:
    method: str
    url: str  # absolute URL or path with query
    headers: Dict[str, str]
    body: bytes = b""


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: Dict[str, str] = field(default_factory=dict)
    drop: bool = False  # the response is lost: close the connection without answering


def _json_response(status: int, payload: dict) -> HttpResponse:
    return HttpResponse(status, json.dumps(payload).encode("utf-8"),
                        {"Content-Type": "application/json;charset=utf-8",
                         "x-acs-request-id": payload.get("RequestId", "")})


def error_response(err: ApiError) -> HttpResponse:
    return _json_response(err.status, {"RequestId": request_id(), "HostId": HOST_ID, "Code": err.code,
                                       "Message": err.message, "Recommend": ""})


class Gateway:
    """Parses, authenticates and routes HTTP requests to one EcsBackend."""

    def __init__(self, backend: EcsBackend):
        self.backend = backend
        self._nonces: Dict[str, float] = {}  # nonce -> when seen; forgotten once too old to replay
        self._lock = threading.Lock()

    def handle(self, request: HttpRequest) -> HttpResponse:
        try:
            action, params, access_key_id, style = self.authenticate(request)
        except ApiError as err:
            self._log_rejected(request, err)
            return error_response(err)
        try:
            result = self.backend.handle(action, params, access_key_id, style)
        except ApiError as err:
            return error_response(err)
        except Exception as exc:  # a bug in the emulator: say so loudly, in the reply and on stderr
            traceback.print_exc(file=sys.stderr)
            return _json_response(500, {"RequestId": request_id(), "HostId": HOST_ID, "Code": "InternalError",
                                        "Message": "emulator bug: %s: %s" % (type(exc).__name__, exc)})
        if result.lost == "timeout":
            return HttpResponse(0, b"", drop=True)
        if result.lost == "error":
            return error_response(error("InternalError"))
        return _json_response(200, result.body)

    def _log_rejected(self, request: HttpRequest, err: ApiError) -> None:
        from .backend import CallRecord
        action = _header(request.headers, "x-acs-action") or "?"
        with self.backend.lock:
            self.backend.calls.append(CallRecord(action, {}, self.backend.clock.now(), error_code=err.code,
                                                 style="rejected"))

    # --- authentication -----------------------------------------------------------------------
    def authenticate(self, request: HttpRequest) -> Tuple[str, Dict[str, str], str, str]:
        """-> (action, business parameters, AccessKeyId, style), or raises ApiError."""
        parts = urlsplit(request.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        form: List[Tuple[str, str]] = []
        content_type = _header(request.headers, "content-type") or ""
        if request.body and content_type.startswith("application/x-www-form-urlencoded"):
            form = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
        flat = dict(query + form)
        if "Signature" in flat or ("Action" in flat and not _header(request.headers, "authorization")):
            return self._rpc(request.method, flat)
        if _header(request.headers, "x-acs-action") or _header(request.headers, "authorization"):
            return self._v3(request, parts.path or "/", query, form)
        raise missing("Action")

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
        auth = _header(request.headers, "authorization") or ""
        match = _AUTH.match(auth.strip())
        if not match:
            raise error("IncompleteSignature", "Authorization header missing or malformed.")
        algorithm, access_key_id, signed, signature = match.groups()
        if algorithm != "ACS3-HMAC-SHA256":
            raise error("IncompleteSignature", "Unsupported algorithm %s." % algorithm)
        signed_names = signed.split(";")
        if not V3_REQUIRED_SIGNED <= set(signed_names):
            raise error("IncompleteSignature", "SignedHeaders must include %s." % ",".join(sorted(V3_REQUIRED_SIGNED)))
        secret = self._secret(access_key_id)
        payload_hash = hashlib.sha256(request.body or b"").hexdigest()
        if (_header(request.headers, "x-acs-content-sha256") or "").lower() != payload_hash:
            raise error("SignatureDoesNotMatch", "x-acs-content-sha256 does not match the body.")
        canonical_query = "&".join("%s=%s" % (k, quote(v, safe="~")) for k, v in sorted(query))
        canonical_headers = "".join("%s:%s\n" % (name, (_header(request.headers, name) or "").strip())
                                    for name in signed_names)
        canonical = "\n".join([request.method.upper(), path, canonical_query, canonical_headers,
                               signed, payload_hash])
        to_sign = "%s\n%s" % (algorithm, hashlib.sha256(canonical.encode("utf-8")).hexdigest())
        expected = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise error("SignatureDoesNotMatch")
        self._fresh(_header(request.headers, "x-acs-signature-nonce") or "",
                    _parse_time(_header(request.headers, "x-acs-date") or ""))
        if _header(request.headers, "x-acs-version") != API_VERSION:
            raise error("InvalidVersion")
        return _header(request.headers, "x-acs-action") or "", dict(query + form), access_key_id, "V3"

    def _rpc(self, method: str, flat: Dict[str, str]) -> Tuple[str, Dict[str, str], str, str]:
        for name in ("Signature", "AccessKeyId", "SignatureNonce", "Timestamp"):
            if not flat.get(name):
                raise error("IncompleteSignature", "%s is missing." % name)
        if flat.get("SignatureMethod") != "HMAC-SHA1" or flat.get("SignatureVersion") != "1.0":
            raise error("UnsupportedSignatureMethod")
        secret = self._secret(flat["AccessKeyId"])
        signed = sorted((k, v) for k, v in flat.items() if k != "Signature")
        canonical = "&".join("%s=%s" % (quote(k, safe="~"), quote(v, safe="~")) for k, v in signed)
        to_sign = "%s&%%2F&%s" % (method.upper(), quote(canonical, safe="~"))
        digest = hmac.new((secret + "&").encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode("ascii"), flat["Signature"]):
            raise error("SignatureDoesNotMatch")
        self._fresh(flat["SignatureNonce"], _parse_time(flat["Timestamp"]))
        if not flat.get("Action"):
            raise missing("Action")
        if flat.get("Version") != API_VERSION:
            raise error("InvalidVersion")
        params = {k: v for k, v in flat.items() if k not in RPC_COMMON}
        return flat["Action"], params, flat["AccessKeyId"], "RPC"


def _header(headers: Dict[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _parse_time(value: str) -> float:
    import calendar
    try:
        return calendar.timegm(time.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        raise error("InvalidTimeStamp.Expired", "Timestamp %r is not yyyy-MM-ddTHH:mm:ssZ." % value)
