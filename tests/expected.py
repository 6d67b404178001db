"""Expected mirror rows built from the simulator's typed truth.

Written independently of :mod:`assembla_mirror.model.convert`: the truth holds
Python values (aware datetimes, Decimals, dicts) that never went through JSON,
so a test comparing the mirror with these rows checks the whole chain
(rendering with offsets, HTTP, parsing, normalizing, storing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, text

from assembla_mirror.model.tables import ENTITY_TABLES, FILE_TABLES, HISTORY_TABLES, TABLES
from assembla_mirror.store.database import create_engine_for

#: A mirror as tests name it: a SQLite file's path, or a database URL.
Db = str | Path


@contextmanager
def reading(db: Db) -> Iterator[Connection]:
    """A connection to the mirror ``db`` (either backend), for reading what it holds."""
    engine = create_engine_for(db)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def select_all(db: Db, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query (plain SQL both backends read) on the mirror ``db``."""
    with reading(db) as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql)]


def select_bound(db: Db, sql: str, **binds: Any) -> list[tuple[Any, ...]]:
    """The rows of a query with named binds (``WHERE id = :id``, read by SQLAlchemy's
    ``text()`` on both backends) on the mirror ``db``; a list or tuple bind expands for
    ``IN :name``."""
    statement = text(sql)
    expanding = [name for name, value in binds.items() if isinstance(value, list | tuple)]
    if expanding:
        statement = statement.bindparams(*(bindparam(name, expanding=True) for name in expanding))
    with reading(db) as conn:
        return [tuple(row) for row in conn.execute(statement, binds)]


def utc_text(value: datetime | None) -> str | None:
    """How the mirror stores an instant."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def date_text(value: date | None) -> str | None:
    """How the mirror stores a date."""
    return None if value is None else value.isoformat()


def plain(value: Any) -> Any:
    """A truth value as SQLite returns it."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return date_text(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bool):
        return int(value)
    return value


#: Columns compared per table (every column the issue names, and then some).
COLUMNS = {
    "spaces": ("id", "name", "wiki_name", "description", "created_at", "updated_at"),
    "users": ("id", "login", "name", "email"),
    "user_roles": ("id", "space_id", "user_id", "role", "status", "invited_time"),
    "milestones": (
        "id", "space_id", "title", "is_completed", "due_date", "completed_date",
        "created_at", "updated_at",
    ),
    "ticket_statuses": ("id", "name", "state", "list_order"),
    "custom_fields": ("id", "title", "type"),
    "tickets": (
        "id", "space_id", "number", "summary", "description", "status", "state", "priority",
        "milestone_id", "assigned_to_id", "reporter_id", "estimate", "total_invested_hours",
        "created_on", "updated_at", "completed_date",
    ),
    "tasks": (
        "id", "space_id", "user_id", "ticket_id", "ticket_number", "hours", "begin_at",
        "end_at", "description", "billed", "created_at", "updated_at",
    ),
    "time_logs": ("id", "task_id", "description", "created_at"),
    "ticket_comments": ("id", "ticket_id", "user_id", "comment", "created_on", "updated_at"),
}  # fmt: skip

TRUTH_LISTS = {
    "spaces": "spaces",
    "users": "users",
    "user_roles": "user_roles",
    "milestones": "milestones",
    "ticket_statuses": "ticket_statuses",
    "custom_fields": "custom_fields",
    "tickets": "tickets",
    "tasks": "tasks",
    "time_logs": "time_logs",
    "ticket_comments": "comments",
}


def expected_rows(truth: Any, table: str) -> set[tuple[Any, ...]]:
    """The rows ``table`` should hold, restricted to :data:`COLUMNS`."""
    return {
        tuple(plain(getattr(entity, column)) for column in COLUMNS[table])
        for entity in getattr(truth, TRUTH_LISTS[table])
    }


def mirrored_rows(db: Db, table: str) -> set[tuple[Any, ...]]:
    """The rows ``table`` holds, restricted to :data:`COLUMNS` (booleans as 0/1)."""
    columns = ", ".join(f'"{column}"' for column in COLUMNS[table])
    return {
        tuple(int(value) if isinstance(value, bool) else value for value in row)
        for row in select_all(db, f"SELECT {columns} FROM {table}")
    }


def expected_custom_values(truth: Any) -> set[tuple[int, str, str]]:
    """``(ticket_id, title, value)`` for every custom field value of every ticket."""
    return {
        (ticket.id, title, value)
        for ticket in truth.tickets
        for title, value in ticket.custom_fields.items()
    }


def mirrored_custom_values(db: Db) -> set[tuple[Any, ...]]:
    """``(ticket_id, title, value)`` as mirrored."""
    return set(select_all(db, "SELECT ticket_id, title, value FROM ticket_custom_fields"))


def table_rows(db: Db, table: str) -> list[tuple[Any, ...]]:
    """Every column of every row, in key order (for exact before/after comparisons)."""
    return select_all(db, f"SELECT * FROM {table} ORDER BY 1, 2")


def comparable_rows(db: Db, table: str) -> list[tuple[Any, ...]]:
    """All columns of all rows, ``raw_json`` parsed (key order and offsets aside)."""
    with reading(db) as conn:
        result = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2")
        names = list(result.keys())
        rows = [tuple(row) for row in result]
    if table == "ticket_changes":  # ids number the order of recording: left out
        return sorted((row[1:] for row in rows), key=repr)
    raw_at = names.index("raw_json") if "raw_json" in names else None
    if raw_at is None:
        return rows
    return [
        (*row[:raw_at], _canonical(json.loads(row[raw_at])), *row[raw_at + 1 :]) for row in rows
    ]


def _canonical(payload: Any) -> Any:
    # Same instants may be rendered with other offsets after a time-zone change.
    if isinstance(payload, dict):
        return {key: _canonical(value) for key, value in payload.items()}
    if isinstance(payload, list):
        return [_canonical(value) for value in payload]
    if isinstance(payload, str) and len(payload) >= 20 and payload[10:11] == "T":
        try:
            return datetime.fromisoformat(payload).astimezone(UTC).isoformat()
        except ValueError:
            return payload
    return payload


def assert_same_mirror(actual: Db, reference: Db, *, history: bool = True) -> None:
    """Every mirrored table of ``actual``, ``events`` included, equals ``reference`` row for
    row, ``raw_json`` included (parsed: key order and offsets aside).

    With ``history``, the changes recorded must be the same too, whatever order they
    were recorded in (``id`` aside): a mirror that saw changes happen records more than a
    fresh one (pass False for those)."""
    tables = [*ENTITY_TABLES, "events", *(HISTORY_TABLES if history else ())]
    assert set(tables) | set(FILE_TABLES) == set(TABLES) or not history
    for table in tables:
        mine, theirs = comparable_rows(actual, table), comparable_rows(reference, table)
        assert mine == theirs, f"{table} differs: {len(mine)} vs {len(theirs)} rows; " + str(
            [row for row in mine if row not in theirs][:3]
            + [row for row in theirs if row not in mine][:3]
        )
