"""Progress reporting from a sync to whoever displays it.

The library only calls a :class:`Progress`; the CLI supplies a terminal
renderer, tests and ``Mirror.sync()`` can pass their own or none.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress of a sync. Keys identify one stream, e.g. ``tickets:<space id>``."""

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        """A stream starts; ``total`` (items) is given when known, for an ETA."""

    def advance(self, key: str, items: int = 0) -> None:
        """A page (or item) of ``items`` rows of the stream was written."""

    def end(self, key: str) -> None:
        """The stream is complete."""

    def note(self, message: str) -> None:
        """A one-off message worth showing (e.g. a skipped resource and why)."""


class NullProgress:
    """Progress that shows nothing."""

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        """Ignore."""

    def advance(self, key: str, items: int = 0) -> None:
        """Ignore."""

    def end(self, key: str) -> None:
        """Ignore."""

    def note(self, message: str) -> None:
        """Ignore."""
