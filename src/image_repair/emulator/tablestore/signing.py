"""Request authentication and response signatures of the Tablestore API (version 2015-12-31).

The request headers are those "How to use the Tablestore API" lists (x-ots-date, x-ots-apiversion,
x-ots-accesskeyid, x-ots-instancename, x-ots-contentmd5, optional x-ots-ststoken) plus
x-ots-signature; the signature is Base64(HMAC-SHA1(AccessKey secret, StringToSign)) with

    StringToSign = path + "\\n" + "POST" + "\\n" + "" + "\\n" + CanonicalHeaders + "\\n"
    CanonicalHeaders = the x-ots-* headers but the signature, "name:value" (name lower case, value
                       trimmed), sorted, joined by "\\n"

(the empty line is the canonical query string: no operation has one). Sources: the Python SDK
6.4.8 tablestore/auth.py (SignV2) and the Node.js SDK 5.6.1 lib/signer.js agree. The response
carries ``Authorization: OTS <AccessKey ID>:<signature>`` over its own x-ots-* headers and the path,
which the SDK checks (tablestore/protocol.py ``_check_authorization``):

    signature = Base64(HMAC-SHA1(secret, CanonicalHeaders(response) + "\\n" + path))

The service refuses a request whose x-ots-date is more than 15 minutes from its clock, whose
body's MD5 differs from x-ots-contentmd5, or whose signature differs (403 OTSAuthFailed).
"""
import base64
import datetime
import hashlib
import hmac
from typing import Dict, Mapping, Tuple

from .errors import OTSError, invalid

API_VERSION = "2015-12-31"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S.000Z"
REQUIRED_HEADERS = ("x-ots-date", "x-ots-apiversion", "x-ots-accesskeyid", "x-ots-instancename",
                    "x-ots-contentmd5", "x-ots-signature")
MAX_SKEW_S = 15 * 60


def canonical_headers(headers: Mapping[str, str]) -> str:
    return "\n".join(sorted("%s:%s" % (name.lower(), value.strip()) for name, value in headers.items()
                            if name.lower().startswith("x-ots-") and name.lower() != "x-ots-signature"))


def hmac_sha1(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()).decode()


def request_signature(secret: str, path: str, headers: Mapping[str, str]) -> str:
    return hmac_sha1(secret, "%s\nPOST\n\n%s\n" % (path, canonical_headers(headers)))


def response_authorization(access_key_id: str, secret: str, path: str, headers: Mapping[str, str]) -> str:
    return "OTS %s:%s" % (access_key_id, hmac_sha1(secret, "%s\n%s" % (canonical_headers(headers), path)))


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def authenticate(path: str, headers: Mapping[str, str], body: bytes, accounts: Mapping[str, str],
                 instances, now: datetime.datetime) -> Tuple[str, str, str]:
    """(AccessKey ID, secret, instance) of a well-signed request; else the service's error.
    ``headers`` have lower-case names."""
    for name in REQUIRED_HEADERS:
        if name not in headers:
            if name == "x-ots-signature" and "x-ots-signaturev4" in headers:
                raise OTSError("OTSAuthFailed", "V4 signatures are not emulated (sign without a region).")
            raise invalid("Missing header: %s." % name)
    if headers["x-ots-apiversion"] != API_VERSION:
        raise invalid("Unsupported API version: %s." % headers["x-ots-apiversion"])
    try:
        sent = datetime.datetime.strptime(headers["x-ots-date"], "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        raise invalid("Invalid date format: %s." % headers["x-ots-date"])
    if abs((now - sent).total_seconds()) > MAX_SKEW_S:
        raise OTSError("OTSAuthFailed", "Mismatch between system time and x-ots-date: %s." % headers["x-ots-date"])
    access_key_id = headers["x-ots-accesskeyid"]
    secret = accounts.get(access_key_id)
    if secret is None:
        raise OTSError("OTSAuthFailed", "The AccessKeyID does not exist.")
    instance = headers["x-ots-instancename"]
    if instance not in instances:
        raise OTSError("OTSAuthFailed", "The instance is not found.")
    if content_md5(body) != headers["x-ots-contentmd5"]:
        raise OTSError("OTSAuthFailed", "Mismatch between MD5 value of request body and x-ots-contentmd5 in header.")
    if not hmac.compare_digest(request_signature(secret, path, headers), headers["x-ots-signature"]):
        raise OTSError("OTSAuthFailed", "Signature mismatch.")
    return access_key_id, secret, instance


def lower_names(headers: Mapping[str, str]) -> Dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}
