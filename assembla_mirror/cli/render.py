"""Plain-text rendering helpers shared by the commands."""

from __future__ import annotations

import shutil
import sys
import textwrap
import unicodedata
from collections.abc import Sequence
from typing import Any


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int, *, right: bool) -> str:
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


#: ``table(width=...)``'s default: the terminal's width when stdout is one, else no limit.
AUTO = -1
#: The fewest columns :func:`hanging` wraps text into, however deep its indent.
MIN_ROOM = 20


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int | None = AUTO
) -> str:
    """Align ``rows`` under ``headers``; numbers right-aligned, text left-aligned.

    With a ``width`` (a terminal's columns; by default stdout's when it is a
    terminal, none when piped), a table that would run past it has its widest
    columns of text narrowed, each cell wrapped between words onto lines of its
    own under its column: the terminal would otherwise break lines mid-word at
    its edge. Numbers are never wrapped, and a word longer than its column (a
    URL) is kept whole, so a table of such cells may still be wider.
    """
    limit = _limit(width)
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        bool(rows) and all(isinstance(row[i], int | float) or row[i] is None for row in rows)
        for i in range(len(headers))
    ]
    heads = list(headers)
    widths = _widths(heads, cells)
    if limit is not None:
        widths = _fit(widths, [heads, *cells], numeric, limit)

    def lines(values: Sequence[str]) -> list[str]:
        parts = [
            _wrapped(value, size) if display_width(value) > size else [value]
            for value, size in zip(values, widths, strict=True)
        ]
        return [
            "  ".join(
                _pad(part[row] if row < len(part) else "", size, right=right)
                for part, size, right in zip(parts, widths, numeric, strict=True)
            ).rstrip()
            for row in range(max(len(part) for part in parts))
        ]

    out = [*lines(heads), "  ".join("-" * size for size in widths)]
    for row in cells:
        out += lines(row)
    return "\n".join(out)


def fill(text: str, width: int, *, first: str = "", indent: str = "", floor: int = 20) -> str:
    """``first`` and ``text`` broken between words to fit a terminal ``width`` columns wide,
    the last column left free (some terminals wrap as soon as it is written), later lines
    indented by ``indent``; never less than ``floor`` columns. Never inside a word: not at
    a hyphen (a date, ``2025-12-09``), and a word longer than a line (a URL) is kept whole."""
    return textwrap.fill(
        text,
        width=max(width - 1, floor),
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def hanging(text: str, indent: str, *, first: str = "", width: int | None = AUTO) -> str:
    """``first`` then ``text``, broken between words to fit the terminal (``width``: as
    for :func:`table`), its later lines indented by ``indent``; one line, as given, when
    not on a terminal (piped output stays a line per item, for grep)."""
    limit = _limit(width)
    if limit is None:
        return first + text
    head, *rest = _wrapped(text, max(limit - display_width(first), MIN_ROOM))
    room = max(limit - display_width(indent), MIN_ROOM)
    return "\n".join([first + head, *(indent + line for line in _wrapped(" ".join(rest), room))])


def _limit(width: int | None) -> int | None:
    """The columns a table may take: one less than the terminal's (some terminals wrap
    as soon as the last column is written)."""
    if width == AUTO:
        if not sys.stdout.isatty():
            return None
        width = shutil.get_terminal_size().columns
    return None if width is None else width - 1


def _fit(
    widths: list[int], cells: Sequence[Sequence[str]], numeric: list[bool], limit: int
) -> list[int]:
    """Column widths that fit ``limit`` columns where they can: the widest column of text
    is narrowed first, never below its longest word."""
    widths = list(widths)
    floors = [
        max((display_width(word) for row in cells for word in row[i].split()), default=0)
        for i in range(len(widths))
    ]
    while (excess := sum(widths) + 2 * (len(widths) - 1) - limit) > 0:
        narrowable = [
            i for i in range(len(widths)) if not numeric[i] and widths[i] > max(floors[i], 1)
        ]
        if not narrowable:
            break
        widest = max(narrowable, key=lambda i: widths[i])
        widths[widest] = max(floors[widest], 1, widths[widest] - excess)
    return widths


def _widths(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    return [
        max([display_width(header), *(display_width(row[i]) for row in cells)])
        for i, header in enumerate(headers)
    ]


def _wrapped(text: str, room: int) -> list[str]:
    """``text`` broken between words into lines of at most ``room`` columns, counted as
    the terminal does (wide characters take two); a longer word, say a URL, kept whole."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and display_width(current) + 1 + display_width(word) > room:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return [*lines, current] if current or not lines else lines


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """``rows`` as a Markdown (GitHub) table: numbers right-aligned, ``|`` escaped, line
    breaks folded, so that it pastes into an issue, a wiki page or a chat as it is."""
    numeric = [
        bool(rows) and all(isinstance(row[i], int | float) or row[i] is None for row in rows)
        for i in range(len(headers))
    ]

    def cell(value: Any) -> str:
        return " ".join(_cell(value).split()).replace("|", "\\|")

    lines = ["| " + " | ".join(cell(header) for header in headers) + " |"]
    lines.append("|" + "|".join("---:" if right else "---" for right in numeric) + "|")
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)
