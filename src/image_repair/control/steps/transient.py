"""Which failures of a step are transient, and how long to wait before calling the step again.

Why our code decides, not the flow's Retry rules: Function Compute sends an unhandled Python
exception back as ``errorType`` (the class name) and ``errorMessage``; no attribute of ours
travels, and how CloudFlow names such an error is not documented. So a step that meets a
transient failure does not raise: its handler answers ``retry`` with ``waitSeconds`` and the flow
routes that answer through a Choice and a Wait back to the same step, the way polls already loop
(docs/flow.md, "Errors"). Every create carries a ClientToken and every step is idempotent, so
calling a step again after a lost response finds the first result instead of making a second one.
"""
import hashlib
from typing import Optional

from ..cloud_errors import CloudError
from ..pool.models import PoolBusy
from ..store import ConcurrentUpdate, StepClaimLost, StepInProgress, StoreUnavailable

# The flow's Choice after each step gives up after this many retries in a row (a test keeps the
# two equal). With the waits below that outlasts about half an hour of throttling.
MAX_RETRIES = 20
# (first wait, cap) per kind of failure, doubling each retry.
# A full pool (every slot leased, every seat taken) frees a slot per repair done, minutes apart.
BACKOFF_S = {"Throttled": (2.0, 120.0), "Transient": (1.0, 60.0), "StepBusy": (1.0, 30.0), "PoolBusy": (15.0, 120.0)}
MAX_WAIT_S = 300


def transient_kind(error: BaseException) -> Optional[str]:
    """"Throttled", "Transient", "StepBusy", "PoolBusy" or None (a terminal error: the execution cleans up)."""
    if isinstance(error, CloudError) and error.code in ("Throttled", "Transient"):
        return error.code
    if isinstance(error, StoreUnavailable):      # the store itself throttled or unreachable, retries spent
        return error.kind
    if isinstance(error, (StepInProgress, ConcurrentUpdate, StepClaimLost)):
        return "StepBusy"
    if isinstance(error, PoolBusy):
        return "PoolBusy"
    return None


def retry_wait(kind: str, retries: int, execution_id: str, error: Optional[BaseException] = None,
               now_ms: Optional[int] = None) -> int:
    """Seconds to wait before the next call: exponential per kind, capped, spread by a jitter that
    is deterministic per execution and retry (so executions throttled together do not come back
    together, and tests are repeatable). A step busy in another attempt waits until that
    attempt's lease expires, when its claim can be taken over."""
    first, cap = BACKOFF_S[kind]
    wait = min(cap, first * (2 ** min(retries, 16)))
    if isinstance(error, StepInProgress) and now_ms is not None:
        until_expiry_s = (error.record.expires_at_ms - now_ms) / 1000.0
        wait = max(wait, min(float(MAX_WAIT_S), until_expiry_s + 1))
        return int(min(MAX_WAIT_S, max(1, round(wait))))
    digest = hashlib.sha256(("%s|%d" % (execution_id, retries)).encode("utf-8")).digest()
    jitter = 0.8 + 0.4 * (digest[0] / 255.0)       # x0.8 .. x1.2
    return int(min(MAX_WAIT_S, max(1, round(wait * jitter))))
