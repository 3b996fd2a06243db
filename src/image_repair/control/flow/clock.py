"""Clocks for the runner: waits and retry backoff go through ``clock.sleep``, so tests run them on
a virtual clock in no real time and assert on exactly how long the flow would have waited."""
import time


class RealClock:
    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    __call__ = now   # also usable as the store's clock (a callable returning epoch seconds)


class VirtualClock:
    """Time moves only when someone sleeps (or advances it): deterministic and instant."""

    def __init__(self, start: float = 1_700_000_000.0):
        self._now = float(start)
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("cannot sleep %r seconds" % seconds)
        self.sleeps.append(seconds)
        self._now += seconds

    def advance(self, seconds: float) -> None:
        """Time that passes without a wait (e.g. a handler doing slow work)."""
        self._now += seconds

    __call__ = now
