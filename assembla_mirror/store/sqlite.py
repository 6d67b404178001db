"""A mirror in a SQLite file: the first :class:`~assembla_mirror.store.dialect.Dialect`.

The file is looked at with plain :mod:`sqlite3` before an engine is made
(:mod:`.sqlite_file`), its connections run in WAL mode so that readers are
never blocked by a sync, and every write, DDL included, happens in a real
transaction (SQLAlchemy's ``BEGIN`` rather than pysqlite's implicit ones). The
run lock is ``flock`` on the file (:mod:`.locks`), the copy before a
migration SQLite's backup API (:mod:`.backup`), the full-text index FTS5
(:mod:`.fts5`). A new mirror is created by replaying every migration.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from assembla_mirror.errors import ConfigError, MirrorError, SchemaError
from assembla_mirror.store import fts5, sqlite_file
from assembla_mirror.store.backup import write_backup
from assembla_mirror.store.dialect import Contents, Dialect, quote
from assembla_mirror.store.failures import describe_database_error
from assembla_mirror.store.locks import FileLock
from assembla_mirror.store.target import DatabaseTarget


class SQLiteDialect(Dialect):
    """A mirror in a SQLite file, in WAL mode so that readers are never blocked."""

    name = "sqlite"
    #: SQLITE_MAX_VARIABLE_NUMBER by default since SQLite 3.32 (some builds allow more).
    max_parameters = 32766
    #: WAL checkpoint interval in pages: 64 MB of 4 KB pages.
    WAL_CHECKPOINT_PAGES = 16_384

    def exists(self, target: DatabaseTarget) -> bool:
        return existing_file(target)

    def contents(self, target: DatabaseTarget, *, readonly: bool, busy_timeout_ms: int) -> Contents:
        timeout = busy_timeout_ms / 1000
        if not readonly:
            return Contents(*sqlite_file.inventory_before_writing(target, timeout=timeout))
        if target.sqlite_file().stat().st_size == 0:
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
        file = target.sqlite_file()
        return not file.exists() or os.access(file, os.W_OK)

    def describe_error(self, exc: BaseException, target: DatabaseTarget) -> MirrorError | None:
        return describe_database_error(exc, str(target))

    def backup(self, target: DatabaseTarget, revision: str | None, *, busy_timeout_ms: int) -> Path:
        return write_backup(target.sqlite_file(), revision, timeout=busy_timeout_ms / 1000)

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
        return FileLock(target.sqlite_file())

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

    def seconds_between(self, start: str, end: str) -> str:
        # Unix seconds, exact integers (julianday's fractions of a day are not).
        return (
            f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"
        )

    def next_day(self, day: str) -> str:
        return f"date({day}, '+1 day')"


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


def existing_file(target: DatabaseTarget) -> bool:
    """Whether the mirror's file exists; refuse anything there that is not a regular file.

    Raises :class:`ConfigError` for a directory, a device (``/dev/null``), a pipe or
    a socket, and :class:`SchemaError` when the file's directory does not exist.
    """
    file = target.sqlite_file()
    try:
        mode = os.stat(file).st_mode
    except FileNotFoundError:
        if not file.parent.is_dir():
            raise SchemaError(
                f"cannot open {target}: directory {Path(str(target)).parent} does not exist"
            ) from None
        return False
    except NotADirectoryError:
        raise SchemaError(
            f"cannot open {target}: {Path(str(target)).parent} is not a directory"
        ) from None
    except OSError as exc:
        raise describe_database_error(exc, str(target)) or exc from None
    if not stat.S_ISREG(mode):
        kind = (
            "a directory"
            if stat.S_ISDIR(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a named pipe or socket"
        )
        raise ConfigError(
            f"{target} is {kind}, not a file: the mirror must be kept in a regular file; "
            "give a file path"
        )
    return True
