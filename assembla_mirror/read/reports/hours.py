"""Where the time went: logged hours (``tasks``) by space, user, week, milestone or ticket.

Every grouping covers the same time entries, so each report's total is the
same for the same range and spaces; entries that have no ticket, or whose
ticket has no milestone, get a row of their own instead of vanishing. The range
applies to ``begin_at`` in UTC, both ends inclusive. Weeks start on Monday
(UTC), as in the ``hours_by_user_week`` view, and weeks without any entry
between the first and the last are listed with zero hours so that a chart of
them keeps its time axis honest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError
from assembla_mirror.read.reports.common import (
    Report,
    day_bounds,
    in_list,
    range_title,
    resolve_spaces,
)

#: The groupings ``hours()`` understands.
HOURS_BY = ("space", "user", "week", "milestone", "ticket")

NO_DATE = "(no date)"

_MILESTONE_LABEL = """
    CASE WHEN t.ticket_id IS NULL THEN '(no ticket)'
         WHEN k.id IS NULL THEN '(ticket not in mirror)'
         WHEN k.milestone_id IS NULL THEN '(no milestone)'
         WHEN m.id IS NULL THEN '(milestone not in mirror)'
         ELSE m.title END"""

# by -> (label columns of the SELECT, GROUP BY, ORDER BY, column names before hours)
_GROUPINGS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "user": (
        "COALESCE(u.name, u.login, t.user_id) AS user, u.login AS login",
        "t.user_id",
        "hours DESC, user",
        ("user", "login"),
    ),
    "week": (
        "date(t.begin_at, '-6 days', 'weekday 1') AS week",
        "week",
        "week IS NULL, week",
        ("week",),
    ),
    "milestone": (
        f"s.name AS space, {_MILESTONE_LABEL} AS milestone, m.due_date AS due_date, "
        "COUNT(DISTINCT t.ticket_id) AS tickets",
        "s.id, m.id, milestone",
        "hours DESC, space, milestone",
        ("space", "milestone", "due_date", "tickets"),
    ),
    "ticket": (
        "s.name AS space, COALESCE(k.number, t.ticket_number) AS ticket, "
        "CASE WHEN t.ticket_id IS NULL THEN '(no ticket)' "
        "     ELSE COALESCE(k.summary, '(ticket not in mirror)') END AS summary, "
        "k.status AS status",
        "s.id, t.ticket_id",
        "hours DESC, space, ticket",
        ("space", "ticket", "summary", "status"),
    ),
}


@dataclass(frozen=True)
class HoursReport(Report):
    """Hours and entry counts per group; ``by`` says which grouping."""

    by: str = "space"

    @property
    def total(self) -> float:
        """All hours of the report."""
        return round(float(sum(self.column("hours"))), 2)

    def points(self) -> list[tuple[str, float]]:
        """(label, hours) per row, for a chart."""
        return [(self._label(record), float(record["hours"])) for record in self.records()]

    def _label(self, record: dict[str, Any]) -> str:
        if self.by == "milestone":
            return f"{record['milestone']} · {record['space']}"
        if self.by == "ticket":
            if record["ticket"] is None:
                return f"{record['summary']} · {record['space']}"
            return f"#{record['ticket']} {record['summary']}"
        return str(record[self.by])


def hours(
    conn: Connection,
    by: str,
    *,
    since: date | None = None,
    until: date | None = None,
    spaces: Sequence[str] = (),
) -> HoursReport:
    """Hours logged per ``by`` (one of :data:`HOURS_BY`), biggest first (weeks in order).

    ``since``/``until`` bound ``begin_at`` (UTC, inclusive); ``spaces`` are
    names, wiki_names or ids (all spaces when empty).
    """
    if by not in HOURS_BY:
        raise ConfigError(f"cannot group hours by {by!r}; choose one of {', '.join(HOURS_BY)}")
    low, high = day_bounds(since, until)
    space_ids = resolve_spaces(conn, spaces)
    space_sql, params = in_list("s.id", space_ids, "space")
    params.update({"low": low, "high": high})
    dates = " AND ".join(
        ["1 = 1"]
        + (["t.begin_at >= :low"] if low else [])
        + (["t.begin_at < :high"] if high else [])
    )
    if by == "space":
        # From spaces outward, so that a space nobody logged time in shows 0.
        sql = f"""
            SELECT s.name AS space, ROUND(COALESCE(SUM(t.hours), 0), 2) AS hours,
                   COUNT(t.id) AS entries
            FROM spaces AS s
            LEFT JOIN tasks AS t ON t.space_id = s.id AND {dates}
            WHERE {space_sql}
            GROUP BY s.id
            ORDER BY hours DESC, space"""
        columns: tuple[str, ...] = ("space", "hours", "entries")
    else:
        select, group, order, labels = _GROUPINGS[by]
        sql = f"""
            SELECT {select}, ROUND(SUM(COALESCE(t.hours, 0)), 2) AS hours,
                   COUNT(t.id) AS entries
            FROM tasks AS t
            JOIN spaces AS s ON s.id = t.space_id
            LEFT JOIN users AS u ON u.id = t.user_id
            LEFT JOIN tickets AS k ON k.id = t.ticket_id
            LEFT JOIN milestones AS m ON m.id = k.milestone_id
            WHERE {dates} AND {space_sql}
            GROUP BY {group}
            ORDER BY {order}"""
        columns = (*labels, "hours", "entries")
    rows = [tuple(row) for row in conn.exec_driver_sql(sql, params).all()]
    if by == "week":
        rows = _fill_weeks(rows, since, until)
    where = f" in {len(space_ids)} space(s)" if space_ids else ""
    zone = " (UTC)" if since or until else ""
    title = f"Hours by {by}, {range_title(since, until)}{zone}{where}"
    return HoursReport(title=title, columns=columns, rows=rows, by=by)


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def _fill_weeks(
    rows: list[tuple[Any, ...]], since: date | None, until: date | None
) -> list[tuple[Any, ...]]:
    """Add zero rows for the weeks between the first and last (or the range's ends)."""
    by_week = {row[0]: row for row in rows if row[0] is not None}
    undated = [row for row in rows if row[0] is None]
    if not by_week:
        return [(NO_DATE, *row[1:]) for row in undated]
    first = week_start(since) if since else date.fromisoformat(min(by_week))
    last = week_start(until) if until else date.fromisoformat(max(by_week))
    filled = []
    week = first
    while week <= last:
        key = week.isoformat()
        filled.append(by_week.get(key, (key, 0.0, 0)))
        week += timedelta(days=7)
    return filled + [(NO_DATE, *row[1:]) for row in undated]
