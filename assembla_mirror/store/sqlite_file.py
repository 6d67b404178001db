"""The SQLite file under a mirror: reaching it by URI, looking inside before writing, read-only.

Used by the SQLite dialect (:mod:`assembla_mirror.store.dialect`) only. The
file is looked at with a plain :mod:`sqlite3` connection before any engine is
made: an engine's connections set pragmas (``journal_mode=WAL`` rewrites the
file's header), which must not happen to another application's database.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from assembla_mirror.errors import StorageError
from assembla_mirror.store.failures import SQLITE_CANTOPEN, sqlite_code
from assembla_mirror.store.target import DatabaseTarget, sqlite_uri

#: What a database holds: its Alembic revision (None if unstamped) and the names of
#: its tables, views, indexes and triggers.
Inventory = tuple[str | None, frozenset[str]]


def connect_uri(uri: str, *, timeout: float) -> sqlite3.Connection:
    """A :mod:`sqlite3` connection to a ``file:`` URI, known to be readable.

    Opening is lazy: the first read is what finds a lock, a missing ``-shm``
    file or a file that is not a database, so one read is made here.
    ``timeout`` is how long (seconds) to wait for another connection's lock.
    """
    connection = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        connection.close()
        raise
    return connection


def inventory(connection: sqlite3.Connection) -> Inventory:
    """The revision and schema object names of the database behind ``connection``."""
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
    return revision, frozenset(names)


def inventory_before_writing(target: DatabaseTarget, *, timeout: float) -> Inventory:
    """What the file holds, read before anything (a pragma, a migration) may write to it."""
    if target.sqlite_file().stat().st_size == 0:
        return None, frozenset()  # an empty file (as the run lock creates it) is a new mirror
    # Read-write but only reading, and without the mirror's pragmas (journal_mode=WAL
    # would rewrite another application's file): as the last connection to a WAL
    # file it also removes the -wal/-shm files a mode=ro one would leave behind.
    uri = sqlite_uri(target.sqlite_file(), "mode=rw")
    with closing(connect_uri(uri, timeout=timeout)) as connection:
        return inventory(connection)


def readonly_uri(target: DatabaseTarget, *, timeout: float) -> str:
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
    if target.sqlite_file().stat().st_size == 0:
        return sqlite_uri(target.sqlite_file(), "mode=ro")
    readonly = sqlite_uri(target.sqlite_file(), "mode=ro")
    try:
        connect_uri(readonly, timeout=timeout).close()
        return readonly
    except sqlite3.OperationalError as exc:
        if sqlite_code(exc) != SQLITE_CANTOPEN:
            raise
        failure = exc
    wal = Path(f"{target.sqlite_file()}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StorageError(
            f"cannot read {target} read-only: its write-ahead log {target}-wal holds "
            "changes that can only be applied where the file may be written (the last "
            "writer stopped before finishing); open it once with write access, for "
            "example with `mirror status`, or copy the three files somewhere writable",
            path=str(target),
            reason="unopenable",
        )
    immutable = sqlite_uri(target.sqlite_file(), "mode=ro&immutable=1")
    try:
        connect_uri(immutable, timeout=timeout).close()
    except sqlite3.Error:
        raise failure from None
    return immutable
