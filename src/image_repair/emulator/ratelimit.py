"""API flow control: how many calls of one action ECS answers per second before it throttles.

ECS throttles every API operation per account and region, with a threshold per operation shown
only in the Quota Center console ("API Rate Limits"); no per-operation figure is published
(docs/cloud-contracts.md, "Disks for the pool"). So the emulator has no built-in figures: flow
control is off until configured, and a configuration names its own rates, or asks for the declared
``DEFAULT_PER_SECOND`` (the emulator's assumption, not Alibaba's).

A limit is a token bucket per account and action: ``per_second`` calls per second on average, at
most ``burst`` at once (default: one second's worth). A call over the limit is answered ``Throttling.User`` (HTTP 400,
"Request was denied due to user flow control.") and changes nothing. Buckets count on the
emulator's virtual clock, so a test moves them with ``advance()`` and a fast clock allows the
same calls per virtual second; a clock that only a test moves refills them only then.

Specs (``emulator serve --rate-limit``, a seed's ``rate_limits`` list, ``RateLimits.configure``):
``default`` (every action at DEFAULT_PER_SECOND), ``RATE`` (every action), ``ACTION=RATE`` or
``ACTION=RATE/BURST`` (one action; it overrides the every-action limit)."""
import threading
from dataclasses import dataclass
from typing import Dict, Iterable, Optional, Tuple

DEFAULT_PER_SECOND = 10.0  # the emulator's declared default (no per-API figure is published)
EVERY_ACTION = "*"
MAX_PER_SECOND = 1e6


@dataclass
class Limit:
    per_second: float
    burst: float


@dataclass
class _Bucket:
    tokens: float
    at: float  # virtual time of the last refill


def parse_spec(spec: str) -> Tuple[str, Limit]:
    """One spec as ``(action or "*", Limit)``; ValueError (a one-line reason) when malformed."""
    text = str(spec).strip()
    if text == "default":
        return EVERY_ACTION, Limit(DEFAULT_PER_SECOND, DEFAULT_PER_SECOND)
    action, sep, figures = text.partition("=")
    if not sep:
        action, figures = EVERY_ACTION, text
    elif not action.isalnum() or not action[:1].isupper():
        raise ValueError("rate limit %r: the action is an API name such as AttachDisk" % text[:60])
    rate_text, slash, burst_text = figures.partition("/")
    rate = _figure(rate_text, text)
    burst = _figure(burst_text, text) if slash else max(1.0, rate)
    if burst < 1:
        raise ValueError("rate limit %r: the burst is at least 1 call" % text[:60])
    return action, Limit(rate, burst)


def _figure(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("rate limit %r: give RATE, ACTION=RATE or ACTION=RATE/BURST (calls per second), "
                         "or 'default'" % spec[:60]) from None
    if not 0 < value <= MAX_PER_SECOND:
        raise ValueError("rate limit %r: a rate is above 0 and at most %d per second" % (spec[:60], MAX_PER_SECOND))
    return value


class RateLimits:
    """The limits by action and their buckets; off (nothing limited) until configured."""

    def __init__(self):
        self._lock = threading.Lock()
        self._limits: Dict[str, Limit] = {}
        self._buckets: Dict[Tuple[str, str], _Bucket] = {}     # by (account, action)

    def configure(self, specs: Iterable[str]) -> None:
        """Replace every limit with ``specs`` (an empty list: flow control off); all or nothing."""
        if isinstance(specs, str):
            raise ValueError("rate limits are a list of specs, not one string")
        parsed = dict(parse_spec(spec) for spec in specs)
        with self._lock:
            self._limits = parsed
            self._buckets.clear()

    def add(self, spec: str) -> None:
        """Add or replace the limit one spec names (ValueError when malformed)."""
        name, limit = parse_spec(spec)
        with self._lock:
            self._limits[name] = limit
            self._buckets.clear()   # an every-action limit changes the buckets of all

    def set(self, action: str, per_second: float, burst: Optional[float] = None) -> None:
        """Add or replace one limit (``action`` "*": every action without its own)."""
        self.add("%s%r%s" % ("" if action == EVERY_ACTION else action + "=", float(per_second),
                             "" if burst is None else "/%r" % float(burst)))

    def limit_of(self, action: str) -> Optional[Limit]:
        with self._lock:
            return self._limits.get(action) or self._limits.get(EVERY_ACTION)

    def refill(self) -> None:
        """Every bucket full again (the limits stay)."""
        with self._lock:
            self._buckets.clear()

    def take(self, action: str, now: float, account: str = "") -> bool:
        """Count one call of ``action`` by ``account`` at virtual time ``now``: False when it is
        over its limit (then nothing is counted). Each account has its own buckets, as on ECS."""
        with self._lock:
            limit = self._limits.get(action) or self._limits.get(EVERY_ACTION)
            if limit is None:
                return True
            bucket = self._buckets.get((account, action))
            if bucket is None:
                bucket = self._buckets[(account, action)] = _Bucket(limit.burst, now)
            bucket.tokens = min(limit.burst, bucket.tokens + max(0.0, now - bucket.at) * limit.per_second)
            bucket.at = max(bucket.at, now)
            if bucket.tokens < 1:
                return False
            bucket.tokens -= 1
            return True
