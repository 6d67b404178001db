"""Terminal rendering of sync progress: one live line per resource, redrawn in place.

Used only when stderr is a terminal and ``--quiet`` is not given; otherwise the
sync runs with no progress output at all (cron mails stay clean).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

REDRAW_SECONDS = 0.1


@dataclass
class _Line:
    label: str
    rows: int = 0
    streams: int = 0
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    finished: bool = False


def resource_of(key: str) -> str:
    """``tickets:<space>`` and ``verify-tickets:<space>`` both count under ``tickets``."""
    name = key.split(":", 1)[0]
    return name.removeprefix("verify-")


class TerminalProgress:
    """A :class:`~assembla_mirror.sync.progress.Progress` that draws on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._lines: dict[str, _Line] = {}
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        """A stream starts (``label`` names it; ``total`` items when known)."""
        with self._lock:
            resource = resource_of(key)
            line = self._lines.get(resource)
            if line is None:
                line = self._lines[resource] = _Line(resource.replace("_", " "))
            line.streams += 1
            line.finished = False
            if total is not None:
                line.total = (line.total or 0) + total
            self._draw()

    def advance(self, key: str, items: int = 0) -> None:
        """Rows were written."""
        with self._lock:
            line = self._lines.get(resource_of(key))
            if line is None:
                line = self._lines[resource_of(key)] = _Line(resource_of(key).replace("_", " "))
            line.rows += items
            self._draw()

    def end(self, key: str) -> None:
        """A stream is complete."""
        with self._lock:
            line = self._lines.get(resource_of(key))
            if line is not None:
                line.done += 1
                line.finished = line.done >= line.streams
            self._draw(force=True)

    def note(self, message: str) -> None:
        """Print a message above the live lines."""
        with self._lock:
            self._clear()
            print(message, file=self.stream)
            self._draw(force=True)

    def close(self) -> None:
        """Leave the final state on screen."""
        with self._lock:
            self._draw(force=True)

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}A\x1b[J")
            self._drawn = 0

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        self._clear()
        for line in self._lines.values():
            self.stream.write(self._format(line, now) + "\n")
        self._drawn = len(self._lines)
        self.stream.flush()

    @staticmethod
    def _format(line: _Line, now: float) -> str:
        mark = "✓" if line.finished else "…"
        text = f" {mark} {line.label:<16} {line.rows:>9,} rows"
        if line.total:
            elapsed = now - line.started
            fraction = min(1.0, line.rows / line.total)
            text += f"  {fraction:6.1%} of {line.total:,}"
            if 0 < line.rows < line.total and elapsed > 1:
                remaining = elapsed / line.rows * (line.total - line.rows)
                text += f"  ETA {format_duration(remaining)}"
        elif line.streams > 1:
            text += f"  {line.done}/{line.streams} streams"
        return text


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``2h10m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
