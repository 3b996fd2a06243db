"""Errors of calls to Alibaba Cloud, each with the ``code`` the flow's Retry/Catch match as ``FC.<code>``.

The steps, the store's configuration and the triggers catch ``CloudError`` whatever adapter raised
it, so it lives below all of them (clients/ raise it through ``classify``).

The SDK's many exception types are folded into three codes the flow decides on:
``Throttled`` (retry with backoff), ``Transient`` (5xx, a lost or refused connection: retry; every
create carries a ClientToken, so a retry after a committed-but-lost call finds the first result)
and the service's own error code for everything else (terminal: the execution cleans up).
"""
from typing import Optional


class CloudError(Exception):
    def __init__(self, code: str, message: str, action: str = "", service_code: Optional[str] = None,
                 status: Optional[int] = None):
        super().__init__("%s%s: %s" % (action + " " if action else "", service_code or code, message))
        self.code = code
        self.service_code = service_code or code   # the code the service answered (Throttling.User...)
        self.action = action
        self.status = status


def classify(error: Exception, action: str) -> CloudError:
    """Map an SDK exception to a CloudError with the flow's code."""
    service_code = getattr(error, "code", None)
    status = getattr(error, "status_code", None) or getattr(error, "statusCode", None)
    message = getattr(error, "message", None) or str(error)
    if isinstance(message, dict):
        message = message.get("message") or str(message)
    message = str(message)[:300]
    if service_code and (str(service_code).startswith("Throttling") or service_code == "ServiceUnavailable.Throttling"):
        return CloudError("Throttled", message, action, service_code, status)
    if status is not None and int(status) >= 500:
        return CloudError("Transient", message, action, service_code, status)
    if not service_code:   # no answer at all: a timeout or a dropped connection
        return CloudError("Transient", message, action, "NetworkError", status)
    return CloudError(str(service_code), message, action, service_code, status)
