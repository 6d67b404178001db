"""How the tickets stand: counts by status, by assignee or by milestone, per space.

``state`` is Assembla's: 1 open, 0 closed. Statuses are listed in the order the
space defines them (``ticket_statuses.list_order``); assignees and milestones
show open and closed counts side by side, and tickets without an assignee or
milestone get a row of their own.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError
from assembla_mirror.read.reports.common import Report, resolve_spaces
from assembla_mirror.store.reports import TICKETS_BY, ticket_count_rows

__all__ = ["TICKETS_BY", "chart_points", "tickets"]


def tickets(conn: Connection, by: str, *, spaces: Sequence[str] = ()) -> Report:
    """Ticket counts per space and ``by`` (one of :data:`TICKETS_BY`).

    ``spaces`` are names, wiki_names or ids (all spaces when empty).
    """
    if by not in TICKETS_BY:
        raise ConfigError(f"cannot count tickets by {by!r}; choose one of {', '.join(TICKETS_BY)}")
    space_ids = resolve_spaces(conn, spaces)
    found = ticket_count_rows(conn, by, space_ids=space_ids)
    scope = f" in {len(space_ids)} space(s)" if space_ids else ""
    return Report(title=f"Tickets by {by}{scope}", columns=found.columns, rows=found.rows)


def chart_points(report: Report, by: str) -> list[tuple[str, float]]:
    """(label, tickets) per row of a :func:`tickets` report, for a bar chart: every
    ticket of a status; the open tickets of an assignee or a milestone (what is left to
    do). Labels name the space when the report covers several."""
    records = report.records()
    several = len({record["space"] for record in records}) > 1
    count = "tickets" if by == "status" else "open"

    def label(record: dict[str, object]) -> str:
        name = f"{record[by]} ({record['state']})" if by == "status" else str(record[by])
        return f"{name} · {record['space']}" if several else name

    return [(label(record), float(record[count] or 0)) for record in records]
