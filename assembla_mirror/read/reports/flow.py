"""How work flowed: the cumulative flow diagram, and cycle and lead times.

Both read the history views (``cumulative_flow``, ``ticket_flow``), which the
mirror derives from every ticket's recorded changes; so they are as exact as
the history is (see ``mirror sync --with comments``).

* :func:`cumulative_flow`: per day (or week) how many tickets were in each
  status at the end of that day, statuses in the space's workflow order
  (``ticket_statuses.list_order``). Several spaces are summed status by status
  name (see :func:`workflow_order`).
* :func:`cycle_time`: per week closed, milestone or assignee, the tickets closed
  and the median and 85th percentile of their cycle time (from leaving the
  first status to closing) and lead time (from creation to closing), in days.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError
from assembla_mirror.read.reports.common import Report, check_days, range_title, resolve_spaces
from assembla_mirror.read.reports.hours import week_start
from assembla_mirror.store.flow_reports import closed_flow_rows, cumulative_rows, workflow_rows

__all__ = [
    "CYCLE_BY",
    "CYCLE_STATS",
    "FLOW_BY",
    "CycleReport",
    "FlowReport",
    "cumulative_flow",
    "cycle_time",
    "percentile",
    "workflow_order",
]

#: Rows of the cumulative flow: one per day, or one per week (its Monday).
FLOW_BY = ("day", "week")
#: The groupings of :func:`cycle_time`.
CYCLE_BY = ("week", "milestone", "assignee")
#: Beyond this many days, the flow is shown per week unless asked otherwise.
DAYS_SHOWN = 42

CYCLE_STATS = ("cycle_median", "cycle_p85", "lead_median", "lead_p85")


@dataclass(frozen=True)
class FlowReport(Report):
    """Tickets per status at the end of each day (or week): columns ``day`` (or
    ``week``), the statuses in workflow order, then ``total``."""

    statuses: tuple[str, ...] = ()
    #: Statuses whose state is closed (0) in the spaces' workflows.
    closed: frozenset[str] = frozenset()
    by: str = "day"
    #: The days and spaces covered, as the title says them.
    span: str = ""

    def series(self) -> list[tuple[str, list[int]]]:
        """(status, counts by row) for each status, in workflow order: a chart's bands."""
        return [(status, [int(v) for v in self.column(status)]) for status in self.statuses]

    def labels(self) -> list[str]:
        """The rows' days (or weeks' Mondays) as text."""
        return [str(day) for day in self.column(self.by)]


@dataclass(frozen=True)
class CycleReport(Report):
    """Closed tickets and their cycle and lead times in days per group."""

    by: str = "week"
    #: Every closed ticket's times, for the totals: (cycle_hours, lead_hours).
    times: list[tuple[float | None, float | None]] = field(default_factory=list)

    def overall(self) -> dict[str, Any]:
        """Closed tickets and the four statistics over all of them."""
        cycles = [cycle for cycle, _lead in self.times if cycle is not None]
        leads = [lead for _cycle, lead in self.times if lead is not None]
        return {"closed": len(self.times), **_stats(cycles, leads)}

    def points(self) -> list[tuple[str, float]]:
        """(group, median cycle time in days) for a chart: a week without one is 0 (the
        time axis keeps it), another group without one is left out."""
        label = self.columns[self.columns.index("closed") - 1]
        out = []
        for record in self.records():
            median = record["cycle_median"]
            if median is None and self.by != "week":
                continue
            name = str(record[label])
            if self.by == "milestone":
                name = f"{record['milestone']} · {record['space']}"
            out.append((name, float(median or 0.0)))
        return out


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` quantile of ``values`` interpolated between the closest ranks (as
    PostgreSQL's ``percentile_cont`` and the ``time_in_status_by_space`` view); None
    for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _days(hours: float | None) -> float | None:
    """Hours as days to the hundredth, halves rounded away from zero (as SQL's ROUND, so
    the canned query ``cycle_time_by_month`` shows the same numbers)."""
    if hours is None:
        return None
    return float(Decimal(repr(hours / 24.0)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _stats(cycles: Sequence[float], leads: Sequence[float]) -> dict[str, float | None]:
    return {
        "cycle_median": _days(percentile(cycles, 0.5)),
        "cycle_p85": _days(percentile(cycles, 0.85)),
        "lead_median": _days(percentile(leads, 0.5)),
        "lead_p85": _days(percentile(leads, 0.85)),
    }


def workflow_order(workflows: Sequence[tuple[Any, ...]], seen: Sequence[str] = ()) -> list[str]:
    """Status names in workflow order, from ``workflows``' (space_id, name, state,
    list_order) rows: one space's in its list order; several spaces' merged by name,
    open statuses first, each where it comes first in a workflow, then closed ones
    likewise. Names in ``seen`` that no workflow lists (renamed or removed statuses)
    come last, by name."""
    merged = len({row[0] for row in workflows}) > 1
    first: dict[str, tuple[int, int, int]] = {}
    for _space, name, state, order in workflows:
        key = (int(merged and state == 0), 0 if order is not None else 1, int(order or 0))
        first[name] = min(first.get(name, key), key)
    ordered = sorted(first, key=lambda name: (*first[name], name))
    return ordered + sorted(set(seen) - set(first))


def cumulative_flow(
    conn: Connection,
    *,
    spaces: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
    by: str | None = None,
) -> FlowReport:
    """Tickets per status at the end of each day of ``since`` .. ``until`` (UTC,
    inclusive; by default the first day any ticket existed through today), summed over
    ``spaces`` (names, wiki_names or ids; all when empty).

    ``by`` is ``day`` or ``week`` (each week's count is that of its last day in the
    range, labelled by its Monday); by default days for up to six weeks, weeks beyond.
    Statuses no ticket is in during the range are left out.
    """
    if by is not None and by not in FLOW_BY:
        raise ConfigError(f"cannot show the flow by {by!r}; choose one of {', '.join(FLOW_BY)}")
    check_days(since, until)
    space_ids = resolve_spaces(conn, spaces)
    found = cumulative_rows(conn, space_ids, since, until)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for day, status, tickets in found.rows:
        counts[str(day)][status] = int(tickets or 0)
    workflows = workflow_rows(conn, space_ids).rows
    closed = frozenset(name for _s, name, state, _o in workflows if state == 0)
    where = f" in {len(space_ids)} space(s)" if space_ids else ""
    if not counts:
        span = f"{range_title(since, until)}{where}"
        return FlowReport(f"Cumulative flow, {span}", ("day", "total"), [], (), closed, "day", span)
    first = since or date.fromisoformat(min(counts))
    # The view counts through today: a later --to adds no days of zeros.
    last = date.fromisoformat(max(counts))
    by = by or ("day" if (last - first).days < DAYS_SHOWN else "week")
    shown = [(label, counts.get(day.isoformat(), {})) for label, day in _snapshots(first, last, by)]
    present = {status for _label, per_day in shown for status, n in per_day.items() if n}
    statuses = [s for s in workflow_order(workflows, sorted(present)) if s in present]
    rows = []
    for label, per_day in shown:
        values = [per_day.get(status, 0) for status in statuses]
        rows.append((label, *values, sum(values)))
    span = f"{range_title(first, last)}{where}"
    title = f"Cumulative flow by {by} (tickets per status at the end of each {by}, UTC), {span}"
    columns = (by, *statuses, "total")
    return FlowReport(title, columns, rows, tuple(statuses), closed, by, span)


def _snapshots(first: date, last: date, by: str) -> list[tuple[str, date]]:
    """(row label, the day whose counts it shows) from ``first`` to ``last``."""
    if by == "day":
        return [(d.isoformat(), d) for d in _each_day(first, last)]
    out = []
    monday = week_start(first)
    while monday <= last:
        out.append((monday.isoformat(), min(monday + timedelta(days=6), last)))
        monday += timedelta(days=7)
    return out


def _each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def cycle_time(
    conn: Connection,
    by: str = "week",
    *,
    spaces: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> CycleReport:
    """Tickets closed on ``since`` .. ``until`` (UTC days of closing, inclusive) per
    ``by`` (one of :data:`CYCLE_BY`), with the median and 85th percentile of their cycle
    and lead times in days.

    A ticket counts once, when it last closed, if it is closed now (a reopened ticket
    counts when it closes again); tickets deleted upstream are left out. Weeks run
    Monday to Sunday (UTC), every week between the first and last listed; a milestone
    is its title (or ``(no milestone)``), an assignee their name (or ``(unassigned)``),
    both as the ticket has them now.
    """
    if by not in CYCLE_BY:
        raise ConfigError(f"cannot group cycle time by {by!r}; choose one of {', '.join(CYCLE_BY)}")
    check_days(since, until)
    space_ids = resolve_spaces(conn, spaces)
    groups: dict[tuple[Any, ...], list[tuple[float | None, float | None]]] = defaultdict(list)
    times = []
    for space, _number, closed_at, lead, cycle, milestone, assignee in closed_flow_rows(
        conn, space_ids, since, until
    ).rows:
        entry = (None if cycle is None else float(cycle), None if lead is None else float(lead))
        times.append(entry)
        if by == "week":
            key: tuple[Any, ...] = (week_start(_utc(closed_at).date()).isoformat(),)
        elif by == "milestone":
            key = (space, milestone)
        else:
            key = (assignee,)
        groups[key].append(entry)
    keys = _ordered_keys(groups, by, since, until)
    rows = []
    for key in keys:
        entries = groups.get(key, [])
        stats = _stats(
            [c for c, _l in entries if c is not None],
            [lead for _c, lead in entries if lead is not None],
        )
        rows.append((*key, len(entries), *(stats[name] for name in CYCLE_STATS)))
    labels = {"week": ("week",), "milestone": ("space", "milestone"), "assignee": ("assignee",)}
    where = f" in {len(space_ids)} space(s)" if space_ids else ""
    title = f"Cycle and lead time in days by {by}, tickets closed {range_title(since, until)}"
    title += f" (UTC){where}" if since or until else where
    columns = (*labels[by], "closed", *CYCLE_STATS)
    return CycleReport(title, columns, rows, by, times)


def _ordered_keys(
    groups: dict[tuple[Any, ...], list[Any]], by: str, since: date | None, until: date | None
) -> list[tuple[Any, ...]]:
    if by == "week":
        if not groups:
            return []
        weeks = [date.fromisoformat(key[0]) for key in groups]
        monday = week_start(since) if since else min(weeks)
        last = week_start(until) if until else max(weeks)
        keys = []
        while monday <= last:
            keys.append((monday.isoformat(),))
            monday += timedelta(days=7)
        return keys
    if by == "milestone":
        return sorted(groups, key=lambda key: (key[0], key[1] == "(no milestone)", key[1]))
    return sorted(groups, key=lambda key: (-len(groups[key]), key[0] == "(unassigned)", key[0]))


def _utc(text: Any) -> datetime:
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
