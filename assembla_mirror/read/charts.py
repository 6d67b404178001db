"""Bar charts as self-contained SVG (or an HTML page around one), with no dependency.

Two shapes: :func:`bar_chart` draws horizontal bars, which leave room for long
labels (spaces, people, milestones, tickets), biggest first; :func:`column_chart`
draws a time series (weeks) left to right. Both have a title, a value axis with
round ticks and gridlines, the value at the end of each bar where there is room,
and a tooltip (``<title>``) on every bar. Text is escaped; labels in any script
are kept, and long ones are shortened with an ellipsis (the tooltip keeps them whole).
"""

from __future__ import annotations

import math
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from assembla_mirror.errors import ConfigError, StorageError

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif"
BAR = "#3b6ea8"
MUTED = "#8a94a0"
GRID = "#e3e7ec"
INK = "#1f2933"
FONT_SIZE = 12
MAX_LABEL = 40
CHART_SUFFIXES = (".svg", ".html", ".htm")

Points = Sequence[tuple[str, float]]


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Approximate rendered width: wide (CJK) characters count double."""
    units = sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.58 for c in text)
    return units * size


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of 10)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def number(value: float) -> str:
    """A value as a label: no trailing zeros, thousands separated."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def lump(points: Points, keep: int) -> list[tuple[str, float]]:
    """The ``keep`` biggest points, then one summing the rest (so totals stay right)."""
    ordered = sorted(points, key=lambda point: -point[1])
    if len(ordered) <= keep:
        return list(ordered)
    rest = ordered[keep - 1 :]
    return [*ordered[: keep - 1], (f"{len(rest)} others", sum(value for _, value in rest))]


def svg_document(width: float, height: float, title: str, body: list[str]) -> str:
    """A whole SVG image: ``body`` under a title, on white, in the charts' font."""
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label={quoteattr(title)} '
            f'font-family={quoteattr(FONT)} font-size="{FONT_SIZE}">',
            f"<title>{escape(title)}</title>",
            '<rect width="100%" height="100%" fill="#ffffff"/>',
            f'<text x="16" y="26" font-size="16" font-weight="600" fill="{INK}">'
            f"{escape(title)}</text>",
            *body,
            "</svg>",
        ]
    )


def empty_chart(title: str) -> str:
    """The image of a chart with nothing to draw."""
    return svg_document(
        480,
        90,
        title,
        [f'<text x="16" y="62" fill="{MUTED}">Nothing to show for this selection.</text>'],
    )


def bar_chart(
    title: str, points: Points, *, unit: str = "h", keep: int = 25, additive: bool = True
) -> str:
    """Horizontal bars, biggest first; beyond ``keep`` bars the rest are summed into one.

    Values that do not add up (``additive`` False: medians ...) get no total, and
    every bar is drawn, since a sum of the rest would mean nothing.
    """
    if not points:
        return empty_chart(title)
    rows = lump(points, keep) if additive else sorted(points, key=lambda point: -point[1])
    labels = [shorten(label) for label, _ in rows]
    left = 16 + max(text_width(label) for label in labels) + 10
    plot = 520.0
    top, row_height = 50.0, 24.0
    ticks = nice_ticks(max(value for _, value in rows))
    scale = plot / ticks[-1]
    height = top + row_height * len(rows) + 36
    width = left + plot + 70
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 6:.1f}" x2="{x:.1f}" '
            f'y2="{top + row_height * len(rows):.1f}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{x:.1f}" y="{height - 16:.1f}" text-anchor="middle" fill="{MUTED}">'
            f"{number(tick)}</text>"
        )
    for i, ((full, value), label) in enumerate(zip(rows, labels, strict=True)):
        y = top + i * row_height
        length = max(value * scale, 0.0)
        body.append(
            f'<text x="{left - 8:.1f}" y="{y + 16:.1f}" text-anchor="end" fill="{INK}">'
            f"{escape(label)}</text>"
        )
        body.append(
            f'<rect x="{left:.1f}" y="{y + 4:.1f}" width="{length:.1f}" '
            f'height="{row_height - 8:.1f}" rx="2" fill="{BAR}">'
            f"<title>{escape(full)}: {number(value)} {escape(unit)}</title></rect>"
        )
        body.append(
            f'<text x="{left + length + 6:.1f}" y="{y + 16:.1f}" fill="{INK}">'
            f"{number(value)}</text>"
        )
    if additive:
        body.append(_total(points, width, unit))
    return svg_document(width, height, title, body)


def _total(points: Points, width: float, unit: str) -> str:
    """The sum of ``points``, at the top right of a chart ``width`` wide."""
    total = sum(value for _, value in points)
    return (
        f'<text x="{width - 16:.1f}" y="26" text-anchor="end" fill="{MUTED}">'
        f"total {number(total)} {escape(unit)}</text>"
    )


def column_chart(title: str, points: Points, *, unit: str = "h", additive: bool = True) -> str:
    """Vertical bars in the given order (a time series); labels thinned out to stay legible.
    A total is shown for ``additive`` values only."""
    if not points:
        return empty_chart(title)
    slot = max(8.0, min(40.0, 900.0 / len(points)))
    left, top, plot_height = 64.0, 62.0, 260.0
    width = left + slot * len(points) + 24
    width = max(width, 420.0)
    label_room = max(text_width(label) for label, _ in points) * 0.75 + 16
    height = top + plot_height + label_room + 12
    ticks = nice_ticks(max(value for _, value in points))
    scale = plot_height / ticks[-1]
    base = top + plot_height
    every = max(1, math.ceil(14.0 / slot))  # about one label per 14 px
    body = []
    for tick in ticks:
        y = base - tick * scale
        body.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - 16:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{left - 8:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{number(tick)}</text>"
        )
    body.append(f'<text x="16" y="{top - 10:.1f}" fill="{MUTED}">{escape(unit)}</text>')
    for i, (label, value) in enumerate(points):
        x = left + i * slot
        bar_height = max(value * scale, 0.0)
        body.append(
            f'<rect x="{x + slot * 0.12:.1f}" y="{base - bar_height:.1f}" '
            f'width="{slot * 0.76:.1f}" height="{bar_height:.1f}" fill="{BAR}">'
            f"<title>{escape(label)}: {number(value)} {escape(unit)}</title></rect>"
        )
        if i % every == 0:
            cx, cy = x + slot / 2, base + 12
            body.append(
                f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" fill="{INK}" '
                f'transform="rotate(-45 {cx:.1f} {cy:.1f})">{escape(shorten(label))}</text>'
            )
    body.append(
        f'<line x1="{left:.1f}" y1="{base:.1f}" x2="{width - 16:.1f}" y2="{base:.1f}" '
        f'stroke="{MUTED}"/>'
    )
    if additive:
        body.append(_total(points, width, unit))
    return svg_document(width, height, title, body)


def html_page(title: str, svg: str) -> str:
    """A minimal HTML page showing ``svg`` (opens in any browser, prints well)."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>\n'
        "<style>body{margin:2rem;background:#f6f8fa}"
        "figure{margin:0;display:inline-block;background:#fff;padding:1rem;"
        "border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}</style></head>\n"
        f"<body><figure>\n{svg}\n</figure></body></html>\n"
    )


def check_chart_path(path: str | Path) -> Path:
    """``path`` if a chart can be written there, else a clear :class:`ConfigError`.

    Its suffix must be a format we write (.svg, .html), and its directory must
    exist and be writable: checked before any work, so a report is not computed
    only to fail at the end.
    """
    path = Path(path)
    if path.suffix.lower() not in CHART_SUFFIXES:
        raise ConfigError(
            f"cannot write a chart as {path.suffix or 'a file without suffix'}: name it "
            f"{path.with_suffix('.svg').name} (an image) or {path.with_suffix('.html').name} "
            "(a page); both open in any browser"
        )
    directory = path.parent
    if not directory.is_dir():
        state = "is not a directory" if directory.exists() else "does not exist"
        raise ConfigError(f"cannot write the chart {path}: the directory {directory} {state}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write the chart {path}: the directory {directory} is read-only")
    return path


def write_chart(
    path: str | Path,
    title: str,
    points: Points,
    *,
    series: bool,
    unit: str = "h",
    additive: bool = True,
) -> Path:
    """Write a chart of ``points`` to ``path`` (.svg or .html); ``series`` for a time axis,
    ``additive`` False for values a total would not mean anything for (medians)."""
    if series:
        svg = column_chart(title, points, unit=unit, additive=additive)
    else:
        svg = bar_chart(title, points, unit=unit, additive=additive)
    return save_chart(path, title, svg)


def save_chart(path: str | Path, title: str, svg: str) -> Path:
    """Write the image ``svg`` to ``path``: as it is (.svg), or in a page (.html)."""
    path = check_chart_path(path)
    content = svg if path.suffix.lower() == ".svg" else html_page(title, svg)
    try:
        path.write_text(content if content.endswith("\n") else content + "\n", encoding="utf-8")
    except OSError as exc:  # a full disk, a read-only target, a file in the way ...
        raise StorageError(
            f"cannot write the chart {path}: {exc.strerror or exc}", path=str(path)
        ) from None
    return path
