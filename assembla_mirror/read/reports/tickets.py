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
from assembla_mirror.read.reports.common import Report, in_list, resolve_spaces

#: The groupings ``tickets()`` understands.
TICKETS_BY = ("status", "assignee", "milestone")

_COUNTS = """
    COALESCE(SUM(k.state = 1), 0) AS open,
    COALESCE(SUM(k.state = 0), 0) AS closed,
    COUNT(*) AS total"""

# by -> (SQL with {where}, column names)
_QUERIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "status": (
        """
        SELECT s.name AS space, k.status AS status,
               CASE k.state WHEN 1 THEN 'open' WHEN 0 THEN 'closed' END AS state,
               COUNT(*) AS tickets
        FROM tickets AS k
        JOIN spaces AS s ON s.id = k.space_id
        WHERE {where}
        GROUP BY s.id, k.status, k.state
        ORDER BY space, k.state DESC,
                 (SELECT MIN(st.list_order) FROM ticket_statuses AS st
                  WHERE st.space_id = k.space_id AND st.name = k.status) IS NULL,
                 (SELECT MIN(st.list_order) FROM ticket_statuses AS st
                  WHERE st.space_id = k.space_id AND st.name = k.status),
                 status""",
        ("space", "status", "state", "tickets"),
    ),
    "assignee": (
        f"""
        SELECT s.name AS space,
               CASE WHEN k.assigned_to_id IS NULL THEN '(unassigned)'
                    ELSE COALESCE(u.name, k.assigned_to_name, u.login, k.assigned_to_id)
               END AS assignee,
               {_COUNTS}
        FROM tickets AS k
        JOIN spaces AS s ON s.id = k.space_id
        LEFT JOIN users AS u ON u.id = k.assigned_to_id
        WHERE {{where}}
        GROUP BY s.id, k.assigned_to_id
        ORDER BY space, open DESC, total DESC, assignee""",
        ("space", "assignee", "open", "closed", "total"),
    ),
    "milestone": (
        f"""
        SELECT s.name AS space,
               CASE WHEN k.milestone_id IS NULL THEN '(no milestone)'
                    ELSE COALESCE(m.title, '(milestone not in mirror)') END AS milestone,
               m.due_date AS due_date,
               {_COUNTS},
               ROUND(100.0 * SUM(k.state = 0) / COUNT(*), 1) AS percent_closed
        FROM tickets AS k
        JOIN spaces AS s ON s.id = k.space_id
        LEFT JOIN milestones AS m ON m.id = k.milestone_id
        WHERE {{where}}
        GROUP BY s.id, k.milestone_id
        ORDER BY space, k.milestone_id IS NULL, m.due_date IS NULL, m.due_date, milestone""",
        ("space", "milestone", "due_date", "open", "closed", "total", "percent_closed"),
    ),
}


def tickets(conn: Connection, by: str, *, spaces: Sequence[str] = ()) -> Report:
    """Ticket counts per space and ``by`` (one of :data:`TICKETS_BY`).

    ``spaces`` are names, wiki_names or ids (all spaces when empty).
    """
    if by not in TICKETS_BY:
        raise ConfigError(f"cannot count tickets by {by!r}; choose one of {', '.join(TICKETS_BY)}")
    space_ids = resolve_spaces(conn, spaces)
    where, params = in_list("k.space_id", space_ids, "space")
    sql, columns = _QUERIES[by]
    rows = [tuple(row) for row in conn.exec_driver_sql(sql.format(where=where), params).all()]
    scope = f" in {len(space_ids)} space(s)" if space_ids else ""
    return Report(title=f"Tickets by {by}{scope}", columns=columns, rows=rows)
