"""Datasette metadata for a mirror: descriptions, labels, facets, sort orders, search, queries.

The result is one JSON document in the format of the Datasette installed with
the ``datasette`` extra (0.65: everything, canned queries included, lives in
metadata under ``databases.<name>``). Datasette 1.0 moves table settings and
canned queries into a separate ``datasette.yaml``; :func:`build_metadata` keeps
them in one place so that move would be a split of this dict, not a rewrite.

Column lists come from the database itself
(:func:`assembla_mirror.store.schema.schema_columns`), so the metadata describes
exactly the file it is written for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.read.datasette.dashboards import dashboards
from assembla_mirror.read.datasette.descriptions import for_database
from assembla_mirror.read.datasette.queries import QUERIES
from assembla_mirror.store.runs import get_meta
from assembla_mirror.store.schema import schema_columns

__all__ = [
    "TABLES",
    "build_metadata",
    "database_name",
    "default_metadata_path",
    "missing_descriptions",
    "schema_columns",
    "write_metadata",
]

_TICKET_SEARCH = {"fts_table": "tickets_fts", "fts_pk": "id"}

#: Per table or view: label column, facets, default sort, hidden, full-text search.
#: Datasette names a facet's values only through declared foreign keys (``space_id``,
#: ``custom_field_id``), and most of Assembla's cross references are not declared (they
#: may dangle): so facets are on names (``ticket_overview``, ``time_entries``, the report
#: views) or declared keys, never on bare ids or codes. The tables' cells still show
#: names: the mirror's plugin (:mod:`.plugin`) labels ids and codes.
TABLES: dict[str, dict[str, Any]] = {
    "spaces": {"label_column": "name", "sort": "name"},
    "users": {"label_column": "name", "sort": "name"},
    "user_roles": {"facets": ["space_id", "role", "status"]},
    "milestones": {
        "label_column": "title",
        "facets": ["space_id", "is_completed", "planner_type"],
        "sort_desc": "due_date",
    },
    "ticket_statuses": {"label_column": "name", "facets": ["space_id"]},
    "custom_fields": {"label_column": "title", "facets": ["space_id", "type"]},
    "tickets": {
        "label_column": "summary",
        "facets": ["status", "assigned_to_name", "space_id"],
        "sort_desc": "updated_at",
        **_TICKET_SEARCH,
    },
    "ticket_overview": {
        "facets": ["space", "status", "state", "priority", "milestone", "assignee"],
        "sort_desc": "updated_at",
    },
    "time_entries": {"facets": ["space", "person", "milestone"], "sort_desc": "begin_at"},
    "ticket_priorities": {"sort": "id"},
    "ticket_states": {"sort": "id"},
    "ticket_custom_fields": {"facets": ["title", "custom_field_id"]},
    "ticket_comments": {
        "facets": ["user_name"],
        "sort_desc": "created_on",
        "fts_table": "ticket_comments_fts",
        "fts_pk": "id",
    },
    "tasks": {
        "label_column": "description",
        "facets": ["space_id", "billed"],
        "sort_desc": "begin_at",
    },
    "time_logs": {"facets": ["is_timeout"], "sort_desc": "created_at"},
    "events": {
        "facets": ["object", "operation", "space_name", "author_name"],
        "sort_desc": "date",
    },
    "ticket_changes": {"facets": ["field", "source"], "sort_desc": "changed_at"},
    "deleted_tickets": {"label_column": "summary", "sort_desc": "deleted_at"},
    "sync_runs": {"facets": ["outcome", "mode"], "sort_desc": "started_at"},
    # Bookkeeping of the sync itself: reachable, but not in the way.
    "sync_state": {"hidden": True},
    "mirror_meta": {"hidden": True},
    "search_pending": {"hidden": True},
    "alembic_version": {"hidden": True},
    "hours_by_space": {"sort_desc": "hours"},
    "hours_by_user_week": {"facets": ["space_name", "user_name"], "sort_desc": "week_start"},
    "hours_by_ticket": {"facets": ["status", "milestone_title"], "sort_desc": "hours"},
    "hours_by_milestone": {"facets": ["space_name"], "sort_desc": "hours"},
    "open_tickets_by_status": {"facets": ["space_name", "status"], "sort_desc": "tickets"},
    "open_tickets_by_assignee": {"facets": ["space_name"], "sort_desc": "tickets"},
    "milestone_progress": {"facets": ["space_name", "is_completed", "overdue"], "sort": "due_date"},
    # The history views compute from every change each time they are read: no facets,
    # which would read them once more per facet.
    "ticket_status_intervals": {"sort_desc": "started_at"},
    "time_in_status_by_space": {"sort": "space_name"},
    "ticket_flow": {"sort_desc": "closed_at"},
    "cumulative_flow": {"sort_desc": "day"},
    "milestone_burndown": {"sort_desc": "day"},
    "ticket_hierarchy": {"sort_desc": "total_hours"},
}

DESCRIPTION = (
    "A local copy of an Assembla account: spaces, people, milestones, tickets, comments, "
    "time entries and activity, kept current by `mirror sync`. Datetimes are UTC. "
    "Start with ticket_overview and time_entries (names, not ids, to facet on), the "
    "dashboard of charts (/-/dashboards), the report views (hours_by_space, "
    "milestone_progress ...), the history "
    "views (ticket_status_intervals, ticket_flow, cumulative_flow ...), ticket_hierarchy, "
    "the custom fields as typed columns (ticket_fields_<space>) and the queries "
    "below; the tickets table searches summaries and descriptions."
)


def missing_descriptions(conn: Connection) -> list[str]:
    """``table.column`` for every column nobody described (should be empty)."""
    schema = schema_columns(conn)
    described = for_database(conn)
    return [f"{table} (table)" for table in schema if described.table(table) is None] + [
        f"{table}.{column}"
        for table, columns in schema.items()
        for column in columns
        if described.column(table, column) is None
    ]


def plain(description: str | None) -> str:
    """A description as Datasette shows it: plain text. The docstrings it comes from
    mark names up as reStructuredText (double backquotes, roles such as ``:mod:``),
    which a page would show literally."""
    text = re.sub(r":[a-z]+:`~?\.?([^`]+)`", r"\1", description or "")
    return text.replace("``", "")


def build_metadata(conn: Connection, database: str) -> dict[str, Any]:
    """Datasette metadata for the mirror behind ``conn``, served as database ``database``.

    ``database`` is the name Datasette gives the file: its name without ``.db``.
    """
    tables: dict[str, dict[str, Any]] = {}
    described = for_database(conn)
    for table, columns in schema_columns(conn).items():
        entry: dict[str, Any] = {"description": plain(described.table(table))}
        entry["columns"] = {column: plain(described.column(table, column)) for column in columns}
        entry.update(TABLES.get(table, {}))
        tables[table] = entry
    account = get_meta(conn, "caller_login")
    return {
        "title": f"Assembla mirror of {account}" if account else "Assembla mirror",
        "description": DESCRIPTION,
        "source": "Assembla API via assembla-mirror",
        "databases": {
            database: {
                "description": DESCRIPTION,
                "tables": tables,
                "queries": QUERIES,
            }
        },
        "plugins": {"datasette-dashboards": dashboards(database)},
    }


def database_name(db_path: str | Path) -> str:
    """The name Datasette serves a database file under (the file name without suffix)."""
    return Path(db_path).stem


def default_metadata_path(db_path: str | Path) -> Path:
    """Where ``mirror datasette`` writes the metadata: beside the database, ``X.metadata.json``."""
    path = Path(db_path)
    return path.with_name(f"{path.stem}.metadata.json")


def write_metadata(conn: Connection, db_path: str | Path, out: str | Path | None = None) -> Path:
    """Write the metadata for the mirror at ``db_path`` to ``out`` (default: beside it)."""
    target = Path(out) if out is not None else default_metadata_path(db_path)
    metadata = build_metadata(conn, database_name(db_path))
    target.write_text(json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
