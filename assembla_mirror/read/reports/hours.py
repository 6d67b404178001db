"""Where the time went: logged hours (``tasks``) by space, user, week, month, milestone,
ticket, or user and month.

Every grouping covers the same time entries, so each report's total is the
same for the same range and spaces; entries that have no ticket, or whose
ticket has no milestone, get a row of their own instead of vanishing. The range
applies to ``begin_at`` in UTC, both ends inclusive. Weeks start on Monday
(UTC), as in the ``hours_by_user_week`` view; months are UTC months
(``YYYY-MM``). Weeks and months without any entry between the first and the
last are listed with zero hours so that a chart of them keeps its time axis
honest.
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
    check_days,
    range_title,
    resolve_spaces,
)
from assembla_mirror.store.reports import HOURS_BY, hours_rows

__all__ = ["HOURS_BY", "NO_DATE", "HoursReport", "hours", "week_start"]

NO_DATE = "(no date)"


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
        if self.by == "user,month":
            return f"{record['user']} · {record['month']}"
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
    check_days(since, until)
    space_ids = resolve_spaces(conn, spaces)
    found = hours_rows(conn, by, since=since, until=until, space_ids=space_ids)
    rows, columns = found.rows, found.columns
    if by == "week":
        rows = _fill_weeks(rows, since, until)
    elif by == "month":
        rows = _fill_months(rows, since, until)
    where = f" in {len(space_ids)} space(s)" if space_ids else ""
    zone = " (UTC)" if since or until else ""
    title = f"Hours by {by.replace(',', ' and ')}, {range_title(since, until)}{zone}{where}"
    return HoursReport(title=title, columns=columns, rows=rows, by=by)


def _fill_months(
    rows: list[tuple[Any, ...]], since: date | None, until: date | None
) -> list[tuple[Any, ...]]:
    """Add zero rows for the months between the first and last (or the range's ends)."""
    by_month = {row[0]: row for row in rows if row[0] is not None}
    undated = [(NO_DATE, *row[1:]) for row in rows if row[0] is None]
    if not by_month:
        return undated
    first = since.isoformat()[:7] if since else min(by_month)
    last = until.isoformat()[:7] if until else max(by_month)
    year, month = int(first[:4]), int(first[5:7])
    filled = []
    while f"{year:04d}-{month:02d}" <= last:
        key = f"{year:04d}-{month:02d}"
        filled.append(by_month.get(key, (key, 0.0, 0)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return filled + undated


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
