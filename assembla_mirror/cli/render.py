"""Plain-text rendering helpers shared by the commands."""

from __future__ import annotations

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


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], *, width: int | None = None
) -> str:
    """Align ``rows`` under ``headers``; numbers right-aligned, text left-aligned.

    With ``width`` (a terminal's columns), a last column of text that would run past it
    is wrapped between words onto lines of its own, under that column: the terminal
    would otherwise break it mid-word at its edge.
    """
    cells = [[_cell(value) for value in row] for row in rows]
    numeric = [
        bool(rows) and all(isinstance(row[i], int | float) or row[i] is None for row in rows)
        for i in range(len(headers))
    ]
    last = len(headers) - 1
    lead = sum(_widths(headers, cells)[:last]) + 2 * last
    room = None if width is None or numeric[last] else max(width - 1 - lead, 20)
    if room is not None:
        cells = [
            [*row[:last], *(_wrapped(row[last], room) or [""])[:1]] for row in cells
        ]  # the first line of each; the rest follow below
    widths = _widths(headers, cells)

    def line(values: Sequence[str]) -> str:
        parts = [
            _pad(value, width, right=right)
            for value, width, right in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * width for width in widths])]
    for row, values in zip(cells, rows, strict=True):
        out.append(line(row))
        if room is not None:
            out += [" " * lead + more for more in _wrapped(_cell(values[last]), room)[1:]]
    return "\n".join(out)


def _widths(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> list[int]:
    return [
        max([display_width(header), *(display_width(row[i]) for row in cells)])
        for i, header in enumerate(headers)
    ]


def _wrapped(text: str, room: int) -> list[str]:
    """``text`` broken between words into lines of at most ``room`` columns (a longer
    word, say a URL, kept whole)."""
    return textwrap.wrap(text, width=room, break_long_words=False, break_on_hyphens=False)


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
