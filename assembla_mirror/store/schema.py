"""What the database holds, for people: its tables and views with their columns.

Read from the database itself (SQLAlchemy's inspector), so a description
generated from it describes exactly the database it is written for. Tables of
the dialect's own machinery (SQLite's full-text index and its shadow tables)
are left out.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect

from assembla_mirror.store.backends import dialect_of


def schema_columns(conn: Connection) -> dict[str, list[str]]:
    """Columns of every table and view a person would look at, by name."""
    inspector = inspect(conn)
    internal = dialect_of(conn).internal_tables(conn)
    names = set(inspector.get_table_names()) | set(inspector.get_view_names())
    return {
        name: [column["name"] for column in inspector.get_columns(name)]
        for name in sorted(names - internal)
    }
