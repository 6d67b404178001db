"""Whole tables, views and joined listings of the mirror, for DataFrames.

Each returns :class:`~assembla_mirror.store.results.Rows`;
:mod:`assembla_mirror.read.frames` gives the columns their dtypes. Callers
name the columns they want (``raw_json`` is large, so listings leave it out
unless asked); names are checked against the model before they reach SQL.
Days are inclusive UTC days, as in the reports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, inspect

from assembla_mirror.errors import ConfigError
from assembla_mirror.model.tables import Base
from assembla_mirror.store.dialect import quote
from assembla_mirror.store.expressions import iso_date, number_value
from assembla_mirror.store.results import Rows, between, fetch, one_of


def _columns(table: str, alias: str, columns: Sequence[str]) -> str:
    """``alias."column", ...`` for columns the model declares in ``table``."""
    known = Base.metadata.tables[table].c
    unknown = [name for name in columns if name not in known]
    if unknown:
        raise ConfigError(f"{table} has no column {unknown[0]!r}")
    return ", ".join(f"{alias}.{quote(name)}" for name in columns)


def table_rows(conn: Connection, table: str, columns: Sequence[str]) -> Rows:
    """``columns`` of every row of one of the mirror's tables."""
    if table not in Base.metadata.tables:
        raise ConfigError(f"no table {table!r}")
    return fetch(conn, f"SELECT {_columns(table, 'x', columns)} FROM {quote(table)} AS x", {})


def view_names(conn: Connection) -> list[str]:
    """The views of the database, by name."""
    return sorted(inspect(conn).get_view_names())


def view_rows(conn: Connection, view: str) -> Rows:
    """Every row of a view of the database (one of :func:`view_names`)."""
    if view not in view_names(conn):
        raise ConfigError(f"no view {view!r}")
    return fetch(conn, f"SELECT * FROM {quote(view)}", {})


def run_sql(conn: Connection, sql: str, params: Mapping[str, Any]) -> Rows:
    """Rows of a statement a person wrote, in the database's own SQL, with ``params``
    bound by the driver (``:name`` on both databases)."""
    # Through the driver as written: SQLAlchemy's text() would also read ":x" inside
    # a string literal as a parameter.
    if conn.dialect.paramstyle == "pyformat":  # psycopg reads %(name)s, and % itself
        sql = _pyformat(sql)
    result = conn.exec_driver_sql(sql, dict(params))
    return Rows(tuple(result.keys()), [tuple(row) for row in result])


#: What :func:`_pyformat` tells apart: quoted text and comments (kept whole), ``::``
#: (a PostgreSQL cast), a ``:name`` parameter, and ``%``.
_DRIVER_SQL_PIECES = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::|:(?P<name>[A-Za-z_]\w*)|%""",
    re.DOTALL,
)


def _pyformat(sql: str) -> str:
    """``sql`` with its ``:name`` parameters written ``%(name)s`` for psycopg, and every
    ``%`` (in strings too: psycopg reads the whole text) doubled; a ``:name`` in a
    string, a quoted name or a comment is left alone, and so is a ``::`` cast."""

    def piece(match: re.Match[str]) -> str:
        if match["name"] is not None:
            return f"%({match['name']})s"
        return match[0].replace("%", "%%")

    return _DRIVER_SQL_PIECES.sub(piece, sql)


def ticket_listing(conn: Connection, columns: Sequence[str], space_ids: Sequence[str] = ()) -> Rows:
    """Tickets (``columns`` of them) with ``space_name`` and ``milestone_title``, by space
    name and number, in ``space_ids`` (all when empty)."""
    where, params, lists = one_of("k.space_id", "spaces", list(space_ids))
    sql = f"""
        SELECT {_columns("tickets", "k", columns)}, s.name AS space_name,
               m.title AS milestone_title
        FROM tickets AS k
        JOIN spaces AS s ON s.id = k.space_id
        LEFT JOIN milestones AS m ON m.id = k.milestone_id
        WHERE {where}
        ORDER BY s.name, k.number"""
    return fetch(conn, sql, params, lists)


def task_listing(
    conn: Connection,
    columns: Sequence[str],
    space_ids: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> Rows:
    """Time entries (``columns`` of them) with ``space_name``, ``user_login``,
    ``user_name`` and ``ticket_summary``, in ``begin_at`` order, in ``space_ids`` (all when
    empty), begun on ``since`` .. ``until`` (UTC days, inclusive)."""
    spaces, params, lists = one_of("t.space_id", "spaces", list(space_ids))
    dates, bounds = between("t.begin_at", since, until)
    sql = f"""
        SELECT {_columns("tasks", "t", columns)}, s.name AS space_name,
               u.login AS user_login, u.name AS user_name, k.summary AS ticket_summary
        FROM tasks AS t
        JOIN spaces AS s ON s.id = t.space_id
        LEFT JOIN users AS u ON u.id = t.user_id
        LEFT JOIN tickets AS k ON k.id = t.ticket_id
        WHERE {spaces} AND {dates}
        ORDER BY t.begin_at, t.id"""
    return fetch(conn, sql, {**params, **bounds}, lists)


def event_listing(
    conn: Connection,
    columns: Sequence[str],
    space_ids: Sequence[str] = (),
    since: date | None = None,
    until: date | None = None,
) -> Rows:
    """Activity events (``columns`` of them), oldest first, in ``space_ids`` (all when
    empty), dated ``since`` .. ``until`` (UTC days, inclusive)."""
    spaces, params, lists = one_of("e.space_id", "spaces", list(space_ids))
    dates, bounds = between("e.date", since, until)
    sql = f"""
        SELECT {_columns("events", "e", columns)} FROM events AS e
        WHERE {spaces} AND {dates}
        ORDER BY e.date, e.id"""
    return fetch(conn, sql, {**params, **bounds}, lists)


def custom_field_values(conn: Connection, space_ids: Sequence[str] = ()) -> Rows:
    """Every ticket's custom field values, by ticket and title, in ``space_ids`` (all when
    empty): (ticket_id, title, type, value, number, day, person).

    ``type`` is the field's (by ``custom_field_id``, else the lowest-id field of the
    ticket's space with that title; NULL when none); ``number``, ``day`` and
    ``person`` read ``value`` as the custom field views do (a float, ``YYYY-MM-DD``
    text, a user's name), NULL where it is not one.
    """
    where, params, lists = one_of("k.space_id", "spaces", list(space_ids))
    sql = f"""
        SELECT v.ticket_id, v.title, COALESCE(f.type, g.type) AS type, v.value,
               {number_value("v.value")} AS number, {iso_date("v.value")} AS day,
               COALESCE(u.name, u.login, NULLIF(v.value, '')) AS person
        FROM ticket_custom_fields AS v
        JOIN tickets AS k ON k.id = v.ticket_id
        LEFT JOIN custom_fields AS f ON f.id = v.custom_field_id
        LEFT JOIN custom_fields AS g ON v.custom_field_id IS NULL AND g.id = (
            SELECT MIN(h.id) FROM custom_fields AS h
            WHERE h.space_id = k.space_id AND h.title = v.title)
        LEFT JOIN users AS u ON u.id = v.value
        WHERE {where}
        ORDER BY v.ticket_id, v.title"""
    return fetch(conn, sql, params, lists)
