"""The reports' questions: hours, ticket counts, the events of a day, and the demo's summary.

Each returns :class:`~assembla_mirror.store.results.Rows`, labelled as the
report shows them; :mod:`assembla_mirror.read.reports` adds titles and shape.
The statements are built from the shared expressions
(:mod:`assembla_mirror.store.expressions`), so a report answers as the views
and Datasette's canned queries do. Values that come from the user (space ids,
days) are always bound parameters; only fixed fragments chosen here are put
into the SQL text.

Every hours grouping covers the same time entries, so each report's total is
the same for the same range and spaces: entries that have no ticket, or whose
ticket has no milestone, get a row of their own instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from assembla_mirror.model.columns import format_utc
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.expressions import Expressions, expressions, hours_per_space
from assembla_mirror.store.results import Rows, between, fetch, one_of

#: The groupings :func:`hours_rows` understands.
HOURS_BY = ("space", "user", "week", "month", "milestone", "ticket", "user,month")
#: The groupings :func:`ticket_count_rows` understands.
TICKETS_BY = ("status", "assignee", "milestone")

_SPACES = text("SELECT id, wiki_name, name FROM spaces")


def space_references(conn: Connection) -> list[tuple[str, str | None, str]]:
    """Every space as (id, wiki_name, name): what a user may name a space by."""
    return [(space_id, wiki_name, name) for space_id, wiki_name, name in conn.execute(_SPACES)]


#: The UTC month of a time entry, ``YYYY-MM``.
MONTH = "substr(t.begin_at, 1, 7)"


def _hours_groupings(x: Expressions) -> dict[str, tuple[str, str, str]]:
    """by -> (label columns of the SELECT, GROUP BY, ORDER BY), for every grouping but space."""
    return {
        "user": (
            f'{x.person} AS "user", u.login AS login',
            "t.user_id, u.name, u.login",
            'hours DESC, "user"',
        ),
        # PostgreSQL reads an output name in ORDER BY only alone, not in an expression.
        "week": (f"{x.week_start} AS week", "week", f"{x.week_start} IS NULL, week"),
        # Instants are UTC text on both databases: a month is their first seven characters.
        "month": (f"{MONTH} AS month", "month", f"{MONTH} IS NULL, month"),
        "user,month": (
            f'{x.person} AS "user", u.login AS login, {MONTH} AS month',
            "t.user_id, u.name, u.login, month",
            f'"user", login, {MONTH} IS NULL, month',
        ),
        "milestone": (
            f"s.name AS space, {x.entry_milestone} AS milestone, m.due_date AS due_date, "
            "COUNT(DISTINCT t.ticket_id) AS tickets",
            "s.id, m.id, milestone",
            "hours DESC, space, milestone",
        ),
        "ticket": (
            "s.name AS space, COALESCE(k.number, MIN(t.ticket_number)) AS ticket, "
            f"{x.entry_summary} AS summary, k.status AS status",
            "s.id, t.ticket_id, k.id",
            "hours DESC, space, ticket",
        ),
    }


def hours_rows(
    conn: Connection,
    by: str,
    *,
    since: date | None = None,
    until: date | None = None,
    space_ids: Sequence[str] = (),
) -> Rows:
    """Hours and entries per ``by`` (one of :data:`HOURS_BY`), biggest first (weeks in order).

    ``since``/``until`` bound ``begin_at`` (UTC days, inclusive); ``space_ids``
    restrict to those spaces (all when empty). Columns: the grouping's labels,
    then ``hours`` and ``entries``. With ``by="space"`` every space has a row,
    0 hours included; with ``by="week"`` only weeks with entries do.
    """
    x = expressions(dialect_of(conn))
    dates, params = between("t.begin_at", since, until)
    spaces, space_params, lists = one_of("s.id", "spaces", list(space_ids))
    if by == "space":
        sql = hours_per_space(x, tasks=dates, spaces=spaces)
    else:
        select, group, order = _hours_groupings(x)[by]
        sql = f"""
            SELECT {select}, {x.hours_or_zero} AS hours, COUNT(t.id) AS entries
            FROM tasks AS t
            JOIN spaces AS s ON s.id = t.space_id
            LEFT JOIN users AS u ON u.id = t.user_id
            LEFT JOIN tickets AS k ON k.id = t.ticket_id
            LEFT JOIN milestones AS m ON m.id = k.milestone_id
            WHERE {dates} AND {spaces}
            GROUP BY {group}
            ORDER BY {order}"""
    return fetch(conn, sql, {**params, **space_params}, lists)


def _ticket_queries(x: Expressions) -> dict[str, str]:
    """by -> the statement counting tickets that way (``{where}`` left to fill)."""
    counts = f"{x.open_tickets} AS open, {x.closed_tickets} AS closed, COUNT(*) AS total"
    return {
        "status": """
            SELECT s.name AS space, k.status AS status,
                   CASE k.state WHEN 1 THEN 'open' WHEN 0 THEN 'closed' END AS state,
                   COUNT(*) AS tickets
            FROM tickets AS k
            JOIN spaces AS s ON s.id = k.space_id
            WHERE {where}
            GROUP BY s.id, k.status, k.state
            ORDER BY space, k.state DESC,
                     (SELECT MIN(st.list_order) FROM ticket_statuses AS st
                      WHERE st.space_id = s.id AND st.name = k.status) IS NULL,
                     (SELECT MIN(st.list_order) FROM ticket_statuses AS st
                      WHERE st.space_id = s.id AND st.name = k.status),
                     status""",
        "assignee": f"""
            SELECT s.name AS space,
                   CASE WHEN k.assigned_to_id IS NULL THEN '(unassigned)'
                        ELSE COALESCE(u.name, MAX(k.assigned_to_name), u.login, k.assigned_to_id)
                   END AS assignee,
                   {counts}
            FROM tickets AS k
            JOIN spaces AS s ON s.id = k.space_id
            LEFT JOIN users AS u ON u.id = k.assigned_to_id
            WHERE {{where}}
            GROUP BY s.id, k.assigned_to_id, u.id
            ORDER BY space, open DESC, total DESC, assignee""",
        "milestone": f"""
            SELECT s.name AS space, {x.ticket_milestone} AS milestone,
                   m.due_date AS due_date, {counts},
                   {x.percent_closed} AS percent_closed
            FROM tickets AS k
            JOIN spaces AS s ON s.id = k.space_id
            LEFT JOIN milestones AS m ON m.id = k.milestone_id
            WHERE {{where}}
            GROUP BY s.id, k.milestone_id, m.id
            ORDER BY space, k.milestone_id IS NULL, m.due_date IS NULL, m.due_date, milestone""",
    }


def ticket_count_rows(conn: Connection, by: str, *, space_ids: Sequence[str] = ()) -> Rows:
    """Ticket counts per space and ``by`` (one of :data:`TICKETS_BY`), in ``space_ids``
    (all when empty). Statuses come in the order the space lists them."""
    where, params, lists = one_of("k.space_id", "spaces", list(space_ids))
    sql = _ticket_queries(expressions(dialect_of(conn)))[by]
    return fetch(conn, sql.format(where=where), params, lists)


def event_rows(
    conn: Connection, *, start: datetime, end: datetime, space_ids: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """Events from ``start`` (inclusive) to ``end`` (exclusive), aware datetimes, per space
    and oldest first, in ``space_ids`` (all when empty): (space, date (UTC text), author,
    operation, object, title, whatchanged, comment_or_description, url)."""
    spaces, params, lists = one_of("e.space_id", "spaces", list(space_ids))
    params.update({"low": format_utc(start), "high": format_utc(end)})
    sql = f"""
        SELECT COALESCE(s.name, e.space_name, e.space_id) AS space, e.date,
               COALESCE(u.name, e.author_name, u.login, e.author_id) AS author,
               e.operation, e.object, e.title, e.whatchanged, e.comment_or_description, e.url
        FROM events AS e
        LEFT JOIN spaces AS s ON s.id = e.space_id
        LEFT JOIN users AS u ON u.id = e.author_id
        WHERE e.date >= :low AND e.date < :high AND {spaces}
        ORDER BY space, e.date, e.id"""
    return fetch(conn, sql, params, lists).rows


_SPACE_HOURS = text("SELECT space_name, hours, entries FROM hours_by_space ORDER BY hours DESC")
_OPEN_PER_STATUS = text(
    "SELECT status, CAST(SUM(tickets) AS INTEGER) AS tickets FROM open_tickets_by_status "
    "GROUP BY status ORDER BY tickets DESC"
)


def space_hours(conn: Connection) -> list[dict[str, Any]]:
    """Hours and entries per space, most first, from the ``hours_by_space`` view."""
    return [dict(row._mapping) for row in conn.execute(_SPACE_HOURS)]


def open_tickets_per_status(conn: Connection) -> list[dict[str, Any]]:
    """Open tickets per status over every space, most first, from ``open_tickets_by_status``."""
    return [dict(row._mapping) for row in conn.execute(_OPEN_PER_STATUS)]
