"""Client-side pacing that keeps every run under Assembla's rate limits, and retry delays.

Assembla allows 240 requests per rolling minute and 20 per rolling second per
credential, and counts requests it answers with 429 too. The server sees a
request *arrive* at some instant between our sending it and our receiving the
answer, so spacing requests by *send* times alone is not enough: a slow request
may arrive late and land in the same window as later ones.

The rule :class:`RateLimiter` enforces, for every window (count ``n``, length ``W``):

    request ``k`` is sent only after request ``k - n`` has *completed* and at
    least ``W`` has passed since that completion.

Requests are granted strictly in ticket order (FIFO), so send times grow with
``k``. Why this is enough: take any ``n + 1`` requests and let ``k`` be the
latest; one of them, ``j``, has ``j <= k - n``. Then
``arrival(j) <= completion(j) <= send(j + n) - W <= send(k) - W <= arrival(k) - W``,
so no window of length ``W`` ever holds more than ``n`` arrivals. A small
margin is added for clock granularity at the server.

The first ``n`` requests have no predecessor, so a fresh run gets its burst of
20 at once; in the long run it sustains 240 per minute (less the latency).
:meth:`RateLimiter.pause_until` holds back every worker, e.g. after a 429 with
``Retry-After``; it works even with pacing off.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from assembla_mirror.api.settings import RateLimit

Clock = Callable[[], float]
Sleep = Callable[[float], None]

#: Extra spacing on top of each window, for timer granularity at the server.
DEFAULT_MARGIN = 0.01


@dataclass
class Slot:
    """One granted request; ``completed_at`` is set when it is released."""

    ticket: int
    granted_at: float
    completed_at: float | None = None


class RateLimiter:
    """A thread-safe pacer shared by every request of a run (both hosts).

    ``limits`` is a sequence of ``(count, window_seconds)``; empty means no
    pacing. Use ``with limiter.slot(): send()``; the slot must cover the whole
    exchange, up to the last byte of the answer.
    """

    def __init__(
        self,
        limits: Sequence[tuple[int, float]] = ((240, 60.0), (20, 1.0)),
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        margin: float = DEFAULT_MARGIN,
    ) -> None:
        if any(count < 1 or window <= 0 for count, window in limits):
            raise ValueError(f"invalid rate limits {limits!r}")
        self.limits = tuple(limits)
        self._clock = clock
        self._sleep = sleep
        self._margin = margin
        self._cond = threading.Condition()
        self._history: deque[Slot] = deque(maxlen=max((c for c, _ in limits), default=1))
        self._next_ticket = 0
        self._serving = 0  # the ticket that is next to be granted
        self._abandoned: set[int] = set()
        self._paused_until = float("-inf")

    @classmethod
    def from_setting(
        cls,
        rate_limit: RateLimit | None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> RateLimiter:
        """The limiter for a :class:`RateLimit` setting; ``None`` means no pacing."""
        if rate_limit is None:
            return cls((), clock=clock, sleep=sleep)
        limits = (
            (rate_limit.per_minute, rate_limit.minute_window),
            (rate_limit.per_second, rate_limit.second_window),
        )
        return cls(limits, clock=clock, sleep=sleep)

    @contextmanager
    def slot(self) -> Iterator[Slot]:
        """Wait for a turn, then hold it until the block ends (the request completed)."""
        granted = self.acquire()
        try:
            yield granted
        finally:
            self.release(granted)

    def acquire(self) -> Slot:
        """Block until this caller may send; pair with :meth:`release`."""
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            try:
                self._wait_for_turn(ticket)
            except BaseException:
                # An interrupted waiter must not stall everyone queued behind it.
                self._abandon(ticket)
                raise
            granted = Slot(ticket, self._clock())
            self._history.append(granted)
            self._advance()
            return granted

    def release(self, granted: Slot) -> None:
        """Record that the request of ``granted`` completed (answer read, or failed)."""
        with self._cond:
            granted.completed_at = self._clock()
            self._cond.notify_all()

    def pause_until(self, when: float) -> None:
        """Send nothing before ``when`` (a value of ``clock``), e.g. a 429's Retry-After."""
        with self._cond:
            self._paused_until = max(self._paused_until, when)

    @property
    def paused_until(self) -> float:
        """The clock value before which nothing is sent (``-inf`` if never paused)."""
        return self._paused_until

    def _wait_for_turn(self, ticket: int) -> None:
        # Called with the lock held; returns with it held.
        while True:
            if ticket != self._serving:
                self._cond.wait()
                continue
            delay = self._delay()
            if delay is None:
                self._cond.wait()  # an earlier request is in flight; release() wakes us
            elif delay > 0:
                # Only the head of the line sleeps, outside the lock so releases
                # and pauses go on; nothing can shorten its wait meanwhile.
                self._cond.release()
                try:
                    self._sleep(delay)
                finally:
                    self._cond.acquire()
            else:
                return

    def _delay(self) -> float | None:
        """Seconds the head must still wait; ``None`` while a request it depends on is in flight."""
        now = self._clock()
        delay = self._paused_until - now
        for count, window in self.limits:
            if len(self._history) < count:
                continue
            earlier = self._history[-count]
            if earlier.completed_at is None:
                return None
            delay = max(delay, earlier.completed_at + window + self._margin - now)
        return delay

    def _advance(self) -> None:
        self._serving += 1
        while self._serving in self._abandoned:
            self._abandoned.discard(self._serving)
            self._serving += 1
        self._cond.notify_all()

    def _abandon(self, ticket: int) -> None:
        if ticket == self._serving:
            self._advance()
        else:
            self._abandoned.add(ticket)
            self._cond.notify_all()


def backoff_delay(
    retry: int, base: float, cap: float, *, rng: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``retry`` (1 = first retry).

    Exponential (``base * 2**(retry-1)``), capped at ``cap``, with jitter in the
    upper half so that workers that failed together do not retry together.
    """
    ceiling = min(cap, base * 2.0 ** (retry - 1))
    return ceiling / 2 + rng() * ceiling / 2


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP-date); ``None`` if absent
    or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
