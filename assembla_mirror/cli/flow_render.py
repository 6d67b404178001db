"""How the flow reports read in a terminal: tables that fit its width, a ticket's story.

The cumulative flow has a column per status, which a long workflow would push
past the edge: :func:`flow_text` cuts the status headings (spelling them out
under the table) and, if that is not enough, shows consecutive statuses in
several tables. :func:`timeline_text` lays a ticket's changes and stays out in
two tables, cutting long values to the width.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from assembla_mirror.cli.render import display_width, fill, table
from assembla_mirror.cli.use import clip
from assembla_mirror.read.reports.flow import CYCLE_STATS, CycleReport, FlowReport
from assembla_mirror.read.reports.timeline import Timeline

#: The narrowest a status column's heading is cut to when the table must shrink, and
#: the widest it is left when the table is too wide anyway (and split in several).
NARROWEST, WIDEST = 4, 12


def flow_text(report: FlowReport, width: int = 80) -> str:
    """The flow as a table no wider than ``width``: status headings are cut (and spelled
    out under the table) when the columns do not fit, and a workflow too long even then
    is shown in several tables of consecutive statuses."""
    if not report.rows:
        return f"{report.title}\n\n(no rows)"
    headings = list(report.columns)
    cells = [[_cell(value) for value in row] for row in report.rows]
    needs = [max(len(cell[i]) for cell in cells) for i in range(len(headings))]
    shown = _fit(headings, needs, width)
    parts = []
    for block in _blocks(shown, needs, width):
        parts.append(
            table(
                [shown[i] for i in block],
                [[row[i] for i in block] for row in report.rows],
                width=None,  # laid out for ``width`` already: never re-wrapped
            )
        )
    cut = [f"{short} {full}" for short, full in zip(shown, headings, strict=True) if short != full]
    lines = [fill(report.title, width), "", "\n\n".join(parts)]
    if cut:
        lines += ["", fill("Columns: " + "; ".join(cut), width)]
    return "\n".join(lines)


def _width(shown: list[str], needs: list[int]) -> int:
    """Terminal columns a table with these headings takes."""
    sizes = [max(display_width(h), n) for h, n in zip(shown, needs, strict=True)]
    return sum(sizes) + 2 * (len(sizes) - 1)


def _fit(headings: list[str], needs: list[int], width: int) -> list[str]:
    """Status headings cut, longest first, until the table fits ``width``; when it cannot
    fit even then, cut to :data:`WIDEST` only (it will be shown in several tables)."""
    shown = list(headings)
    while _width(shown, needs) > width:
        shrinkable = [
            i
            for i in range(1, len(shown) - 1)  # the day and the total keep their names
            if display_width(shown[i]) > max(NARROWEST, needs[i])
        ]
        if not shrinkable:
            last = len(headings) - 1
            return [h if i in (0, last) else cut(h, WIDEST) for i, h in enumerate(headings)]
        longest = max(shrinkable, key=lambda i: display_width(shown[i]))
        shown[longest] = cut(headings[longest], display_width(shown[longest]) - 1)
    return shown


def cut(text: str, width: int) -> str:
    """``text`` shortened with an ellipsis to at most ``width`` terminal columns."""
    if display_width(text) <= width:
        return text
    kept = ""
    for char in text:
        if display_width(kept + char) > width - 1:
            break
        kept += char
    return kept.rstrip() + "…"


def _blocks(shown: list[str], needs: list[int], width: int) -> list[list[int]]:
    """Column indexes per table: the day column in each, statuses while they fit."""
    sizes = [max(display_width(h), n) for h, n in zip(shown, needs, strict=True)]
    blocks: list[list[int]] = [[0]]
    used = sizes[0]
    for i in range(1, len(shown)):
        if used + 2 + sizes[i] > width and len(blocks[-1]) > 1:
            blocks.append([0])
            used = sizes[0]
        blocks[-1].append(i)
        used += 2 + sizes[i]
    return blocks


def cycle_text(report: CycleReport, width: int = 80) -> str:
    """The groups under two headings (cycle time, lead time: median and 85th percentile
    each), their labels cut to fit ``width``, and a line for all the tickets."""
    if not report.rows:
        return f"{fill(report.title, width)}\n\n(no tickets closed)"
    labels = report.columns[: report.columns.index("closed")]
    headings = (*labels, "closed", "median", "p85", "median", "p85")
    numbers = [[_cell(value) for value in row[len(labels) :]] for row in report.rows]
    sizes = [
        max(len(heading), *(len(row[i]) for row in numbers))
        for i, heading in enumerate(headings[len(labels) :])
    ]
    room = width - sum(sizes) - 2 * (len(headings) - 1)
    widths = _label_widths(report, labels, room)
    rows = [
        [clip(row[i], widths[i]) for i in range(len(labels))] + list(row[len(labels) :])
        for row in report.rows
    ]
    body = table(headings, rows, width=None)  # its labels are cut to fit already
    dashes = [(m.start(), m.end()) for m in re.finditer(r"-+", body.split("\n")[1])]
    groups = ""
    for first, name in ((-4, "cycle time"), (-2, "lead time")):
        start, end = dashes[first][0], dashes[first + 1][1]
        groups = groups.ljust(start) + name.center(end - start).rstrip()
    overall = report.overall()
    stats = ", ".join(
        f"{name.replace('_', ' ')} {'-' if overall[name] is None else f'{overall[name]:.2f}'}"
        for name in CYCLE_STATS
    )
    footer = f"All {overall['closed']:,} closed tickets, in days: {stats}"
    return "\n".join([fill(report.title, width), "", groups, body, "", fill(footer, width)])


def _label_widths(report: CycleReport, labels: Sequence[str], room: int) -> list[int]:
    """How wide each label column may be: ``room`` shared, the last label (a milestone,
    a person) getting what the first (a space) does not need."""
    longest = [max(display_width(str(v)) for v in report.column(name)) for name in labels]
    longest = [max(size, len(name)) for size, name in zip(longest, labels, strict=True)]
    if len(labels) == 1:
        return [max(room, 12)]
    first = min(longest[0], max(room // 3, 8))
    return [first, max(room - first - 2, 12)]


def _cell(value: Any) -> str:
    """A number as :func:`~assembla_mirror.cli.render.table` shows it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def timeline_text(timeline: Timeline, width: int = 80) -> str:
    """The ticket's heading, its changes and its stays, no wider than ``width``."""
    ticket = timeline.ticket
    lines = [clip(timeline.title, width)]
    now = f"now {ticket['status']} ({'open' if ticket['state'] == 1 else 'closed'})"
    if ticket["deleted"]:
        now = f"DELETED upstream (found {_when(ticket['deleted_at'])}), last {ticket['status']}"
    lines += [f"{now}; times UTC", ""]
    rows = []
    for event in timeline.events.records():
        who = event["who"] or (f"({event['source']})" if event["source"] else "")
        if event["field"] == "created":
            change = event["new"]
        elif event["field"] == "deleted":
            change = "deleted upstream"
        else:
            change = f"{event['old']} -> {event['new']}"
        rows.append([_when(event["when"]), clip(who, 18), clip(event["field"], 14), change])
    room = width - 16 - 2 - max(display_width(row[1]) for row in rows) - 2
    room -= max(4, max(display_width(row[2]) for row in rows)) + 2
    for row in rows:
        row[3] = clip(row[3], max(room, 12))
    lines.append(table(("when", "who", "field", "change"), rows, width=None))
    stays = [
        (
            record["stay"],
            clip(record["status"], 24),
            {1: "open", 0: "closed"}.get(record["state"], ""),
            _when(record["started_at"]),
            _when(record["ended_at"]) or ("(deleted)" if ticket["deleted"] else "(now)"),
            duration(record["hours"]),
        )
        for record in timeline.stays.records()
    ]
    lines += ["", "Stays in each status", ""]
    lines.append(table(("stay", "status", "state", "from", "to", "for"), stays, width=None))
    return "\n".join(lines)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def duration(hours: float | None) -> str:
    """Hours as a person reads a span: ``3d 4h``, ``5h 20m``, ``45m``."""
    if hours is None:
        return ""
    minutes = round(hours * 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours_left, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours_left}h"
    return f"{hours_left}h {minutes:02d}m" if hours_left else f"{minutes}m"
