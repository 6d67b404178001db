"""The questions of the flow reports: how tickets moved, read from the history views.

The views (:mod:`assembla_mirror.store.flow`: ``ticket_status_intervals``,
``ticket_flow``, ``cumulative_flow`` ...) answer how long and in which order;
these statements select from them for one report, add the names a person reads
(space, milestone title, assignee) and the spaces' workflows, and leave the
shaping to :mod:`assembla_mirror.read.reports.flow` and
:mod:`assembla_mirror.read.reports.timeline`. A ticket deleted upstream is found
in ``deleted_tickets``; its changes and stays are kept like a live ticket's.
Values a user gives (spaces, days, a number) are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import Connection

from assembla_mirror.store.results import Rows, between, fetch, one_of

#: Who made a change, or how the mirror came to know it (``source`` mirror/inferred).
_WHO = "COALESCE(u.name, u.login, c.user_id)"


def workflow_rows(conn: Connection, space_ids: Sequence[str] = ()) -> Rows:
    """The spaces' ticket statuses in workflow order: (space_id, name, state, list_order)."""
    where, params, lists = one_of("st.space_id", "spaces", list(space_ids))
    sql = f"""
        SELECT st.space_id, st.name, st.state, st.list_order
        FROM ticket_statuses AS st
        WHERE {where}
        ORDER BY st.space_id, st.list_order IS NULL, st.list_order, st.name"""
    return fetch(conn, sql, params, lists)


def cumulative_rows(
    conn: Connection,
    space_ids: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> Rows:
    """Tickets per day and status at the end of the day, summed over ``space_ids`` (all
    when empty), on ``since`` .. ``until`` (inclusive): (day, status, tickets), by day."""
    spaces, params, lists = one_of("f.space_id", "spaces", list(space_ids))
    conditions = [spaces]
    if since is not None:
        conditions.append("f.day >= :since")
        params["since"] = since.isoformat()
    if until is not None:
        conditions.append("f.day <= :until")
        params["until"] = until.isoformat()
    sql = f"""
        SELECT f.day, f.status, SUM(f.tickets) AS tickets
        FROM cumulative_flow AS f
        WHERE {" AND ".join(conditions)}
        GROUP BY f.day, f.status
        ORDER BY f.day, f.status"""
    return fetch(conn, sql, params, lists)


def closed_flow_rows(
    conn: Connection,
    space_ids: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> Rows:
    """Every live ticket closed now (``ticket_flow.closed_at`` set), closed on ``since`` ..
    ``until`` (UTC days, inclusive), in ``space_ids`` (all when empty), oldest closing
    first: (space, number, closed_at, lead_time_hours, cycle_time_hours, milestone,
    assignee), with the milestone's title and the assignee's name as a person reads them."""
    spaces, params, lists = one_of("f.space_id", "spaces", list(space_ids))
    dates, bounds = between("f.closed_at", since, until)
    sql = f"""
        SELECT s.name AS space, f.number, f.closed_at, f.lead_time_hours,
               f.cycle_time_hours,
               CASE WHEN k.milestone_id IS NULL THEN '(no milestone)'
                    ELSE COALESCE(m.title, '(milestone not in mirror)') END AS milestone,
               CASE WHEN k.assigned_to_id IS NULL THEN '(unassigned)'
                    ELSE COALESCE(u.name, k.assigned_to_name, u.login, k.assigned_to_id)
               END AS assignee
        FROM ticket_flow AS f
        JOIN tickets AS k ON k.id = f.ticket_id
        JOIN spaces AS s ON s.id = f.space_id
        LEFT JOIN milestones AS m ON m.id = k.milestone_id
        LEFT JOIN users AS u ON u.id = k.assigned_to_id
        WHERE f.closed_at IS NOT NULL AND {spaces} AND {dates}
        ORDER BY f.closed_at, s.name, f.number"""
    return fetch(conn, sql, {**params, **bounds}, lists)


_TICKET_COLUMNS = (
    "id",
    "space_id",
    "space",
    "number",
    "summary",
    "status",
    "state",
    "created_on",
    "updated_at",
    "reporter_id",
    "deleted_at",
    "last_record_json",
)


def ticket_subjects(conn: Connection, number: int, space_ids: Sequence[str] = ()) -> Rows:
    """The tickets numbered ``number`` in ``space_ids`` (all when empty), live or deleted
    upstream: (id, space_id, space, number, summary, status, state, created_on, updated_at,
    reporter_id, deleted_at, last_record_json); the last two are NULL for a live ticket."""
    live_spaces, params, lists = one_of("k.space_id", "spaces", list(space_ids))
    gone_spaces = live_spaces.replace("k.space_id", "d.space_id")
    params["number"] = number
    sql = f"""
        SELECT k.id, k.space_id, s.name AS space, k.number, k.summary, k.status, k.state,
               k.created_on, k.updated_at, k.reporter_id,
               NULL AS deleted_at, NULL AS last_record_json
        FROM tickets AS k JOIN spaces AS s ON s.id = k.space_id
        WHERE k.number = :number AND {live_spaces}
        UNION ALL
        SELECT d.id, d.space_id, COALESCE(s.name, d.space_id), d.number, d.summary, d.status,
               d.state, d.created_on, d.updated_at, NULL, d.deleted_at, d.last_record_json
        FROM deleted_tickets AS d LEFT JOIN spaces AS s ON s.id = d.space_id
        WHERE d.number = :number AND {gone_spaces}
          AND NOT EXISTS (SELECT 1 FROM tickets AS k WHERE k.id = d.id)
        ORDER BY 3, 1"""
    found = fetch(conn, sql, params, lists)
    return Rows(_TICKET_COLUMNS, found.rows)


def change_rows(conn: Connection, ticket_id: int) -> Rows:
    """A ticket's recorded changes in the order they happened: (changed_at, user_id, who,
    field, old_value, new_value, source, comment_id); ``who`` is the user's name, else
    login, else id, and NULL for a change the mirror saw or inferred."""
    sql = f"""
        SELECT c.changed_at, c.user_id, {_WHO} AS who, c.field, c.old_value, c.new_value,
               c.source, c.comment_id
        FROM ticket_changes AS c LEFT JOIN users AS u ON u.id = c.user_id
        WHERE c.ticket_id = :ticket
        ORDER BY c.changed_at, c.id"""
    return fetch(conn, sql, {"ticket": ticket_id})


def stay_rows(conn: Connection, ticket_ids: Sequence[int]) -> Rows:
    """The stays of tickets in each status, per ticket in order: (ticket_id, stay, status,
    state, started_at, ended_at, hours, deleted) from ``ticket_status_intervals``."""
    where, params, lists = one_of("i.ticket_id", "tickets", list(ticket_ids))
    sql = f"""
        SELECT i.ticket_id, i.stay, i.status, i.state, i.started_at, i.ended_at, i.hours,
               i.deleted
        FROM ticket_status_intervals AS i
        WHERE {where}
        ORDER BY i.ticket_id, i.stay"""
    return fetch(conn, sql, params, lists)


def names_of_users(conn: Connection, user_ids: Iterable[str]) -> dict[str, str]:
    """People by id, as a person reads them: name, else login."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    where, params, lists = one_of("u.id", "users", ids)
    sql = f"SELECT u.id, COALESCE(u.name, u.login, u.id) FROM users AS u WHERE {where}"
    return {str(key): str(name) for key, name in fetch(conn, sql, params, lists).rows}


def titles_of_milestones(conn: Connection, milestone_ids: Iterable[int]) -> dict[int, str]:
    """Milestone titles by id (the ids the mirror holds)."""
    ids = sorted(set(milestone_ids))
    if not ids:
        return {}
    where, params, lists = one_of("m.id", "milestones", ids)
    sql = f"SELECT m.id, m.title FROM milestones AS m WHERE {where}"
    return {int(key): str(title) for key, title in fetch(conn, sql, params, lists).rows}


def change_listing(
    conn: Connection,
    space_ids: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> Rows:
    """Every recorded change in ``space_ids`` (all when empty) made on ``since`` ..
    ``until`` (UTC days, inclusive), by space, ticket and time, with the space's name, the
    ticket's number (a deleted ticket's too), the author's name and ``deleted``."""
    spaces, params, lists = one_of("c.space_id", "spaces", list(space_ids))
    dates, bounds = between("c.changed_at", since, until)
    sql = f"""
        SELECT c.id, c.ticket_id, c.space_id, s.name AS space_name,
               COALESCE(k.number, d.number) AS number, c.changed_at, c.user_id,
               COALESCE(u.name, u.login) AS user_name, c.field, c.old_value, c.new_value,
               c.source, c.comment_id,
               CASE WHEN k.id IS NULL AND d.id IS NOT NULL THEN 1 ELSE 0 END AS deleted
        FROM ticket_changes AS c
        LEFT JOIN spaces AS s ON s.id = c.space_id
        LEFT JOIN tickets AS k ON k.id = c.ticket_id
        LEFT JOIN deleted_tickets AS d ON d.id = c.ticket_id
        LEFT JOIN users AS u ON u.id = c.user_id
        WHERE {spaces} AND {dates}
        ORDER BY c.space_id, number, c.changed_at, c.id"""
    return fetch(conn, sql, {**params, **bounds}, lists)


#: The history views a listing may read, and the order of their rows.
_VIEW_ORDER = {
    "ticket_status_intervals": "v.space_id, v.number, v.stay",
    "time_in_status": "v.space_id, v.number, v.status",
    "ticket_flow": "v.space_id, v.number",
    "cumulative_flow": "v.space_id, v.day, v.status",
}


def history_view_listing(
    conn: Connection,
    view: str,
    space_ids: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> Rows:
    """Every row of a history view (``ticket_status_intervals``, ``time_in_status``,
    ``ticket_flow`` or ``cumulative_flow``) in ``space_ids`` (all when empty), with the
    space's name; ``since``/``until`` bound the cumulative flow's days (inclusive)."""
    if view not in _VIEW_ORDER:
        raise ValueError(f"not a history view: {view!r}")
    spaces, params, lists = one_of("v.space_id", "spaces", list(space_ids))
    conditions = [spaces]
    if view == "cumulative_flow" and since is not None:
        conditions.append("v.day >= :since")
        params["since"] = since.isoformat()
    if view == "cumulative_flow" and until is not None:
        conditions.append("v.day <= :until")
        params["until"] = until.isoformat()
    sql = f"""
        SELECT v.*, s.name AS space_name
        FROM {view} AS v LEFT JOIN spaces AS s ON s.id = v.space_id
        WHERE {" AND ".join(conditions)}
        ORDER BY {_VIEW_ORDER[view]}"""
    return fetch(conn, sql, params, lists)
