"""Opening a mirror database: engine, SQLite pragmas, and migrate-on-open.

Every command opens the file through :func:`open_db` (or :func:`open_existing`,
:func:`open_readonly`), so no code ever sees a stale schema. What to open is
given as a path, taken literally (``weird?name.db`` is that file), or as a
``sqlite:///`` URL; see :func:`database_target`.

Before anything is written the file is inspected read-only, and refused
untouched when it cannot be a mirror: not a regular file (a directory,
``/dev/null``), another application's database, or one written by a newer
version. Opening a mirror whose revision is behind the code backs the file up
(``<file>.bak-<timestamp>-<revision>``, a consistent copy made with SQLite's
backup API, keeping one per revision) and upgrades it to head. A file that
cannot be read or written (locked, full, read-only) is reported by
:func:`describe_database_error` in one message naming it.

Connections run in WAL mode, so readers (sqlite3, Datasette, pandas) are never
blocked by a running sync, and use explicit ``BEGIN`` so that every write,
DDL included, happens in a real transaction.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

from assembla_mirror.errors import ConfigError, MirrorError, SchemaError, StorageError

# "import X as X": re-exported, part of this module's interface.
from assembla_mirror.store.backup import write_backup
from assembla_mirror.store.failures import SQLITE_CANTOPEN, readonly_error, sqlite_code
from assembla_mirror.store.failures import describe_database_error as describe_database_error
from assembla_mirror.store.target import DatabaseTarget as DatabaseTarget
from assembla_mirror.store.target import database_target as database_target
from assembla_mirror.store.target import existing_file, sqlite_uri

#: How long a connection waits for another one's write lock before giving up
#: (module-level so tests can shorten it).
BUSY_TIMEOUT_MS = 10_000
WAL_CHECKPOINT_PAGES = 16_384  # 64 MB of 4 KB pages
#: A table every mirror has had since the first revision; an unknown revision
#: without it is another application's Alembic, not a newer assembla-mirror.
MIRROR_TABLE = "spaces"


def migrations_dir() -> Path:
    """Where the Alembic scripts are: inside the package when installed from a wheel,
    at the repository root in a source checkout or editable install."""
    package = Path(__file__).resolve().parent.parent  # assembla_mirror/
    for candidate in (package / "migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise SchemaError(
        "the Alembic migrations are missing from this installation of assembla-mirror"
    )


def alembic_config(connection: Any = None) -> Config:
    """An Alembic config built in code (no alembic.ini needed), optionally bound to a connection."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest schema revision this version of assembla-mirror knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise SchemaError("no schema revisions found")
    return head


def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # Hand transaction control to SQLAlchemy's "begin" event below; pysqlite's own
    # implicit transactions skip DDL and would make migrations non-atomic.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    # In WAL mode with synchronous=NORMAL the only fsyncs are checkpoints; the
    # default (every 4 MB) made them most of a large sync's cost. 64 MB keeps the
    # WAL bounded and the fsyncs rare.
    cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    cursor.close()


def _on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def create_sqlite_engine(path: str | Path | DatabaseTarget) -> Engine:
    """A SQLAlchemy engine on ``path`` (see :func:`database_target`) with the mirror's
    pragmas and explicit transactions. Checks and migrates nothing: use :func:`open_db`."""
    engine = create_engine(database_target(path).url)
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


@contextmanager
def _described(target: DatabaseTarget) -> Iterator[None]:
    """Turn a locked/full/read-only/unopenable file's error into one clear message."""
    try:
        yield
    except MirrorError:
        raise
    except Exception as exc:
        described = describe_database_error(exc, str(target))
        if described is None:
            raise
        raise described from exc


def _connect_uri(uri: str) -> sqlite3.Connection:
    connection = sqlite3.connect(
        uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
    )
    try:
        # Opening is lazy: the first read is what finds a lock, a missing -shm, a non-database.
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        connection.close()
        raise
    return connection


@dataclass(frozen=True)
class _Contents:
    revision: str | None = None
    names: frozenset[str] = frozenset()  # tables, views, indexes, triggers


def _inspect(connection: sqlite3.Connection) -> _Contents:
    names = frozenset(
        row[0]
        for row in connection.execute(
            r"SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'"
        )
    )
    revision = None
    if "alembic_version" in names:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        revision = rows[0][0] if rows else None
    return _Contents(revision, names)


def _inspect_file(target: DatabaseTarget) -> _Contents:
    """What the file holds, read before anything (a pragma, a migration) may write to it."""
    if target.file.stat().st_size == 0:
        return _Contents()  # an empty file (as a lock creates it) is a new mirror
    # Read-write but only reading, and without the mirror's pragmas (journal_mode=WAL
    # would rewrite another application's file): as the last connection to a WAL
    # file it also removes the -wal/-shm files a mode=ro one would leave behind.
    with closing(_connect_uri(sqlite_uri(target.file, "mode=rw"))) as connection:
        return _inspect(connection)


def _refuse_unusable(target: DatabaseTarget, contents: _Contents, head: str) -> None:
    """Refuse another application's database, or a mirror written by a newer version."""
    if contents.names and "alembic_version" not in contents.names:
        _refuse_foreign(target, contents)
    if contents.revision is None or contents.revision == head:
        return
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(contents.revision)
    except Exception:
        if MIRROR_TABLE not in contents.names:
            _refuse_foreign(target, contents)
        raise SchemaError(
            f"{target} was written by a newer version of assembla-mirror (schema revision "
            f"{contents.revision}); upgrade assembla-mirror to use it. The file was not changed."
        ) from None


def _refuse_foreign(target: DatabaseTarget, contents: _Contents) -> None:
    names = sorted(contents.names)
    sample = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    raise SchemaError(
        f"{target} is not an assembla-mirror database: it holds another application's "
        f"tables ({sample}). It was left untouched; give the path of a mirror or of "
        "a new file."
    )


def _refuse_readonly(target: DatabaseTarget) -> None:
    # os.access also sees what chmod cannot show: an immutable file, a read-only mount.
    if not os.access(target.file, os.W_OK):
        raise readonly_error(str(target), "no write access to the file")


def open_readonly(path: str | Path | DatabaseTarget) -> Engine:
    """An engine that can only read the mirror at ``path`` (for ``--dry-run``).

    Sets no pragma and migrates nothing; refuses what :func:`open_db` refuses
    (a missing file, not a file, another application's database, a newer mirror).
    A mirror in a read-only location is read too; see :func:`_readonly_uri`.
    """
    target = database_target(path)
    if not existing_file(target):
        raise ConfigError(f"no mirror at {target}")
    with _described(target):
        if target.file.stat().st_size == 0:
            uri = sqlite_uri(target.file, "mode=ro")
            contents = _Contents()
        else:
            uri = _readonly_uri(target)
            with closing(_connect_uri(uri)) as connection:
                contents = _inspect(connection)
    _refuse_unusable(target, contents, head_revision())
    engine = create_engine(target.url, creator=lambda: _connect_uri(uri))
    event.listen(engine, "connect", _on_connect_readonly)
    return engine


def _readonly_uri(target: DatabaseTarget) -> str:
    """``mode=ro``, or ``immutable=1`` when ``mode=ro`` cannot open a WAL mirror.

    A read-only connection to a WAL database needs its ``-shm`` (and ``-wal``)
    file: if a clean close removed them and the directory (or the file) cannot
    be written, SQLite cannot create them and ``mode=ro`` fails to open.
    ``immutable=1`` reads the file without them, trusting that nothing changes
    it meanwhile. That is safe enough here: the WAL holds nothing (checked
    below; a non-empty one would hold commits the file lacks, or half a
    checkpoint, so that case is refused), no writer can be running (a WAL
    writer keeps the ``-shm`` file in place, and with it ``mode=ro`` works), and
    the reader is a dry-run plan, which writes nothing and at worst misjudges
    the cost of a sync that starts while it runs.
    """
    readonly = sqlite_uri(target.file, "mode=ro")
    try:
        _connect_uri(readonly).close()
        return readonly
    except sqlite3.OperationalError as exc:
        if sqlite_code(exc) != SQLITE_CANTOPEN:
            raise
        failure = exc
    wal = Path(f"{target.file}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StorageError(
            f"cannot read {target} read-only: its write-ahead log {target}-wal holds "
            "changes that can only be applied where the file may be written (the last "
            "writer stopped before finishing); open it once with write access, for "
            "example with `mirror status`, or copy the three files somewhere writable",
            path=str(target),
            reason="unopenable",
        )
    immutable = sqlite_uri(target.file, "mode=ro&immutable=1")
    try:
        _connect_uri(immutable).close()
    except sqlite3.Error:
        raise failure from None
    return immutable


def _on_connect_readonly(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only = ON")


def current_revision(engine: Engine) -> str | None:
    """The schema revision stamped in the database, or None for a new/empty file."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def backup_database(path: str | Path | DatabaseTarget, revision: str | None) -> Path:
    """Copy the database consistently (WAL included) next to itself; return the copy's path.

    The copy is ``<file>.bak-<time>-<revision>``, written atomically; older
    backups of the same file at the same revision are then deleted (see
    :mod:`assembla_mirror.store.backup`).
    """
    return write_backup(database_target(path).file, revision, timeout=BUSY_TIMEOUT_MS / 1000)


def set_foreign_keys(connection: Connection, *, enabled: bool) -> None:
    """Switch SQLite's foreign key enforcement on ``connection``, outside any transaction.

    Sent through the DBAPI connection: SQLAlchemy would send BEGIN first, and
    inside a transaction SQLite ignores this pragma without a word.
    """
    raw = connection.connection.driver_connection
    if raw is None or raw.in_transaction:
        raise SchemaError("foreign key enforcement can only be switched outside a transaction")
    raw.execute(f"PRAGMA foreign_keys = {'ON' if enabled else 'OFF'}")


def migrate(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to head in one transaction.

    Foreign keys are switched off while migrating: a batch migration rebuilds a
    table by copying it, and with enforcement on, dropping the old copy would
    cascade-delete every child row. The result is checked before switching back.
    """
    with engine.connect() as connection:
        set_foreign_keys(connection, enabled=False)
        try:
            command.upgrade(alembic_config(connection), "head")
            connection.commit()
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise SchemaError(f"migration left dangling foreign keys: {problems[:5]}")
        finally:
            connection.rollback()
            set_foreign_keys(connection, enabled=True)


def open_db(path: str | Path | DatabaseTarget, *, upgrade: bool = True) -> Engine:
    """Open (creating if needed) the mirror at ``path`` and bring its schema to head.

    ``path`` is a file path or a ``sqlite:///`` URL (see :func:`database_target`).
    Raises :class:`ConfigError` for something that cannot hold a mirror (``:memory:``,
    a directory, a device), :class:`SchemaError` for a file that is not a usable
    SQLite database, another application's database or one written by a newer
    version (each left untouched), and :class:`StorageError` for a file that cannot
    be read or written (locked, full, read-only). With ``upgrade`` (a writer's
    open) a read-only file is refused at once; a pending migration first backs the
    file up.
    """
    return _open(database_target(path), upgrade=upgrade, writer=upgrade)


def open_existing(path: str | Path | DatabaseTarget) -> Engine:
    """Open a mirror that must already exist (upgrading its schema).

    :func:`open_db` creates a missing file, which is right for a sync and wrong
    for a reader: a typo in a path would quietly answer from an empty mirror. A
    reader may open a read-only mirror, unless it needs a migration.
    """
    target = database_target(path)
    if not existing_file(target):
        raise ConfigError(f"no mirror at {target}; create it with `mirror sync --db {target}`")
    return _open(target, upgrade=True, writer=False)


def _open(target: DatabaseTarget, *, upgrade: bool, writer: bool) -> Engine:
    exists = existing_file(target)
    with _described(target):
        contents = _inspect_file(target) if exists else _Contents()
    head = head_revision()
    _refuse_unusable(target, contents, head)
    pending = upgrade and contents.revision != head
    if exists and (writer or pending):
        _refuse_readonly(target)
    engine = create_sqlite_engine(target)
    try:
        with _described(target):
            with engine.connect():
                pass  # applies the pragmas (WAL) now, so a file that cannot take them fails here
            if pending:
                if contents.names:  # an existing mirror: keep a copy of it as it was
                    backup_database(target, contents.revision)
                migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
