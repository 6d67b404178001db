"""Reports on a mirror, as plain rows: hours, ticket counts and the daily activity summary.

    from assembla_mirror.read.reports import connect, hours

    with connect("assembla.db") as conn:
        report = hours(conn, "space", since=date(2026, 1, 1))
    for row in report.records():
        print(row["space"], row["hours"])

Each function takes a SQLAlchemy ``Connection`` and returns a
:class:`~assembla_mirror.read.reports.common.Report` (title, column names, rows of
plain values); ``mirror report`` renders them as a table, CSV or JSON.
"""

from __future__ import annotations

from assembla_mirror.read.reports.activity import activity
from assembla_mirror.read.reports.common import Report, connect, resolve_spaces
from assembla_mirror.read.reports.hours import HOURS_BY, HoursReport, hours
from assembla_mirror.read.reports.tickets import TICKETS_BY, tickets

__all__ = [
    "HOURS_BY",
    "TICKETS_BY",
    "HoursReport",
    "Report",
    "activity",
    "connect",
    "hours",
    "resolve_spaces",
    "tickets",
]
