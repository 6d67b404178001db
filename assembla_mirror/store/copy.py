"""Copying a whole mirror from one database to another (``mirror db copy``).

Everything the mirror knows goes: every table of the model (entities, custom
field values, checkpoints, run history with its ids) and the remembered facts,
so the copy's next sync is incremental and costs no more requests than the
source's would. Left behind is what describes a database rather than the
mirror: the records of which views it holds (the destination writes its own),
the search queue and the full-text index, which the destination rebuilds from
the copied rows in its own dialect.

The source is read as one snapshot (:mod:`assembla_mirror.store.copy_source`),
even while a sync writes it. The destination is written under its run lock (no
sync writes it meanwhile) in one transaction: an interrupted copy leaves it
without a mirror, and the same copy can simply be run again. Rows are streamed
from the source and inserted in batches, parents before children, so memory
stays bounded whatever the size of the mirror.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Table, literal, select
from sqlalchemy.exc import DBAPIError

from assembla_mirror.errors import ConfigError, MirrorError, SchemaError, StorageError
from assembla_mirror.model.tables import Base
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.copy_source import (
    batches,
    copied_tables,
    row_counts,
    rows_to_copy,
    snapshot,
)
from assembla_mirror.store.database import open_existing, open_for_sync
from assembla_mirror.store.failures import describe_database_error
from assembla_mirror.store.field_views import refresh_field_views
from assembla_mirror.store.search import INDEXED, index_pending
from assembla_mirror.store.target import DatabaseTarget, database_target

#: Rows per insert (and per fetch from the source): large enough that a
#: statement's overhead vanishes, small enough to keep memory flat.
BATCH_ROWS = 5000
#: The tables that show a database holds a mirror, named first when refusing one.
MIRROR_SIGNS = ("spaces", "sync_runs", "sync_state")
#: The progress key of rebuilding the search index.
SEARCH_KEY = "search_index"


class CopyProgress(Protocol):
    """Receives a copy's progress: one stream per table (the key is the table's name)."""

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        """A table starts; ``total`` rows will be copied."""

    def advance(self, key: str, items: int = 0) -> None:
        """A batch of ``items`` rows was written."""

    def end(self, key: str) -> None:
        """The table is complete."""


class _Silent:
    def begin(self, key: str, label: str, total: int | None = None) -> None:
        pass

    def advance(self, key: str, items: int = 0) -> None:
        pass

    def end(self, key: str) -> None:
        pass


@dataclass
class CopyReport:
    """What a copy did: where from and to (named as they print), rows per table,
    search entries rebuilt, and how long it took."""

    source: str
    destination: str
    rows: dict[str, int] = field(default_factory=dict)
    indexed: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        """Rows copied, all tables together."""
        return sum(self.rows.values())


def copy_mirror(
    source: str | Path,
    destination: str | Path,
    *,
    progress: CopyProgress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> CopyReport:
    """Copy the mirror at ``source`` into ``destination`` (each a path or a database URL).

    ``source`` must hold a mirror; ``destination`` is created (or migrated) and
    must hold none. Raises :class:`ConfigError` for a missing or empty source
    and for a copy onto itself, :class:`SchemaError` for a destination that
    already holds a mirror (left untouched), :class:`LockedError` while a sync
    runs on the destination, and :class:`StorageError` when either database
    cannot be read or written; the destination then holds no mirror.
    """
    progress = progress or _Silent()
    source_target, destination_target = database_target(source), database_target(destination)
    if same_database(source_target, destination_target):
        raise ConfigError(
            f"{source_target} and {destination_target} are the same database: "
            "a mirror cannot be copied onto itself"
        )
    report = CopyReport(str(source_target), str(destination_target))
    started = time.monotonic()
    source_engine = open_existing(source_target)
    try:
        with _naming(source_target), snapshot(source_engine) as reader:
            report.rows = row_counts(reader)
            if not report.total_rows:
                raise ConfigError(f"{source_target} holds no mirror yet: nothing to copy")
            with (
                _naming(destination_target),
                open_for_sync(destination) as destination_engine,
                destination_engine.begin() as writer,
            ):
                _refuse_a_mirror(writer, destination_target)
                for table in copied_tables():
                    rows = _named_batches(reader, table, batch_rows, source_target)
                    _write_table(writer, table, rows, report, progress)
                    _continue_ids(writer, table)
                report.indexed = _rebuild_search(writer, progress)
                # The custom field views follow the copied fields (the destination
                # had none when it was opened, empty).
                refresh_field_views(writer)
    finally:
        source_engine.dispose()
    report.seconds = time.monotonic() - started
    return report


def same_database(one: DatabaseTarget, other: DatabaseTarget) -> bool:
    """Whether two targets name the same database (for files: the same file, however
    it is reached; for servers: the same URL, password aside, and schema)."""
    if one.file is not None and other.file is not None:
        if one.file == other.file:
            return True
        try:
            return os.path.samefile(one.file, other.file)
        except OSError:  # one does not exist yet
            return False
    return _identity(one) == _identity(other)


def _identity(target: DatabaseTarget) -> tuple[Any, ...]:
    # Every part of the URL but the password (URL.set(password=None) would keep it).
    url = target.url
    query = tuple(sorted(url.query.items()))
    return url.drivername, url.username, url.host, url.port, url.database, query, target.schema


def _named_batches(
    reader: Connection, table: Table, size: int, source: DatabaseTarget
) -> Iterator[list[tuple[Any, ...]]]:
    """:func:`~assembla_mirror.store.copy_source.batches`, a failure to read them named
    as the source's (it surfaces while the destination is being written)."""
    with _naming(source):
        yield from batches(reader, table, size)


# --- the destination ----------------------------------------------------------------


def _refuse_a_mirror(writer: Connection, target: DatabaseTarget) -> None:
    """Refuse a destination that holds any row a copy would write (spaces, runs,
    checkpoints, remembered facts ...): it already holds a mirror, or part of one.
    Empty mirror tables (say, from ``mirror db upgrade``) are no mirror."""
    held = [
        table.name
        for table in copied_tables()
        if writer.execute(rows_to_copy(table).limit(1)).first() is not None
    ]
    held.sort(key=lambda name: (name not in MIRROR_SIGNS, name))
    if held:
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise SchemaError(
            f"{target} already holds a mirror (rows in {shown}); it was left untouched. "
            "Copy into a new file, or an empty database or schema"
        )


def _write_table(
    writer: Connection,
    table: Table,
    rows: Iterator[list[tuple[Any, ...]]],
    report: CopyReport,
    progress: CopyProgress,
) -> None:
    """Insert the batches of ``rows`` into ``table``, reporting progress."""
    # The dialect's bulk insert, as the sync's own writes use it (COPY on
    # PostgreSQL): rows go as tuples, without SQLAlchemy's per-row processing.
    dialect = dialect_of(writer)
    columns = [column.name for column in table.columns]
    progress.begin(table.name, table.name, report.rows[table.name])
    copied = 0
    for batch in rows:
        dialect.insert_rows(writer, table.name, columns, batch)
        copied += len(batch)
        progress.advance(table.name, len(batch))
    progress.end(table.name)
    report.rows[table.name] = copied


def _continue_ids(writer: Connection, table: Table) -> None:
    """Move the id sequence of ``table`` (if it has one) past the copied ids, so the
    next run record does not take a copied run's id."""
    column = table.autoincrement_column
    if column is not None:
        dialect_of(writer).continue_ids(writer, table.name, column.name)


def _rebuild_search(writer: Connection, progress: CopyProgress) -> int:
    """Queue every searchable row and index the queue, in the copy's transaction."""
    queue = Base.metadata.tables["search_pending"]
    progress.begin(SEARCH_KEY, "search index")
    for source in INDEXED:
        rows = Base.metadata.tables[source]
        writer.execute(
            queue.insert().from_select(["source", "id"], select(literal(source), rows.c.id))
        )
    indexed = index_pending(writer)
    progress.advance(SEARCH_KEY, indexed)
    progress.end(SEARCH_KEY)
    return indexed


# --- errors -------------------------------------------------------------------------


@contextmanager
def _naming(target: DatabaseTarget) -> Iterator[None]:
    """Turn a database's failure into one message naming the database ``target``
    (never its password)."""
    try:
        yield
    except MirrorError:
        raise
    except (DBAPIError, OSError) as exc:
        described = describe_database_error(exc, target)
        if described is not None:
            raise described from exc
        if not isinstance(exc, DBAPIError):
            raise
        # Another refusal (a constraint, say): the driver's first line says which.
        lines = str(exc.orig).strip().splitlines()
        raise StorageError(
            f"the copy failed on {target}: {lines[0] if lines else type(exc.orig).__name__}; "
            "the destination was left without a mirror: run the copy again",
            path=str(target),
        ) from exc
