"""Opening a mirror database: engine, SQLite pragmas, and migrate-on-open.

Every command opens the file through :func:`open_db`, so no code ever sees a
stale schema. Opening a database whose revision is behind the code backs the
file up (``<file>.bak-<timestamp>``, a consistent copy made with SQLite's
backup API) and upgrades it to head; a database written by a newer version is
refused untouched.

Connections run in WAL mode, so readers (sqlite3, Datasette, pandas) are never
blocked by a running sync, and use explicit ``BEGIN`` so that every write,
DDL included, happens in a real transaction.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect

from assembla_mirror.errors import ConfigError, SchemaError

BUSY_TIMEOUT_MS = 10_000
WAL_CHECKPOINT_PAGES = 16_384  # 64 MB of 4 KB pages


def migrations_dir() -> Path:
    """Where the Alembic scripts are: inside the package when installed from a wheel,
    at the repository root in a source checkout or editable install."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "migrations", here.parent / "migrations"):
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
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
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


def create_sqlite_engine(path: str | Path) -> Engine:
    """A SQLAlchemy engine on ``path`` with the mirror's pragmas and explicit transactions."""
    engine = create_engine(f"sqlite:///{Path(path)}")
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    return engine


def open_readonly(path: str | Path) -> Engine:
    """An engine that can only read ``path`` (for ``--dry-run``): no pragma, no migration."""
    uri = f"file:{Path(path).resolve()}?mode=ro"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    event.listen(engine, "connect", _on_connect_readonly)
    return engine


def _on_connect_readonly(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA query_only = ON")


def current_revision(engine: Engine) -> str | None:
    """The schema revision stamped in the database, or None for a new/empty file."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def backup_database(path: Path, revision: str | None) -> Path:
    """Copy ``path`` consistently (WAL included) next to itself; return the copy's path."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.bak-{stamp}-{revision or 'unversioned'}")
    source = sqlite3.connect(path)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    finally:
        source.close()
    return target


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


def open_db(path: str | Path, *, upgrade: bool = True) -> Engine:
    """Open (creating if needed) the mirror at ``path`` and bring its schema to head.

    Raises :class:`SchemaError` when the file was written by a newer version or
    is not a SQLite database; a pending migration first backs the file up.
    """
    path = Path(path)
    if path.parent != Path() and not path.parent.is_dir():
        raise SchemaError(f"cannot open {path}: directory {path.parent} does not exist")
    engine = create_sqlite_engine(path)
    try:
        revision = current_revision(engine)
    except Exception as exc:
        engine.dispose()
        raise SchemaError(f"{path} is not a usable SQLite database: {exc}") from None
    script = ScriptDirectory.from_config(alembic_config())
    head = head_revision()
    if revision is not None and revision != head:
        try:
            script.get_revision(revision)
        except Exception:
            engine.dispose()
            raise SchemaError(
                f"{path} was written by a newer version of assembla-mirror (schema revision "
                f"{revision}); upgrade assembla-mirror to use it. The file was not changed."
            ) from None
    if upgrade and revision != head:
        if revision is not None or _has_tables(engine):
            backup_database(path, revision)
        migrate(engine)
    return engine


def open_existing(path: str | Path) -> Engine:
    """Open a mirror that must already exist (upgrading its schema).

    :func:`open_db` creates a missing file, which is right for a sync and wrong
    for a reader: a typo in a path would quietly answer from an empty mirror.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no mirror at {path}; create it with `mirror sync --db {path}`")
    return open_db(path)


def _has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())
