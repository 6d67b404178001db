"""The report views: each defined once, here, and created from that definition on open.

The views are a public interface (the README documents them; Datasette, pandas
and ``sqlite3`` users query them). Each is defined below from the shared
:mod:`~assembla_mirror.store.expressions`, in the dialect of the database, and
:func:`refresh_views` (re)creates them whenever a database is opened for
writing and does not hold these very definitions. Migration 0001 created the
same views from a frozen copy of their text, which stays there as history.

Why recreating them on open is safe:

* a view holds no data: dropping and creating it loses nothing, and both
  happen in one transaction (DDL is transactional here), so a reader sees the
  old definitions or the new ones, never a mirror without views;
* it runs after the schema is brought to head, so a definition always meets
  the tables it was written for (a migration calling today's definitions would
  meet older tables when it runs on an old mirror);
* which definitions a database holds is recorded in ``mirror_meta`` (a digest
  and the views' names): an open that finds them current only reads that row,
  and a database that cannot be written keeps its views until a writer opens it;
* only views named here, or named by the recorded definitions, are dropped: a
  view someone added to the mirror is left alone.

The custom field views (``ticket_fields_<space>``, :mod:`.field_views`) are
defined by the mirror's rows rather than here: :func:`refresh_views` brings them
in step too, under a record of their own.

Migration 0005 set the views aside around its table rebuilds and restored them
as they were; a later migration that rebuilds a table a view reads may simply
drop the view: the next open creates it again.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import Connection, Engine, inspect

from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.dialect import Dialect, quote
from assembla_mirror.store.expressions import expressions
from assembla_mirror.store.field_views import field_views_current, refresh_field_views
from assembla_mirror.store.flow import flow_view_definitions
from assembla_mirror.store.hierarchy import ticket_hierarchy
from assembla_mirror.store.named_views import named_view_definitions
from assembla_mirror.store.runs import get_meta, set_meta

#: The ``mirror_meta`` key recording which definitions the database holds.
META_KEY = "views"

#: A first query to try on a mirror (the demo suggests it).
SAMPLE_QUERY = "SELECT * FROM hours_by_space"


def view_definitions(dialect: Dialect) -> dict[str, str]:
    """Every report view's ``SELECT``, by view name, in ``dialect``: those below, the
    flow views of tickets' history (:mod:`.flow`), the lookup and named views
    (:mod:`.named_views`) and the ticket hierarchy (:mod:`.hierarchy`)."""
    x = expressions(dialect)
    return {
        "hours_by_space": f"""
            SELECT s.id AS space_id, s.name AS space_name,
                   {x.hours_or_zero} AS hours, COUNT(t.id) AS entries
            FROM spaces AS s LEFT JOIN tasks AS t ON t.space_id = s.id
            GROUP BY s.id, s.name""",
        "hours_by_user_week": f"""
            SELECT t.space_id, s.name AS space_name, t.user_id, u.login AS user_login,
                   u.name AS user_name, {x.week_start} AS week_start,
                   {x.hours} AS hours, COUNT(*) AS entries
            FROM tasks AS t
            JOIN spaces AS s ON s.id = t.space_id
            LEFT JOIN users AS u ON u.id = t.user_id
            WHERE t.begin_at IS NOT NULL
            GROUP BY t.space_id, s.name, t.user_id, u.login, u.name, week_start""",
        # Every time entry counts, as in the hours report (store/reports.py): time
        # without a ticket gets a row per space (ticket_id NULL), time on a ticket the
        # mirror does not hold a row per ticket id; the space is the entry's.
        "hours_by_ticket": f"""
            SELECT t.ticket_id, t.space_id,
                   COALESCE(k.number, MIN(t.ticket_number)) AS number,
                   {x.entry_summary} AS summary, k.status, k.state,
                   k.milestone_id, m.title AS milestone_title,
                   {x.hours} AS hours, COUNT(t.id) AS entries
            FROM tasks AS t
            LEFT JOIN tickets AS k ON k.id = t.ticket_id
            LEFT JOIN milestones AS m ON m.id = k.milestone_id
            GROUP BY t.space_id, t.ticket_id, k.id, m.title""",
        # Labelled as the hours report labels milestones: '(no ticket)',
        # '(no milestone)', '(ticket not in mirror)', '(milestone not in mirror)'.
        "hours_by_milestone": f"""
            SELECT t.space_id, s.name AS space_name, k.milestone_id,
                   {x.entry_milestone} AS milestone_title,
                   {x.hours} AS hours, COUNT(DISTINCT t.ticket_id) AS tickets,
                   COUNT(t.id) AS entries
            FROM tasks AS t
            JOIN spaces AS s ON s.id = t.space_id
            LEFT JOIN tickets AS k ON k.id = t.ticket_id
            LEFT JOIN milestones AS m ON m.id = k.milestone_id
            GROUP BY t.space_id, s.name, k.milestone_id, milestone_title""",
        "open_tickets_by_status": """
            SELECT k.space_id, s.name AS space_name, k.status, COUNT(*) AS tickets
            FROM tickets AS k JOIN spaces AS s ON s.id = k.space_id
            WHERE k.state = 1
            GROUP BY k.space_id, s.name, k.status""",
        "open_tickets_by_assignee": """
            SELECT k.space_id, s.name AS space_name, k.assigned_to_id,
                   u.login AS assignee_login, u.name AS assignee_name, COUNT(*) AS tickets
            FROM tickets AS k
            JOIN spaces AS s ON s.id = k.space_id
            LEFT JOIN users AS u ON u.id = k.assigned_to_id
            WHERE k.state = 1
            GROUP BY k.space_id, s.name, k.assigned_to_id, u.login, u.name""",
        "milestone_progress": f"""
            SELECT m.id AS milestone_id, m.space_id, s.name AS space_name, m.title,
                   m.start_date, m.due_date, m.is_completed, m.completed_date,
                   COUNT(k.id) AS tickets_total,
                   {x.open_tickets} AS tickets_open,
                   {x.closed_tickets} AS tickets_closed,
                   {x.percent_closed} AS percent_closed,
                   {x.estimate} AS estimate,
                   {x.invested_hours} AS invested_hours,
                   ({x.overdue}) AS overdue
            FROM milestones AS m
            JOIN spaces AS s ON s.id = m.space_id
            LEFT JOIN tickets AS k ON k.milestone_id = m.id
            GROUP BY m.id, s.name""",
        **flow_view_definitions(dialect),
        **named_view_definitions(dialect),
        "ticket_hierarchy": ticket_hierarchy(dialect),
    }


def definitions_record(definitions: dict[str, str]) -> str:
    """What ``mirror_meta`` keeps of ``definitions``: their digest and the views' names."""
    canonical = json.dumps(definitions, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return json.dumps({"digest": digest, "views": sorted(definitions)})


def refresh_views(engine: Engine) -> bool:
    """Create the report views from their definitions unless the database holds them,
    and bring the custom field views (:mod:`.field_views`) in step with the rows.

    Returns whether it changed any view. Needs write access to the database; reads
    only (no write transaction) when every view is current.
    """
    definitions = view_definitions(dialect_of(engine))
    record = definitions_record(definitions)
    with engine.connect() as conn:
        held = get_meta(conn, META_KEY)
        present = set(inspect(conn).get_view_names())
        fields_current = field_views_current(conn)
    current = held == record and set(definitions) <= present
    if current and fields_current:
        return False
    with engine.begin() as conn:
        if not current:
            create_views(conn, definitions, also_drop=_recorded_names(held))
        refresh_field_views(conn)
    return True


def create_views(
    conn: Connection, definitions: dict[str, str], also_drop: list[str] | None = None
) -> None:
    """Replace the views named in ``definitions`` (and drop ``also_drop``), in the caller's
    transaction, and record the definitions in ``mirror_meta``."""
    # Dependents first (PostgreSQL refuses to drop a view another one reads): a view
    # comes after the views it reads, and views no longer defined may read any.
    for name in reversed(dict.fromkeys([*definitions, *(also_drop or [])])):
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {quote(name)}")
    for name, select in definitions.items():
        conn.exec_driver_sql(f"CREATE VIEW {quote(name)} AS {select}")
    set_meta(conn, META_KEY, definitions_record(definitions))


def _recorded_names(record: str | None) -> list[str]:
    """The view names a ``mirror_meta`` record lists (none for a missing or odd one)."""
    try:
        names = json.loads(record or "{}").get("views", [])
    except (ValueError, AttributeError):
        return []
    return [name for name in names if isinstance(name, str)]
