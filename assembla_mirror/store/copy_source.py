"""Reading a mirror for a copy (:mod:`assembla_mirror.store.copy`): one snapshot, every
row as stored, streamed in batches.

The source is read in one read transaction, a consistent snapshot even while a
sync writes it (SQLite in WAL mode; a repeatable-read transaction on a server).
Columns stored as text that read back as other Python types (UTC datetimes,
dates) are read as their text, so they are copied exactly. Left out are the
facts about the database itself rather than the mirror (:data:`LOCAL_META_KEYS`)
and the search queue, which the destination rebuilds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Select, Table, func, select, type_coerce
from sqlalchemy.types import TypeDecorator

from assembla_mirror.model.tables import Base
from assembla_mirror.store.field_views import META_KEY as FIELD_VIEWS_META_KEY
from assembla_mirror.store.views import META_KEY as VIEWS_META_KEY

#: ``mirror_meta`` keys that describe the database itself, not the mirror: the records
#: of which views it holds (each database writes its own).
LOCAL_META_KEYS = frozenset({VIEWS_META_KEY, FIELD_VIEWS_META_KEY})
#: Tables of the model that are not copied: the search queue (rebuilt instead).
NOT_COPIED = frozenset({"search_pending"})


def copied_tables() -> list[Table]:
    """The tables a copy fills, parents before children."""
    return [table for table in Base.metadata.sorted_tables if table.name not in NOT_COPIED]


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection to ``engine`` inside one read transaction: every read sees the
    database as it was at the first one."""
    with engine.connect() as connection:
        connection.execution_options(**_snapshot_options(connection))
        with connection.begin():
            yield connection


def _snapshot_options(connection: Connection) -> dict[str, Any]:
    """What makes one transaction read one snapshot. SQLite in WAL mode does by itself;
    a server's default (read committed) takes a new snapshot for every statement.
    (Dialect-specific: a candidate for the dialect's interface.)"""
    if connection.dialect.name == "postgresql":
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    return {}


def rows_to_copy(table: Table) -> Select[Any]:
    """All rows of ``table`` that a copy carries, every column as stored."""
    columns = [
        type_coerce(column, column.type.impl_instance).label(column.name)
        if isinstance(column.type, TypeDecorator)
        else column
        for column in table.columns
    ]
    query = select(*columns)
    if table.name == "mirror_meta":
        query = query.where(table.c.key.not_in(LOCAL_META_KEYS))
    return query


def row_counts(reader: Connection) -> dict[str, int]:
    """Rows of each table to copy, by table name, parents first."""
    return {
        table.name: reader.execute(
            select(func.count()).select_from(rows_to_copy(table).subquery())
        ).scalar_one()
        for table in copied_tables()
    }


def batches(reader: Connection, table: Table, size: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of ``table`` as tuples in column order, streamed (never all in memory),
    ``size`` at a time."""
    query = rows_to_copy(table).execution_options(stream_results=True, yield_per=size)
    for batch in reader.execute(query).partitions():
        yield [tuple(row) for row in batch]
