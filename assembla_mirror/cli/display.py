"""Terminal rendering of sync progress.

:class:`TerminalProgress` keeps one live line per resource, redrawn in place
with cursor escape codes; :class:`PlainProgress` is for terminals that cannot
move the cursor (``TERM=dumb`` or unset: Emacs shells, some CI consoles) and
prints a line per finished stream, with no escape code at all. Either is used
only when stderr is a terminal and ``--quiet`` is not given; otherwise the sync
runs with no progress output (cron mails stay clean). Both print the sync's
notes as they come, wrapped between words at the terminal's width, and remember
them in ``shown_notes`` so the summary need not repeat them.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

from assembla_mirror.sync.overall import Overall
from assembla_mirror.sync.streams import progress_unit

REDRAW_SECONDS = 0.1


@dataclass
class _Line:
    label: str
    #: What ``rows`` counts: rows, or the tickets, tasks or files a stream went through.
    unit: str = "rows"
    rows: int = 0
    streams: int = 0
    done: int = 0
    total: int | None = None
    started: float = field(default_factory=time.monotonic)
    finished: bool = False


def terminal_width(stream: TextIO) -> int:
    """Columns of the terminal ``stream`` shows on: ``$COLUMNS`` when set (as for
    :func:`shutil.get_terminal_size`), else the terminal's own size, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        # The stream's own terminal, not stdout's: progress goes to stderr, and
        # stdout may be redirected to a file.
        width = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        width = 0
    return width or shutil.get_terminal_size().columns


def wrap_note(message: str, width: int) -> str:
    """``Note: message`` broken between words to fit ``width`` columns.

    The last column stays free: some terminals wrap as soon as it is written,
    which would add a blank line. A word longer than a line (a URL) is kept whole.
    """
    return textwrap.fill(
        f"Note: {message}",
        width=max(width - 1, 20),
        subsequent_indent="      ",
        break_long_words=False,
        break_on_hyphens=False,
    )


def resource_of(key: str) -> str:
    """``tickets:<space>`` and ``verify-tickets:<space>`` both count under ``tickets``."""
    name = key.split(":", 1)[0]
    return name.removeprefix("verify-")


class TerminalProgress:
    """A :class:`~assembla_mirror.sync.progress.Progress` that draws on a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        #: Notes printed so far, in order (the summary leaves them out).
        self.shown_notes: list[str] = []
        self._lines: dict[str, _Line] = {}
        self._drawn = 0
        self._last_draw = 0.0
        self._lock = threading.Lock()
        #: The whole run, drawn below the streams once the sync tells it.
        self._overall: Overall | None = None

    def overall(self, status: Overall) -> None:
        """The whole run's state: drawn as the last line (see :func:`format_overall`)."""
        with self._lock:
            self._overall = status
            self._draw(force=status.finished)

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        """A stream starts (``label`` names it; ``total`` items when known)."""
        with self._lock:
            resource = resource_of(key)
            line = self._lines.get(resource)
            if line is None:
                line = self._lines[resource] = _Line(
                    resource.replace("_", " "), progress_unit(resource)
                )
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
                resource = resource_of(key)
                line = self._lines[resource] = _Line(
                    resource.replace("_", " "), progress_unit(resource)
                )
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
        """Print a message above the live lines, wrapped at the terminal's width."""
        with self._lock:
            self._clear()
            print(wrap_note(message, terminal_width(self.stream)), file=self.stream)
            self.shown_notes.append(message)
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
        # A line longer than the terminal would wrap onto two rows, and the next
        # redraw, moving up one row per line, would leave its top behind.
        width = terminal_width(self.stream) - 1
        for line in self._lines.values():
            self.stream.write(self._format(line, now)[:width] + "\n")
        self._drawn = len(self._lines)
        if self._overall is not None:
            self.stream.write(format_overall(self._overall)[:width] + "\n")
            self._drawn += 1
        self.stream.flush()

    @staticmethod
    def _format(line: _Line, now: float) -> str:
        mark = "✓" if line.finished else "…"
        text = f" {mark} {line.label:<20} {line.rows:>9,} {line.unit}"
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


class PlainProgress:
    """Progress for a terminal that cannot move the cursor: a line per finished
    stream and the notes, never an escape code."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        #: Notes printed so far, in order (the summary leaves them out).
        self.shown_notes: list[str] = []
        self._labels: dict[str, str] = {}
        self._rows: dict[str, int] = {}
        self._lock = threading.Lock()
        #: The last tenth of the run announced (a line each: no cursor to redraw one).
        self._tenths = 0

    def overall(self, status: Overall) -> None:
        """Print the whole run's state each time another tenth of it is done, and at the end."""
        fraction = status.fraction
        if fraction is None:
            return
        with self._lock:
            # 100% waits for the run's end: the last requests may be still to come.
            tenths = min(int(fraction * 10), 9)
            if tenths > self._tenths or (status.finished and self._tenths < 11):
                self._tenths = 11 if status.finished else tenths
                self._print(format_overall(status))

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        """Remember the stream's label for its final line."""
        with self._lock:
            self._labels[key] = label

    def advance(self, key: str, items: int = 0) -> None:
        """Count the rows written."""
        with self._lock:
            self._rows[key] = self._rows.get(key, 0) + items

    def end(self, key: str) -> None:
        """Print the stream's line: its label and rows written."""
        with self._lock:
            label = self._labels.get(key, key)
            unit = progress_unit(resource_of(key))
            self._print(f"done: {label}, {self._rows.get(key, 0):,} {unit}")

    def note(self, message: str) -> None:
        """Print a message, wrapped at the terminal's width."""
        with self._lock:
            self._print(wrap_note(message, terminal_width(self.stream)))
            self.shown_notes.append(message)

    def close(self) -> None:
        """Nothing is left to print: every line is final when printed."""

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


def format_overall(status: Overall) -> str:
    """The overall line: ``overall 37% · ~4 min left · 312 of ~843 requests``.

    While the walks are still sizing the run (Assembla tells no counts), only the
    requests made so far: a percentage then would be made up.
    """
    if status.finished:
        return f" ✓ overall 100% · {status.requests:,} requests in {format_age(status.elapsed)}"
    fraction = status.fraction
    if fraction is None or status.expected is None:
        return f" … overall: sizing the account · {status.requests:,} requests so far"
    parts = [f" … overall {fraction:.0%}"]
    left = status.seconds_left
    if left is not None:
        parts.append(f"{format_left(left)} left")
    parts.append(f"{status.requests:,} of ~{status.expected:,} requests")
    return " · ".join(parts)


def format_left(seconds: float) -> str:
    """A rough time left: ``~40s``, ``~4 min``, ``~2h 10m`` (an estimate: no false precision)."""
    if seconds < 90:
        return f"~{max(1, round(seconds))}s"
    if seconds < 90 * 60:
        return f"~{round(seconds / 60)} min"
    minutes = round(seconds / 60)
    return f"~{minutes // 60}h {minutes % 60:02d}m"


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s`` or ``2h10m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


#: The units :func:`format_age` names, largest first, in seconds.
AGE_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def format_age(seconds: float) -> str:
    """``45s``, ``2m 5s``, ``3h 12m``, ``2h`` or ``1d 3h``: the two largest units, zeros
    left out."""
    left = max(int(seconds), 0)
    counts: list[tuple[int, str]] = []
    for unit, size in AGE_UNITS:
        count, left = divmod(left, size)
        counts.append((count, unit))
    first = next((i for i, (count, _) in enumerate(counts) if count), len(counts) - 1)
    return " ".join(f"{count}{unit}" for count, unit in counts[first : first + 2] if count) or "0s"
