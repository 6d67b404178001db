"""Opening a mirror database: engine, migrate-on-open, the views, and the run lock.

Every command opens the database through :func:`open_db` (or :func:`open_existing`,
:func:`open_readonly`; a sync through :func:`open_for_sync`), so no code ever
sees a stale schema. What to open is given as a path, taken literally
(``weird?name.db`` is that file), or as a SQLAlchemy URL; see
:func:`database_target`. What differs between databases (pragmas, the backup,
the lock ...) is the dialect's (:mod:`assembla_mirror.store.dialect`).

Before anything is written the database is inspected read-only, and refused
untouched when it cannot be a mirror: not a regular file (a directory,
``/dev/null``), another application's database, or one written by a newer
version. Opening a mirror whose revision is behind the code backs it up (for a
SQLite file ``<file>.bak-<timestamp>-<revision>``, a consistent copy made with
SQLite's backup API, keeping one per revision) and upgrades it to head; an
open that may write then (re)creates the report views if the database does
not hold their current definitions (:mod:`assembla_mirror.store.views`). A
database that cannot be read or written (locked, full, read-only) is reported
by :func:`describe_database_error` in one message naming it.

Connections run in WAL mode, so readers (sqlite3, Datasette, pandas) are never
blocked by a running sync, and use explicit ``BEGIN`` so that every write,
DDL included, happens in a real transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from assembla_mirror.errors import ConfigError, MirrorError, SchemaError

# "import X as X": re-exported, part of this module's interface.
from assembla_mirror.store.backends import dialect_for, dialect_of
from assembla_mirror.store.dialect import Contents, Dialect
from assembla_mirror.store.failures import describe_database_error as describe_database_error
from assembla_mirror.store.failures import readonly_error
from assembla_mirror.store.sqlite import set_foreign_keys as set_foreign_keys
from assembla_mirror.store.target import DatabaseTarget as DatabaseTarget
from assembla_mirror.store.target import database_target as database_target
from assembla_mirror.store.views import refresh_views

#: How long a connection waits for another one's write lock before giving up
#: (module-level so tests can shorten it).
BUSY_TIMEOUT_MS = 10_000
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


def create_engine_for(path: str | Path | DatabaseTarget) -> Engine:
    """A SQLAlchemy engine on ``path`` (see :func:`database_target`), its connections set
    up by the database's dialect. Checks and migrates nothing: use :func:`open_db`."""
    target = database_target(path)
    return dialect_for(target).create_engine(target, busy_timeout_ms=BUSY_TIMEOUT_MS)


#: The historical name of :func:`create_engine_for`.
create_sqlite_engine = create_engine_for


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


def _refuse_unusable(target: DatabaseTarget, contents: Contents, head: str) -> None:
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
            f"{contents.revision}); upgrade assembla-mirror to use it. Nothing was changed."
        ) from None


def _refuse_foreign(target: DatabaseTarget, contents: Contents) -> None:
    names = sorted(contents.names)
    sample = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    raise SchemaError(
        f"{target} is not an assembla-mirror database: it holds another application's "
        f"tables ({sample}). It was left untouched; {_elsewhere(target)}."
    )


def _elsewhere(target: DatabaseTarget) -> str:
    """Where a mirror can go instead of ``target``, in the words of its kind of database."""
    if target.file is not None:
        return "give the path of a mirror or of a new file"
    return "give a mirror's URL, or a new schema with ?schema=NAME"


def _refuse_readonly(target: DatabaseTarget, dialect: Dialect) -> None:
    if not dialect.writable(target):
        raise readonly_error(str(target), "no write access to the file")


def mirror_exists(path: str | Path | DatabaseTarget) -> bool:
    """Whether there is a database at ``path`` to open (a file; a server's mirror tables),
    without creating or changing anything. Raises what :func:`open_db` would for a
    target that cannot hold a mirror (a directory, an unreachable server)."""
    target = database_target(path)
    with _described(target):
        return dialect_for(target).exists(target)


def open_readonly(path: str | Path | DatabaseTarget) -> Engine:
    """An engine that can only read the mirror at ``path`` (for ``--dry-run``).

    Sets no pragma and migrates nothing; refuses what :func:`open_db` refuses
    (a missing file, not a file, another application's database, a newer mirror).
    A mirror in a read-only location is read too (see
    :func:`assembla_mirror.store.sqlite_file.readonly_uri`).
    """
    target = database_target(path)
    dialect = dialect_for(target)
    with _described(target):
        if not dialect.exists(target):
            raise ConfigError(f"no mirror at {target}")
    with _described(target):
        contents = dialect.contents(target, readonly=True, busy_timeout_ms=BUSY_TIMEOUT_MS)
    _refuse_unusable(target, contents, head_revision())
    with _described(target):
        return dialect.create_engine(target, busy_timeout_ms=BUSY_TIMEOUT_MS, readonly=True)


def current_revision(engine: Engine) -> str | None:
    """The schema revision stamped in the database, or None for a new/empty one."""
    with engine.connect() as connection:
        return _revision(connection)


def backup_database(path: str | Path | DatabaseTarget, revision: str | None) -> Path | None:
    """Keep a consistent copy of the database at ``revision``; return where (None when
    the dialect keeps none).

    For a SQLite file the copy is ``<file>.bak-<time>-<revision>`` beside it,
    written atomically; older backups of the same file at the same revision are
    then deleted (see :mod:`assembla_mirror.store.backup`).
    """
    target = database_target(path)
    return dialect_for(target).backup(target, revision, busy_timeout_ms=BUSY_TIMEOUT_MS)


def migrate(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to head in one transaction, under what its
    dialect needs around a migration (for SQLite: foreign keys off, checked after).

    A new database of a dialect that creates at head (PostgreSQL) is built from
    the models and stamped with the head revision instead, in the same one
    transaction.
    """
    dialect = dialect_of(engine)
    with engine.connect() as connection, dialect.migrating(connection):
        config = alembic_config(connection)
        if dialect.creates_at_head and _revision(connection) is None:
            dialect.create_at_head(connection)
            command.stamp(config, "head")
        else:
            command.upgrade(config, "head")
        connection.commit()


def _revision(connection: Any) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


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
    with _described(target):
        exists = dialect_for(target).exists(target)
    if not exists:
        # A URL's shown form hides its password: not a command to copy.
        how = f"`mirror sync --db {target}`" if target.file else "`mirror sync` with that URL"
        raise ConfigError(f"no mirror at {target}; create it with {how}")
    return _open(target, upgrade=True, writer=False)


@contextmanager
def open_for_sync(db: str | Path) -> Iterator[Engine]:
    """The mirror at ``db`` opened (created, migrated) for a sync, under the run lock.

    The lock is taken first, before the database is even looked at: opening
    migrates, and several first syncs of a new file must not all create its
    tables. The engine is disposed of, and the lock released, at exit. Raises
    :class:`~assembla_mirror.errors.LockedError` while another sync holds the
    lock, :class:`ConfigError` for a directory that does not exist, and
    :class:`~assembla_mirror.errors.StorageError` when the lock cannot be taken
    on the file; then whatever :func:`open_db` raises.
    """
    target = database_target(db)
    with ExitStack() as lock:
        with _described(target):  # e.g. a server that cannot be reached, or logged in to
            lock.enter_context(dialect_for(target).run_lock(target))
        engine = _open(target, upgrade=True, writer=True)
        try:
            yield engine
        finally:
            engine.dispose()


def _open(target: DatabaseTarget, *, upgrade: bool, writer: bool) -> Engine:
    dialect = dialect_for(target)
    with _described(target):
        exists = dialect.exists(target)
        contents = (
            dialect.contents(target, readonly=False, busy_timeout_ms=BUSY_TIMEOUT_MS)
            if exists
            else Contents()
        )
    head = head_revision()
    _refuse_unusable(target, contents, head)
    pending = upgrade and contents.revision != head
    if exists and (writer or pending):
        _refuse_readonly(target, dialect)
    engine = dialect.create_engine(target, busy_timeout_ms=BUSY_TIMEOUT_MS)
    try:
        with _described(target):
            with engine.connect():
                pass  # sets the connection up now, so a database that cannot take it fails here
            if pending:
                if contents.names:  # an existing mirror: keep a copy of it as it was
                    backup_database(target, contents.revision)
                migrate(engine)
            if upgrade and dialect.writable(target):
                refresh_views(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine
