"""How the Tablestore adapter retries: which failures are worth another attempt, and how long to
wait (docs/store.md, "Failures and retries").

The adapter, not the SDK, retries: its OTSClient is built with ``NoRetryPolicy``. The SDK's
default policy (tablestore/retry.py, 6.4.8) re-sends writes on throttling blindly; after a lost
answer that re-send can fail the write's own condition, and only the adapter knows how to read
back and tell "my earlier attempt applied it" from "someone else's write is there".

Worth retrying (the SDK's own lists, retry.py ``RetryUtil``; the error-code page marks them
"retry: yes"):
* throttling: OTSServerBusy, OTSNotEnoughCapacityUnit, OTSOperationThrottled, and OTSQuotaExhausted
  with "Too frequent table operations." (other OTSQuotaExhausted messages are limits, final);
* transient: OTSRowOperationConflict, OTSOperationConflict, OTSTableNotReady, OTSPartitionUnavailable, OTSTimeout,
  OTSInternalServerError, OTSServerUnavailable, any other status of 500 or more, an SDK error
  about a 5xx answer it could not parse, and no answer at all (urllib3's timeouts, refused or
  dropped connections).
Everything else (OTSParameterInvalid, OTSAuthFailed, OTSObjectNotExist...) is final.
"""
import random
import time
from dataclasses import dataclass
from typing import Callable, Optional

import urllib3.exceptions
from tablestore import OTSClientError, OTSServiceError

THROTTLING_CODES = ("OTSServerBusy", "OTSNotEnoughCapacityUnit", "OTSOperationThrottled")
TOO_FREQUENT = "Too frequent table operations."
TRANSIENT_CODES = ("OTSRowOperationConflict", "OTSOperationConflict", "OTSTableNotReady", "OTSPartitionUnavailable",
                   "OTSTimeout", "OTSInternalServerError", "OTSServerUnavailable")


def failure_kind(error: BaseException) -> Optional[str]:
    """"Throttled", "Transient" (retry) or None (final)."""
    if isinstance(error, OTSServiceError):
        if error.code in THROTTLING_CODES or (error.code == "OTSQuotaExhausted" and error.message == TOO_FREQUENT):
            return "Throttled"
        if error.code in TRANSIENT_CODES or (error.http_status or 0) >= 500:
            return "Transient"
        return None
    if isinstance(error, OTSClientError):
        return "Transient" if (error.http_status or 0) >= 500 else None
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError)):
        return "Transient"
    return None


def service_code(error: BaseException) -> str:
    return getattr(error, "code", None) or ("NetworkError" if not isinstance(error, OTSClientError) else "OTSClientError")


@dataclass(frozen=True)
class RetrySchedule:
    """At most ``attempts`` tries within ``budget_s`` seconds, waiting between them like the SDK's
    default policy: ``first * 2**n`` capped at ``max_delay_s``, jittered to 50-100 %."""
    attempts: int = 6
    budget_s: float = 30.0
    first_delay_s: float = 0.2
    throttled_first_delay_s: float = 0.5
    max_delay_s: float = 3.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic

    def delay(self, attempt: int, kind: str) -> float:
        first = self.throttled_first_delay_s if kind == "Throttled" else self.first_delay_s
        limit = min(self.max_delay_s, first * (2 ** attempt))
        return limit * (0.5 + 0.5 * random.random())


def no_wait(seconds: float) -> None:
    """A ``sleep`` for tests: retries happen at once."""
