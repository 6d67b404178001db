"""Fault injection for /v1 and legacy requests: seeded random rates and queued one-shot faults.

Kinds: ``500`` (HTML error page), ``503`` (with or without ``Retry-After``),
``429`` (rate-limit body), ``drop`` (close without answering), ``truncate``
(headers with the full ``Content-Length``, then half the body), ``slow`` (sleep
first, then answer normally), ``html`` (200 with an HTML page) and ``bad_json``
(200 with malformed JSON). Queued faults win over random ones and are consumed
in order by the next matching requests.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from assembla_mirror.simulator.routes import HTML, JSON, Response, server_error, throttled

KINDS = ("500", "503", "429", "drop", "truncate", "slow", "html", "bad_json")
MAINTENANCE_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Assembla</title></head>"
    b"<body><h1>Assembla is down for maintenance.</h1></body></html>\n"
)
BAD_JSON = b'[{"id": 1, "summary": "cut'


@dataclass(frozen=True)
class FaultConfig:
    """Probabilities (0..1) of each random fault per request; ``seed`` fixes the sequence."""

    error_500: float = 0.0
    error_503: float = 0.0
    throttle_429: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 2.0
    seed: int = 0

    def rates(self) -> list[tuple[str, float]]:
        """``(kind, probability)`` for every random fault kind."""
        return [
            ("500", self.error_500),
            ("503", self.error_503),
            ("429", self.throttle_429),
            ("drop", self.drop),
            ("truncate", self.truncate),
            ("slow", self.slow),
        ]


@dataclass(frozen=True)
class Fault:
    """A fault chosen for one request. ``retry_after`` None means no ``Retry-After`` header."""

    kind: str
    retry_after: int | None = None
    seconds: float = 0.0


@dataclass
class _Queued:
    kind: str
    remaining: int
    path_prefix: str | None
    retry_after: int | None


@dataclass
class FaultSet:
    """The simulator's faults: a :class:`FaultConfig` plus a queue of one-shot faults."""

    config: FaultConfig = field(default_factory=FaultConfig)
    _queue: list[_Queued] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _rng: random.Random = field(default_factory=random.Random)
    _alternate: int = 0

    def __post_init__(self) -> None:
        self._rng.seed(self.config.seed)

    def configure(self, config: FaultConfig) -> None:
        """Replace the random rates (the generator is reseeded from ``config.seed``)."""
        with self._lock:
            self.config = config
            self._rng.seed(config.seed)

    def enqueue(
        self,
        kind: str,
        count: int = 1,
        path_prefix: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Give the next ``count`` requests whose path starts with ``path_prefix`` this fault.

        ``retry_after`` sets a ``Retry-After`` header on ``429``/``503`` faults.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.append(_Queued(kind, count, path_prefix, retry_after))

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        """How many queued faults are still to fire."""
        with self._lock:
            return sum(item.remaining for item in self._queue)

    def pick(self, path: str) -> Fault | None:
        """The fault for a request to ``path``, if any (consumes a queued one)."""
        with self._lock:
            for item in self._queue:
                if item.path_prefix is None or path.startswith(item.path_prefix):
                    item.remaining -= 1
                    if item.remaining == 0:
                        self._queue.remove(item)
                    return Fault(item.kind, item.retry_after, self.config.slow_seconds)
            return self._random()

    def _random(self) -> Fault | None:
        rates = self.config.rates()
        if not any(rate for _, rate in rates):
            return None
        draw = self._rng.random()
        for kind, rate in rates:
            if draw < rate:
                retry_after = None
                if kind in ("429", "503"):
                    # alternate: with a Retry-After header, then without
                    self._alternate += 1
                    retry_after = 1 if self._alternate % 2 else None
                return Fault(kind, retry_after, self.config.slow_seconds)
            draw -= rate
        return None


def fault_response(fault: Fault) -> Response | None:
    """The answer replacing the real one for ``500``, ``503``, ``429``, ``html``, ``bad_json``;
    None for ``drop``. (``slow`` and ``truncate`` spoil the real answer instead.)"""
    if fault.kind == "drop":
        return None
    if fault.kind == "500":
        return server_error()
    if fault.kind == "429":
        return throttled(fault.retry_after)
    if fault.kind == "html":
        return Response(200, MAINTENANCE_PAGE, HTML)
    if fault.kind == "bad_json":
        return Response(200, BAD_JSON, JSON)
    response = Response(503, MAINTENANCE_PAGE, HTML)
    if fault.retry_after is not None:
        response.headers.append(("Retry-After", str(fault.retry_after)))
    return response
