"""The cumulative flow diagram as a self-contained SVG: stacked areas, no dependency.

Each status is a band whose height on a day is the number of tickets in that
status at the end of the day. The bands are stacked in reverse workflow order,
so the finished work lies at the bottom and grows upward, and the first
statuses (the backlog) ride on top, as cumulative flow diagrams are read.
Closed statuses are drawn in greens and greys, open ones in distinct colours;
the legend lists the statuses from the top band down, and each band has a
tooltip (``<title>``). The frame, fonts, axis ticks and the empty chart are
those of :mod:`assembla_mirror.read.charts`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from xml.sax.saxutils import escape

from assembla_mirror.read.charts import (
    GRID,
    INK,
    MUTED,
    empty_chart,
    nice_ticks,
    number,
    shorten,
    svg_document,
    text_width,
)

#: Colours of open statuses, then of closed ones, in workflow order.
OPEN_COLOURS = (
    "#3b6ea8",
    "#e08a2c",
    "#8e5ea2",
    "#c0504d",
    "#2a9d8f",
    "#d4a72c",
    "#5b7083",
    "#b56576",
    "#4f9bd9",
    "#9c755f",
)
CLOSED_COLOURS = ("#6aa84f", "#a0a8b0", "#38761d", "#93c47d", "#cfd8dc", "#708090")

Series = Sequence[tuple[str, Sequence[int]]]


def colours(statuses: Sequence[str], closed: Collection[str]) -> dict[str, str]:
    """A colour per status: open ones from one palette, closed ones from another."""
    picked: dict[str, str] = {}
    opened = shut = 0
    for status in statuses:
        if status in closed:
            picked[status] = CLOSED_COLOURS[shut % len(CLOSED_COLOURS)]
            shut += 1
        else:
            picked[status] = OPEN_COLOURS[opened % len(OPEN_COLOURS)]
            opened += 1
    return picked


def flow_chart(
    title: str,
    labels: Sequence[str],
    series: Series,
    *,
    closed: Collection[str] = (),
    note: str = "tickets per status at the end of each day (UTC)",
) -> str:
    """Stacked areas of ``series`` ((status, counts per label), in workflow order) over
    ``labels`` (days or weeks, left to right); ``note`` goes under the title."""
    if not labels or not series or not any(any(counts) for _s, counts in series):
        return empty_chart(title)
    left, top, plot_width, plot_height = 64.0, 76.0, 720.0, 320.0
    count = len(labels)
    step = plot_width / max(count - 1, 1)
    xs = [left + i * step for i in range(count)] if count > 1 else [left, left + plot_width]
    totals = [sum(counts[i] for _s, counts in series) for i in range(count)]
    ticks = nice_ticks(max(totals))
    scale = plot_height / ticks[-1]
    base = top + plot_height
    legend_left = left + plot_width + 24
    names = [shorten(status, 28) for status, _c in series]
    width = legend_left + 22 + max(text_width(name) for name in names) + 16
    width = max(width, text_width(title, 16) + 32)
    label_room = max(text_width(label) for label in labels) * 0.75 + 16
    height = max(base + label_room + 12, top + 22 * len(series) + 24)
    body = _grid(ticks, scale, base, left, left + plot_width)
    palette = colours([status for status, _c in series], closed)
    below = [0] * count
    bands = []
    for status, counts in reversed(series):  # bottom band first: the end of the workflow
        above = [b + c for b, c in zip(below, counts, strict=True)]
        bands.append((status, _band(xs, below, above, base, scale), counts))
        below = above
    for status, points, counts in bands:
        tip = f"{status}: up to {number(max(counts))} tickets, {number(counts[-1])} at the end"
        body.append(
            f'<polygon points="{points}" fill="{palette[status]}" fill-opacity="0.9" '
            f'stroke="#ffffff" stroke-width="0.5"><title>{escape(tip)}</title></polygon>'
        )
    body += _time_axis(labels, xs, base, step)
    body.append(
        f'<line x1="{left:.1f}" y1="{base:.1f}" x2="{left + plot_width:.1f}" y2="{base:.1f}" '
        f'stroke="{MUTED}"/>'
    )
    for i, ((status, _counts), name) in enumerate(zip(series, names, strict=True)):
        y = top + i * 22
        body.append(
            f'<rect x="{legend_left:.1f}" y="{y:.1f}" width="14" height="14" rx="2" '
            f'fill="{palette[status]}"><title>{escape(status)}</title></rect>'
        )
        body.append(
            f'<text x="{legend_left + 22:.1f}" y="{y + 12:.1f}" fill="{INK}">{escape(name)}</text>'
        )
    body.append(f'<text x="16" y="{top - 10:.1f}" fill="{MUTED}">tickets</text>')
    body.append(
        f'<text x="16" y="46" fill="{MUTED}">{escape(note)}; '
        f"{number(totals[-1])} tickets on {escape(labels[-1])}</text>"
    )
    return svg_document(width, height, title, body)


def _band(
    xs: Sequence[float], below: Sequence[int], above: Sequence[int], base: float, scale: float
) -> str:
    """The outline of one band: along its top left to right, back along its bottom."""
    tops, bottoms = list(above), list(below)
    if len(xs) > len(tops):  # a single day: stretched across the plot
        tops, bottoms = tops * 2, bottoms * 2
    upper = [f"{x:.1f},{base - value * scale:.1f}" for x, value in zip(xs, tops, strict=True)]
    lower = [f"{x:.1f},{base - value * scale:.1f}" for x, value in zip(xs, bottoms, strict=True)]
    return " ".join(upper + lower[::-1])


def _grid(
    ticks: Sequence[float], scale: float, base: float, left: float, right: float
) -> list[str]:
    body = []
    for tick in ticks:
        y = base - tick * scale
        body.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="{GRID}"/>'
        )
        body.append(
            f'<text x="{left - 8:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{number(tick)}</text>"
        )
    return body


def _time_axis(labels: Sequence[str], xs: Sequence[float], base: float, step: float) -> list[str]:
    """Labels under the plot, thinned to about one per 28 pixels, the last always shown."""
    last = len(labels) - 1
    every = max(1, math.ceil(28.0 / step)) if last else 1
    shown = list(range(0, last + 1, every))
    if shown[-1] != last:
        if last - shown[-1] < every / 2 and len(shown) > 1:
            shown[-1] = last  # too close to its neighbour: the last day replaces it
        else:
            shown.append(last)
    body = []
    for i in shown:
        cx, cy = xs[i], base + 12
        body.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" text-anchor="end" fill="{INK}" '
            f'transform="rotate(-45 {cx:.1f} {cy:.1f})">{escape(labels[i])}</text>'
        )
    return body
