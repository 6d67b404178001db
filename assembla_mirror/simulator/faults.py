"""Fault injection for /v1 and legacy requests: seeded random rates and queued one-shot faults.

Kinds: ``500`` (HTML error page), ``503`` (with or without ``Retry-After``),
``429`` (rate-limit body), ``drop`` (close without answering), ``truncate``
(headers with the full ``Content-Length``, then half the body), ``slow`` (sleep
first, then answer normally), ``html`` (200 with an HTML page) and ``bad_json``
(200 with malformed JSON). Queued faults win over random ones and are consumed
in order by the next matching requests.

Hostile kinds, queued only (no random rate), for clients' timeout and size limits:

- ``trickle``: the real answer's status line and headers at once (with the full
  ``Content-Length``), then its body one byte every ``trickle_seconds``.
- ``trickle_headers``: the status line, then the header block one byte every
  ``trickle_seconds`` (then the body).
- ``endless``: ``200`` JSON, ``Transfer-Encoding: chunked``, then ``[`` and
  ``{"id":N,"summary":"x..."},`` with N counting up, as fast as the client reads,
  until the client leaves or the server stops.
- ``huge``: ``200`` JSON with an exact ``Content-Length`` of ``huge_bytes``: a
  valid array of objects, generated and written in pieces, never whole in memory.

Lying kinds, queued only, for clients' checks of what they are told:

- ``empty``: ``204 No Content``, as for a list that ended (or never began).
- ``copies``: the real answer, a JSON list, with its first element sent
  ``COPIES`` times instead (an impossible answer to ``number[]``).

A queued fault may be limited to requests carrying a query parameter
(``query="number[]"``) or a parameter with a value (``query="page=2"``), so one
request of an endpoint can lie while the rest answer truthfully.

The request handler writes these (:mod:`~assembla_mirror.simulator.transport`);
every wait in them notices within 0.1 s that the server is stopping or the
client went away, so :meth:`Simulator.stop` never hangs on them.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from assembla_mirror.simulator import render
from assembla_mirror.simulator.routes import (
    HTML,
    JSON,
    Response,
    Streamed,
    no_content,
    server_error,
    throttled,
)

KINDS = (
    "500", "503", "429", "drop", "truncate", "slow", "html", "bad_json",
    "trickle", "trickle_headers", "endless", "huge", "empty", "copies",
)  # fmt: skip
#: Kinds that spoil the real answer rather than replace it (see the server).
SPOILERS = frozenset({"slow", "truncate", "trickle", "trickle_headers", "copies"})
#: How many times a ``copies`` answer repeats its first element.
COPIES = 100
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
    #: the pause before each byte of a ``trickle``/``trickle_headers`` answer
    trickle_seconds: float = 20.0
    #: the exact body size of a ``huge`` answer
    huge_bytes: int = 200_000_000
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
    """A fault chosen for one request. ``retry_after`` None means no ``Retry-After`` header.

    ``seconds`` is the ``slow`` sleep or the ``trickle`` pause per byte; ``size``
    the ``huge`` body length.
    """

    kind: str
    retry_after: int | None = None
    seconds: float = 0.0
    size: int = 0


@dataclass
class _Queued:
    kind: str
    remaining: int
    path_prefix: str | None
    retry_after: int | None
    query: str | None = None

    def matches(self, path: str, query: Mapping[str, list[str]]) -> bool:
        """Whether a request to ``path`` with this query gets this fault."""
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        if self.query is None:
            return True
        name, equals, value = self.query.partition("=")
        return name in query and (not equals or value in query[name])


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
        query: str | None = None,
    ) -> None:
        """Give the next ``count`` requests whose path starts with ``path_prefix`` (and that
        carry the query parameter ``query``, ``name`` or ``name=value``, when given) this fault.

        ``retry_after`` sets a ``Retry-After`` header on ``429``/``503`` faults.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose one of {', '.join(KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.append(_Queued(kind, count, path_prefix, retry_after, query))

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._queue.clear()

    @property
    def pending(self) -> int:
        """How many queued faults are still to fire."""
        with self._lock:
            return sum(item.remaining for item in self._queue)

    def pick(self, path: str, query: Mapping[str, list[str]] | None = None) -> Fault | None:
        """The fault for a request to ``path`` with ``query`` (parsed), if any (consumes a
        queued one)."""
        with self._lock:
            for item in self._queue:
                if item.matches(path, query or {}):
                    item.remaining -= 1
                    if item.remaining == 0:
                        self._queue.remove(item)
                    return self._fault(item.kind, item.retry_after)
            return self._random()

    def _fault(self, kind: str, retry_after: int | None) -> Fault:
        config = self.config
        trickles = kind.startswith("trickle")
        seconds = config.trickle_seconds if trickles else config.slow_seconds
        return Fault(kind, retry_after, seconds, config.huge_bytes)

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
                return self._fault(kind, retry_after)
            draw -= rate
        return None


def fault_response(fault: Fault) -> Response | Streamed | None:
    """The answer replacing the real one for ``500``, ``503``, ``429``, ``html``, ``bad_json``,
    ``endless`` and ``huge``; None for ``drop``. (The :data:`SPOILERS` spoil the real answer.)"""
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
    if fault.kind == "empty":
        return no_content()
    if fault.kind == "endless":
        return Streamed(200, endless_body(), None)
    if fault.kind == "huge":
        length, chunks = huge_body(fault.size)
        return Streamed(200, chunks, length)
    response = Response(503, MAINTENANCE_PAGE, HTML)
    if fault.retry_after is not None:
        response.headers.append(("Retry-After", str(fault.retry_after)))
    return response


def copies(response: Response) -> Response:
    """A JSON list answer with its first element repeated :data:`COPIES` times (else as is)."""
    body = response.body.strip()
    if response.status != 200 or not body.startswith(b"[") or body == b"[]":
        return response
    first = json.loads(body)[0]
    repeated = b"[" + b",".join([render.dumps(first)] * COPIES) + b"]"
    return Response(200, repeated, response.content_type, list(response.headers))


# --- hostile bodies ---------------------------------------------------------------------

#: roughly how many bytes each generated piece holds (memory stays at this, not the total)
PIECE_BYTES = 64 * 1024
ENDLESS_ITEM = b'{"id":%d,"summary":"' + b"x" * 200 + b'"},'
HUGE_ITEM_BYTES = 1000


def endless_body() -> Iterator[bytes]:
    """``[`` then ``{"id":N,"summary":"x..."},`` for N = 1, 2, ... forever, in pieces."""
    yield b"["
    number = 1
    while True:
        # sized by the widest id it could hold, so a piece never passes PIECE_BYTES
        per_piece = PIECE_BYTES // len(ENDLESS_ITEM % (number + PIECE_BYTES))
        yield b"".join(ENDLESS_ITEM % n for n in range(number, number + per_piece))
        number += per_piece


def _huge_item(number: int, size: int) -> bytes:
    """``{"id":number,"summary":"xx..."}`` padded to ``size`` bytes (longer if it cannot fit)."""
    head = b'{"id":%d,"summary":"' % number
    return head + b"x" * max(0, size - len(head) - 2) + b'"}'


def huge_body(size: int) -> tuple[int, Iterator[bytes]]:
    """A JSON array of objects of exactly ``size`` bytes (or the smallest such array, if
    ``size`` is below that), as ``(length, pieces)``; the pieces are made as they are read.

    Every element is ``HUGE_ITEM_BYTES`` long except the last, which takes the slack.
    """
    count = max(1, (size - 1) // (HUGE_ITEM_BYTES + 1))
    # "[" + count elements + (count - 1) commas + "]"
    last = max(size - 2 - (count - 1) * (HUGE_ITEM_BYTES + 1), 0)
    last_item = _huge_item(count, last)
    length = 2 + (count - 1) * (HUGE_ITEM_BYTES + 1) + len(last_item)

    def pieces() -> Iterator[bytes]:
        per_piece = PIECE_BYTES // HUGE_ITEM_BYTES
        yield b"["
        for start in range(1, count, per_piece):
            stop = min(start + per_piece, count)
            yield b"".join(_huge_item(n, HUGE_ITEM_BYTES) + b"," for n in range(start, stop))
        yield last_item + b"]"

    return length, pieces()
