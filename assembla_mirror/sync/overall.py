"""The sync as a whole: requests made, requests still expected, and an ETA.

Assembla gives no counts (no total in a list's answer, none in the spaces
list), and asking for them would cost requests a sync does not need. So the
forecast is built from what the run learns anyway, in requests, the unit the
rate limit paces:

* a whole list or a walk that has begun and not ended needs at least one more
  request (a walk's length is unknown until its last page: the size of the
  account is learnt by walking it);
* a per-item stream (comments, associations, time logs) costs one request per
  item queued (the walks queue the items they write), less the items done;
* a stream begun with a ``total`` (the walks of tags' tickets, downloads) costs
  one request per item of that total not yet done;
* the walks of tags' tickets, due once the tags are listed, are anticipated from
  the tags the mirror holds (:func:`anticipate_links`).

While any walk announced to the forecast (:meth:`Forecast.expect`) has not
ended, the total is not known: the overall line says so ("sizing") instead of
showing a made-up percentage. Once the walks ended, the total is the requests
made plus those expected, and the ETA is what remains at the rate observed so
far, never faster than the client's pacing allows (the first requests of a run
go out in a burst that the rest of the run cannot keep up).

:class:`Forecast` wraps the run's :class:`~.progress.Progress`, forwarding every
call, and hands an :class:`Overall` to it after each when it has an ``overall``
method (the CLI's displays do; a library caller's progress need not).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection

from assembla_mirror.api.settings import RateLimit
from assembla_mirror.store import archive
from assembla_mirror.store.checkpoints import load_state
from assembla_mirror.sync import links
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.declare import DatedNewestFirst, LinkWalk, NewestFirst, PerItem
from assembla_mirror.sync.pipeline import FetchJob
from assembla_mirror.sync.progress import Progress

#: An ETA needs this many requests and seconds behind it: before, the rate is noise.
MIN_REQUESTS = 5
MIN_SECONDS = 2.0


def eta_seconds(
    done: int, total: int, elapsed: float, ceiling: float | None = None
) -> float | None:
    """Seconds left to make ``total`` requests, ``done`` of them made in ``elapsed`` seconds.

    The rate is the observed one, capped at ``ceiling`` requests a second (the
    pacing's sustained rate) when given. None while too little is known to say.
    """
    if total <= done:
        return 0.0
    if done < MIN_REQUESTS or elapsed < MIN_SECONDS:
        return None
    rate = done / elapsed
    if ceiling is not None:
        rate = min(rate, ceiling)
    return (total - done) / rate


def sustained_rate(limit: RateLimit | None) -> float | None:
    """Requests a second the pacing allows in the long run (None: no pacing)."""
    if limit is None:
        return None
    return min(limit.per_minute / limit.minute_window, limit.per_second / limit.second_window)


@dataclass(frozen=True)
class Overall:
    """The whole run at one moment."""

    #: Requests made so far.
    requests: int
    #: Requests the run is expected to make in all; None while walks are sizing it.
    expected: int | None
    #: Seconds since the run started.
    elapsed: float
    #: Requests a second the pacing allows in the long run (None: no pacing).
    ceiling: float | None = None
    #: True once the run is over.
    finished: bool = False

    @property
    def fraction(self) -> float | None:
        """Share of the requests made (1.0 when finished), None while sizing."""
        if self.finished:
            return 1.0
        if self.expected is None:
            return None
        return min(1.0, self.requests / max(self.expected, 1))

    @property
    def seconds_left(self) -> float | None:
        """The ETA in seconds, None while unknown."""
        if self.finished:
            return 0.0
        if self.expected is None:
            return None
        return eta_seconds(self.requests, self.expected, self.elapsed, self.ceiling)


@runtime_checkable
class ShowsOverall(Protocol):
    """A progress display that shows the whole run too."""

    def overall(self, status: Overall) -> None:
        """The run's overall state changed."""


@dataclass
class _Stream:
    """What the forecast knows of one progress key."""

    kind: type | None
    items: int = 0
    total: int | None = None
    open: bool = True


@dataclass
class Forecast:
    """A :class:`~.progress.Progress` that forwards to ``inner`` and forecasts the run.

    ``requests`` reads the requests made so far (the client's counter);
    ``queued`` is the run's items queued per per-item stream (``SyncContext.queued``).
    """

    inner: Progress
    requests: Callable[[], int]
    queued: Mapping[str, set[int]]
    kinds: Mapping[str, type]
    rate_limit: RateLimit | None = None
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    _streams: dict[str, _Stream] = field(default_factory=dict)
    _walks: set[str] = field(default_factory=set)
    _anticipated: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()

    # --- what the engine tells it ---------------------------------------------------

    def expect(self, keys: Iterable[str]) -> None:
        """Jobs of these keys are queued: until each walk among them ended, the run's size
        is unknown; each list among them costs a request."""
        with self._lock:
            for key in keys:
                kind = self._kind(key)
                if key not in self._streams:
                    self._streams[key] = _Stream(kind)
                if kind is NewestFirst:
                    self._walks.add(key)
        self._tell()

    def anticipate(self, name: str, requests: int) -> None:
        """Stream ``name`` is expected to cost ``requests`` once it begins (then its own
        total counts instead)."""
        with self._lock:
            self._anticipated[name] = requests
        self._tell()

    # --- Progress -------------------------------------------------------------------

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        """Forward, and count the stream as open."""
        self.inner.begin(key, label, total)
        with self._lock:
            stream = self._streams.setdefault(key, _Stream(self._kind(key)))
            stream.open = True
            if total is not None:
                stream.total = (stream.total or 0) + total
                self._anticipated.pop(key.split(":", 1)[0], None)
        self._tell()

    def advance(self, key: str, items: int = 0) -> None:
        """Forward, and count the items done."""
        self.inner.advance(key, items)
        with self._lock:
            stream = self._streams.setdefault(key, _Stream(self._kind(key)))
            stream.items += items
        self._tell()

    def end(self, key: str) -> None:
        """Forward, and close the stream: a walk that ended is sized."""
        self.inner.end(key)
        with self._lock:
            stream = self._streams.setdefault(key, _Stream(self._kind(key)))
            stream.open = False
        self._tell()

    def note(self, message: str) -> None:
        """Forward."""
        self.inner.note(message)

    # --- the forecast ---------------------------------------------------------------

    def status(self, *, finished: bool = False) -> Overall:
        """The run as it stands."""
        with self._lock:
            expected = None if self._sizing() else self.requests() + self._remaining()
            return Overall(
                requests=self.requests(),
                expected=expected,
                elapsed=self.clock() - self.started,
                ceiling=sustained_rate(self.rate_limit),
                finished=finished,
            )

    def finish(self) -> None:
        """The run is over: show it complete."""
        if isinstance(self.inner, ShowsOverall):
            self.inner.overall(self.status(finished=True))

    def _sizing(self) -> bool:
        streams = self._streams
        return any(key not in streams or streams[key].open for key in self._walks)

    def _remaining(self) -> int:
        """Requests still expected (the caller holds the lock)."""
        remaining = sum(self._anticipated.values())
        done: dict[str, int] = {}
        for key, stream in self._streams.items():
            if stream.kind is PerItem:
                name = key.split(":", 1)[0]
                done[name] = done.get(name, 0) + stream.items
            elif stream.total is not None:
                remaining += max(0, stream.total - stream.items, 1 if stream.open else 0)
            elif stream.open:
                remaining += 1  # a list or walk under way: its next page at least
        for name, items in self.queued.items():
            if self.kinds.get(name) is PerItem:
                remaining += max(0, len(items) - done.get(name, 0))
        return remaining

    def _kind(self, key: str) -> type | None:
        kind = self.kinds.get(key.split(":", 1)[0].removeprefix("verify-"))
        # The activity stream is read newest first too, under its own declaration.
        return NewestFirst if kind is DatedNewestFirst else kind

    def _tell(self) -> None:
        if isinstance(self.inner, ShowsOverall):
            self.inner.overall(self.status())


def anticipate_links(ctx: SyncContext, conn: Connection, selected: Iterable[str]) -> None:
    """Tell the run's :class:`Forecast` what the walks of tags' tickets will cost before
    they begin: a request per tag, and per further 100 tickets of a tag, the mirror
    holds, in the spaces whose walk is due (:func:`~.links.walk_due` decides, as it will
    then). Call it once the tags are listed."""
    forecast = ctx.progress
    if not isinstance(forecast, Forecast):
        return
    for stream in ctx.streams.values():
        if not isinstance(stream.listing, LinkWalk) or not ctx.mirrors(stream):
            continue
        requests = sum(
            archive.link_walk_size(conn, space_id)[1]
            for space_id in selected
            if links.walk_due(ctx, load_state(conn, stream.name, space_id))
        )
        forecast.anticipate(stream.name, requests)


def watch(ctx: SyncContext, rate_limit: RateLimit | None) -> Forecast:
    """Put a :class:`Forecast` between the run and its progress display; return it."""
    stats = ctx.client.stats
    forecast = Forecast(
        ctx.progress,
        requests=lambda: stats.requests,
        queued=ctx.queued,
        kinds={name: type(stream.listing) for name, stream in ctx.streams.items()},
        rate_limit=rate_limit,
    )
    ctx.progress = forecast
    return forecast


def expect(ctx: SyncContext, jobs: list[FetchJob]) -> list[FetchJob]:
    """``jobs``, announced to the run's :class:`Forecast` (walks among them size the run)."""
    if isinstance(ctx.progress, Forecast):
        ctx.progress.expect(job.name for job in jobs)
    return jobs
