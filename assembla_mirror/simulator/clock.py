"""A controllable UTC clock: real time plus an offset, which tests can advance or freeze."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


def _whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


class Clock:
    """The simulator's notion of "now": aware UTC datetimes with whole seconds.

    By default it follows the wall clock shifted by an offset. :meth:`advance`
    moves it forward, :meth:`freeze` stops it (so several changes can share one
    second) and :meth:`unfreeze` lets it run on from where it stood.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._offset = offset
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        """The current simulated instant (aware UTC, microseconds cut off)."""
        with self._lock:
            if self._frozen is not None:
                return self._frozen
            return _whole_seconds(datetime.fromtimestamp(time.time() + self._offset, UTC))

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (frozen or not)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen = _whole_seconds(self._frozen + timedelta(seconds=seconds))
            else:
                self._offset += seconds

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at ``at`` (default: the current instant) and return that instant."""
        moment = _whole_seconds(at) if at is not None else self.now()
        with self._lock:
            self._frozen = moment
        return moment

    def unfreeze(self) -> None:
        """Let the clock run again, continuing from the instant it was frozen at."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen.timestamp() - time.time()
                self._frozen = None
