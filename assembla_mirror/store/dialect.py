"""What differs between databases, behind one small interface; SQLite is its first implementation.

The rest of the store writes SQL that every supported database reads alike
(``text()`` with named binds, or SQLAlchemy Core) and asks a :class:`Dialect`
for the rest:

* opening: what a database holds before anything writes to it, an engine whose
  connections are set up for the mirror, whether the database may be written;
* migrating: the copy kept before a migration, what must hold around one, and
  the run lock that keeps two syncs (and two first migrations) apart;
* writing: parameter markers, plain insert, upsert and insert-if-new
  statements (the sync's hot path runs them through the driver), how many
  bound parameters one statement may hold, and what a refused row leaves;
* searching: the full-text index (indexing queued rows, ranked matching, the
  tables it keeps) and a substring test for what the index cannot find;
* expressions the views and reports share: the start of a week, today.

The dialect of a database is chosen from its SQLAlchemy URL
(:func:`dialect_for`) or from an open connection (:func:`dialect_of`). Only
SQLite is implemented; :func:`~assembla_mirror.store.target.database_target`
refuses any other URL with a :class:`~assembla_mirror.errors.ConfigError`.

What a PostgreSQL dialect will meet beyond this interface: the shared SQL still
sums comparisons (``SUM(k.state = 1)``), reads booleans as numbers
(``COALESCE(m.is_completed, 0)``) and rounds doubles (``ROUND(x, 2)``), all
SQLite idioms; :class:`~assembla_mirror.store.target.DatabaseTarget` is a file;
:func:`~assembla_mirror.store.failures.describe_database_error` knows SQLite's
error codes; and migrations 0002-0005 create SQLite's index, triggers and
``WITHOUT ROWID`` table as they were.
"""

from __future__ import annotations

import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, create_engine, event

from assembla_mirror.errors import ConfigError, SchemaError
from assembla_mirror.store import fts5, sqlite_file
from assembla_mirror.store.backup import write_backup
from assembla_mirror.store.locks import FileLock
from assembla_mirror.store.target import DatabaseTarget, unsupported_backend


@dataclass(frozen=True)
class Contents:
    """What a database holds before the mirror writes to it.

    ``revision`` is its Alembic revision (None when unstamped or new);
    ``names`` the names of its tables, views, indexes and triggers.
    """

    revision: str | None = None
    names: frozenset[str] = frozenset()


def quote(name: str) -> str:
    """Quote an identifier, standard SQL (column names such as ``order`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


class Dialect(ABC):
    """What the store asks of a database that differs from one database to another."""

    #: The SQLAlchemy backend name of the databases this dialect serves.
    name: ClassVar[str]
    #: Most bound parameters one statement may hold.
    max_parameters: ClassVar[int]

    # --- opening -------------------------------------------------------------------

    @abstractmethod
    def contents(self, target: DatabaseTarget, *, readonly: bool, busy_timeout_ms: int) -> Contents:
        """What the database holds (empty :class:`Contents` for a new one), read without
        changing anything; with ``readonly``, where the database cannot be written."""

    @abstractmethod
    def create_engine(
        self, target: DatabaseTarget, *, busy_timeout_ms: int, readonly: bool = False
    ) -> Engine:
        """An engine whose connections are set up for the mirror.

        Connections wait up to ``busy_timeout_ms`` for another one's write lock,
        enforce foreign keys, and make every write, DDL included, happen in a
        real transaction. With ``readonly`` they can only read.
        """

    @abstractmethod
    def writable(self, target: DatabaseTarget) -> bool:
        """Whether the mirror may write to the database."""

    # --- migrating -----------------------------------------------------------------

    @abstractmethod
    def backup(
        self, target: DatabaseTarget, revision: str | None, *, busy_timeout_ms: int
    ) -> Path | None:
        """Keep a consistent copy of the database at ``revision`` before migrating it;
        return where, or None when the dialect keeps no copy itself."""

    @abstractmethod
    def migrating(self, connection: Connection) -> AbstractContextManager[None]:
        """What must hold around a migration run on ``connection`` (taken outside any
        transaction), checked when it ends; raises :class:`SchemaError` on a bad result."""

    @abstractmethod
    def run_lock(self, target: DatabaseTarget) -> AbstractContextManager[object]:
        """An exclusive, non-blocking lock on the database for the length of a sync.

        Raises :class:`~assembla_mirror.errors.LockedError` when another holds it.
        The kernel (or the server) must release it when its holder dies.
        """

    # --- writing -------------------------------------------------------------------

    @abstractmethod
    def placeholders(self, count: int) -> str:
        """``count`` positional parameter markers of the driver, comma-separated."""

    def insert_sql(self, table: str, columns: Sequence[str]) -> str:
        """A plain ``INSERT`` of ``columns`` taking positional parameters."""
        return (
            f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({self.placeholders(len(columns))})"
        )

    @abstractmethod
    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """An insert of ``columns`` that updates every non-key column of a row whose
        ``key`` is already stored."""

    @abstractmethod
    def insert_new_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """An insert of ``columns`` that leaves out rows whose ``key`` is already stored."""

    @abstractmethod
    def refusable(self, connection: Connection) -> AbstractContextManager[None]:
        """Around statements the database may refuse (a constraint), so that a refusal
        leaves the transaction usable; it undoes at least the refused statement."""

    @abstractmethod
    def refused_columns(self, reason: str, table: str, columns: Sequence[str]) -> list[str]:
        """The columns of ``table`` that a refusal's ``reason`` (the driver's message) names."""

    # --- searching -----------------------------------------------------------------

    @abstractmethod
    def index_queued(self, connection: Connection, source: str, columns: Sequence[str]) -> int:
        """Index the rows of ``source`` queued in ``search_pending``; how many."""

    @abstractmethod
    def matching_tickets(
        self, connection: Connection, words: Sequence[str], limit: int, space_ids: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """Tickets whose summary, description or comments hold every word (a word or the
        start of one, case and accents folded), best first, at most ``limit``, in
        ``space_ids`` (all when empty): (id, space_id, space name, number, summary,
        snippet with the words marked ``[...]``, rank)."""

    @abstractmethod
    def contains(self, text: str, part: str) -> str:
        """A condition: SQL expression ``text`` holds ``part`` as is (case-sensitive)."""

    @abstractmethod
    def internal_tables(self, connection: Connection) -> set[str]:
        """Tables of the dialect's own machinery (a full-text index's), not for people."""

    # --- expressions of views and reports -------------------------------------------

    @abstractmethod
    def week_start(self, column: str) -> str:
        """The date (``YYYY-MM-DD``) of the Monday of the week of UTC datetime ``column``."""

    @abstractmethod
    def today(self) -> str:
        """Today's date (``YYYY-MM-DD``, UTC)."""


class SQLiteDialect(Dialect):
    """A mirror in a SQLite file, in WAL mode so that readers are never blocked."""

    name = "sqlite"
    #: SQLITE_MAX_VARIABLE_NUMBER by default since SQLite 3.32 (some builds allow more).
    max_parameters = 32766
    #: WAL checkpoint interval in pages: 64 MB of 4 KB pages.
    WAL_CHECKPOINT_PAGES = 16_384

    def contents(self, target: DatabaseTarget, *, readonly: bool, busy_timeout_ms: int) -> Contents:
        timeout = busy_timeout_ms / 1000
        if not readonly:
            return Contents(*sqlite_file.inventory_before_writing(target, timeout=timeout))
        if target.file.stat().st_size == 0:
            return Contents()
        uri = sqlite_file.readonly_uri(target, timeout=timeout)
        connection = sqlite_file.connect_uri(uri, timeout=timeout)
        try:
            return Contents(*sqlite_file.inventory(connection))
        finally:
            connection.close()

    def create_engine(
        self, target: DatabaseTarget, *, busy_timeout_ms: int, readonly: bool = False
    ) -> Engine:
        if readonly:
            timeout = busy_timeout_ms / 1000
            uri = sqlite_file.readonly_uri(target, timeout=timeout)
            engine = create_engine(
                target.url, creator=lambda: sqlite_file.connect_uri(uri, timeout=timeout)
            )
            event.listen(engine, "connect", _query_only)
            return engine
        engine = create_engine(target.url)

        def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
            _set_up(dbapi_connection, busy_timeout_ms, self.WAL_CHECKPOINT_PAGES)

        event.listen(engine, "connect", on_connect)
        event.listen(engine, "begin", _begin)
        return engine

    def writable(self, target: DatabaseTarget) -> bool:
        # os.access also sees what chmod cannot show: an immutable file, a read-only mount.
        return not target.file.exists() or os.access(target.file, os.W_OK)

    def backup(self, target: DatabaseTarget, revision: str | None, *, busy_timeout_ms: int) -> Path:
        return write_backup(target.file, revision, timeout=busy_timeout_ms / 1000)

    @contextmanager
    def migrating(self, connection: Connection) -> Iterator[None]:
        # A batch migration rebuilds a table by copying it: with foreign keys enforced,
        # dropping the old copy would cascade-delete every child row. So enforcement
        # is off meanwhile, and the result is checked before it comes back on.
        set_foreign_keys(connection, enabled=False)
        try:
            yield
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise SchemaError(f"migration left dangling foreign keys: {problems[:5]}")
        finally:
            connection.rollback()
            set_foreign_keys(connection, enabled=True)

    def run_lock(self, target: DatabaseTarget) -> FileLock:
        return FileLock(target.file)

    def placeholders(self, count: int) -> str:
        return ",".join("?" * count)

    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        updates = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in columns if c not in key)
        return (
            f"{self.insert_sql(table, columns)} "
            f"ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE SET {updates}"
        )

    def insert_new_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        # OR IGNORE rather than an upsert's DO NOTHING: SQLite keeps no statement
        # journal for it. (It also ignores NOT NULL violations; the callers' rows
        # carry their keys and nothing else.)
        return (
            f"INSERT OR IGNORE INTO {quote(table)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({self.placeholders(len(columns))})"
        )

    def refusable(self, connection: Connection) -> AbstractContextManager[None]:
        # SQLite undoes only the refused statement; the transaction stays usable.
        return nullcontext()

    def refused_columns(self, reason: str, table: str, columns: Sequence[str]) -> list[str]:
        if "FOREIGN KEY" in reason:  # SQLite does not say which reference dangles
            return [name for name in columns if name.endswith("_id") and name != "id"][:1]
        return re.findall(rf"\b{re.escape(table)}\.(\w+)", reason)

    def index_queued(self, connection: Connection, source: str, columns: Sequence[str]) -> int:
        return fts5.index_queued(connection, source, columns)

    def matching_tickets(
        self, connection: Connection, words: Sequence[str], limit: int, space_ids: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        return fts5.matching_tickets(connection, words, limit, space_ids)

    def contains(self, text: str, part: str) -> str:
        return f"instr({text}, {part})"

    def internal_tables(self, connection: Connection) -> set[str]:
        objects = connection.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
        ).all()
        indexes = [name for name, sql in objects if "VIRTUAL TABLE" in (sql or "").upper()]
        return {
            name
            for name, _sql in objects
            if any(name == index or name.startswith(index + "_") for index in indexes)
        }

    def week_start(self, column: str) -> str:
        return f"date({column}, '-6 days', 'weekday 1')"

    def today(self) -> str:
        return "date('now')"


def _set_up(dbapi_connection: sqlite3.Connection, busy_timeout_ms: int, wal_pages: int) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event (see _begin); pysqlite's
    # own implicit transactions skip DDL and would make migrations non-atomic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    # In WAL mode with synchronous=NORMAL the only fsyncs are checkpoints; the
    # default (every 4 MB) made them most of a large sync's cost. 64 MB keeps the
    # WAL bounded and the fsyncs rare.
    cursor.execute(f"PRAGMA wal_autocheckpoint = {int(wal_pages)}")
    cursor.close()


def _begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN")


def _query_only(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only = ON")


def set_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    """Switch SQLite's foreign key enforcement on ``connection``, outside any transaction.

    Sent through the DBAPI connection: SQLAlchemy would send BEGIN first, and
    inside a transaction SQLite ignores this pragma without a word.
    """
    raw = connection.connection.driver_connection
    if raw is None or raw.in_transaction:
        raise SchemaError("foreign key enforcement can only be switched outside a transaction")
    raw.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")


SQLITE = SQLiteDialect()

#: The implemented dialects, by SQLAlchemy backend name.
DIALECTS: dict[str, Dialect] = {SQLITE.name: SQLITE}


def dialect_for(target: DatabaseTarget) -> Dialect:
    """The dialect of the database ``target`` names, from its URL's backend."""
    backend = target.url.get_backend_name()
    try:
        return DIALECTS[backend]
    except KeyError:
        raise unsupported_backend(backend) from None


def dialect_of(connection: Connection | Engine) -> Dialect:
    """The dialect of the database behind an open ``connection`` (or engine)."""
    try:
        return DIALECTS[connection.dialect.name]
    except KeyError:
        raise ConfigError(f"no assembla-mirror dialect for {connection.dialect.name}") from None
