"""Server-side rate limiting per credential: ``per_minute`` in any rolling 60 s and
``per_second`` in any rolling 1 s, measured at arrival.

Requests answered 429 still count, as they do on Assembla. Every other 429 of a
credential carries ``Retry-After`` (whole seconds until a request would be
admitted again, at least 1); the ones in between carry none.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Window:
    minute: deque[float] = field(default_factory=deque)
    second: deque[float] = field(default_factory=deque)
    refusals: int = 0


@dataclass(frozen=True)
class Verdict:
    """The limiter's answer for one request."""

    allowed: bool
    retry_after: int | None = None


class RateLimiter:
    """Rolling-window limiter keyed by credential; thread-safe."""

    def __init__(
        self, per_minute: int, per_second: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if per_minute < 1 or per_second < 1:
            raise ValueError("rate limits must be at least 1")
        self.per_minute = per_minute
        self.per_second = per_second
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    @property
    def limits(self) -> tuple[int, int]:
        """``(per_minute, per_second)``."""
        return self.per_minute, self.per_second

    def check(self, key: str, arrival: float | None = None) -> Verdict:
        """Count a request of ``key`` arriving at ``arrival`` (monotonic) and judge it."""
        now = self._clock() if arrival is None else arrival
        with self._lock:
            window = self._windows.setdefault(key, _Window())
            _expire(window.minute, now - 60.0)
            _expire(window.second, now - 1.0)
            allowed = len(window.minute) < self.per_minute and len(window.second) < self.per_second
            window.minute.append(now)
            window.second.append(now)
            if allowed:
                return Verdict(True)
            window.refusals += 1
            if window.refusals % 2 == 0:
                return Verdict(False)
            return Verdict(False, self._wait(window, now))

    def _wait(self, window: _Window, now: float) -> int:
        """Seconds until both windows hold fewer arrivals than their limits."""
        wait = 0.0
        for arrivals, limit, span in (
            (window.minute, self.per_minute, 60.0),
            (window.second, self.per_second, 1.0),
        ):
            excess = len(arrivals) - limit
            if excess >= 0:
                wait = max(wait, arrivals[excess] + span - now)
        return max(1, math.ceil(wait))


def _expire(arrivals: deque[float], before: float) -> None:
    while arrivals and arrivals[0] <= before:
        arrivals.popleft()
