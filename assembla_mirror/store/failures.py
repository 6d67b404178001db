"""One clear message for each way the mirror's database can fail to be read or written.

SQLite reports a locked, full, read-only or failing file as a terse
``OperationalError`` ("database is locked", "disk I/O error") that SQLAlchemy
wraps again, and the file system reports its own ``OSError``; PostgreSQL
reports an unreachable server, a refused login, a full disk or a lock wait
that ran out by its SQLSTATE code. The user needs to know which database,
what stands in the way and what to do about it; :func:`describe_database_error`
says so, as a :class:`StorageError` (or a :class:`SchemaError` when the file is
not a usable database at all), naming the database without its password.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType

from sqlalchemy.exc import DBAPIError

from assembla_mirror.errors import ConfigError, MirrorError, SchemaError, StorageError
from assembla_mirror.store.target import DatabaseTarget, database_target

resource: ModuleType | None
try:
    import resource
except ImportError:  # pragma: no cover - Windows has no rlimits
    resource = None

# SQLite's primary result codes (the low byte of an extended code such as
# SQLITE_IOERR_WRITE = 778); stable across SQLite versions.
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

# When an error carries no code (raised by hand, or by another driver), its text decides.
_MESSAGES = (
    ("database is locked", SQLITE_BUSY),
    ("database or disk is full", SQLITE_FULL),
    ("readonly database", SQLITE_READONLY),
    ("unable to open database file", SQLITE_CANTOPEN),
    ("access permission denied", SQLITE_PERM),
    ("disk i/o error", SQLITE_IOERR),
    ("file is not a database", SQLITE_NOTADB),
    ("database disk image is malformed", SQLITE_CORRUPT),
)

#: Below this much free space, an I/O error is most likely the disk being full.
NEARLY_FULL_BYTES = 1 << 20


def describe_database_error(
    exc: BaseException, target: str | os.PathLike[str] | DatabaseTarget
) -> MirrorError | None:
    """The error a user should see for ``exc``, met while using the database ``target``.

    Understands SQLAlchemy's ``OperationalError``/``DatabaseError`` (through
    ``.orig``), :mod:`sqlite3` errors and :class:`OSError`: a lock held by another
    program, a full disk or a file size limit, a read-only file or location, a
    file that cannot be opened, a disk I/O error (each a :class:`StorageError`
    naming ``target``), and a file that is not a database or is damaged (a
    :class:`SchemaError`). Returns None for anything else, which the caller should
    let through unchanged.
    """
    name = shown_name(target)
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(cause, sqlite3.Error):
        return _describe_sqlite(cause, name)
    if cause is not None and type(cause).__module__.startswith("psycopg"):
        return _describe_postgres(cause, name)
    if isinstance(cause, OSError):
        return _describe_os(cause, name)
    return None


def shown_name(target: str | os.PathLike[str] | DatabaseTarget) -> str:
    """How messages name ``target``: the path as given, or the URL without its password."""
    if isinstance(target, DatabaseTarget):
        return str(target)
    text = os.fspath(target)
    if "://" not in text:
        return text
    try:
        return str(database_target(text))
    except ConfigError:
        return "the database"  # an unreadable URL may still hold a password: never echo it


def sqlite_code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code for ``exc``, from the code it carries or its message."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc).lower()
    for fragment, primary in _MESSAGES:
        if fragment in text:
            return primary
    return None


def _describe_sqlite(exc: sqlite3.Error, name: str) -> MirrorError | None:
    code = sqlite_code(exc)
    if code == SQLITE_BUSY:
        return StorageError(
            f"{name} is locked: another program is writing to it (a `sqlite3` shell or "
            "another tool with an open transaction, or a `mirror sync`) and did not let go "
            "in time; finish or close that program and run again",
            path=name,
            reason="locked",
        )
    if code == SQLITE_FULL:
        return _full(name, "the disk is full")
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return readonly_error(name, str(exc))
    if code == SQLITE_CANTOPEN:
        return StorageError(
            f"cannot open {name} ({exc}): check that its directory exists and that the "
            "file and its directory may be read and written (a mirror in WAL mode needs "
            f"to create {name}-wal and {name}-shm beside it)",
            path=name,
            reason="unopenable",
        )
    if code == SQLITE_IOERR:
        return _io(name, str(exc))
    if code in (SQLITE_NOTADB, SQLITE_CORRUPT):
        return SchemaError(
            f"{name} is not a usable SQLite database: {exc}"
            + (
                " (the file is damaged: restore it from a backup or move it aside to mirror afresh)"
                if code == SQLITE_CORRUPT
                else ""
            )
        )
    return None


def _describe_os(exc: OSError, name: str) -> MirrorError | None:
    # The failing file may be a sibling (a backup, the -wal file): name it too.
    where = f" ({exc.filename})" if exc.filename and os.fspath(exc.filename) != name else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return _full(name, f"no space left on the device{where}: {exc.strerror}")
    if exc.errno == errno.EFBIG:
        return _full(name, f"the file size limit was reached{where}{_size_limit()}")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return readonly_error(name, f"{exc.strerror}{where}")
    if exc.errno == errno.EIO:
        return _io(name, f"{exc.strerror}{where}")
    return None


def _full(name: str, why: str) -> StorageError:
    return StorageError(
        f"cannot write {name}: {why}; free some space (or raise the limit) and run again. "
        "Nothing already committed is lost.",
        path=name,
        reason="full",
    )


def readonly_error(name: str, detail: str) -> StorageError:
    """The error for a database ``name`` that cannot be written (``detail``: why, if known)."""
    return StorageError(
        f"cannot write {name}: it is read-only here ({detail}); check the permissions of "
        "the file and its directory, and that the file system is not mounted read-only "
        "(or the file made immutable)",
        path=name,
        reason="readonly",
    )


def _io(name: str, detail: str) -> StorageError:
    # SQLite reports a write refused by a file size limit (EFBIG) as a plain I/O error,
    # and so may a full disk; say which when it can be told.
    limit = _size_limit()
    if limit:
        hint = f"a file size limit is in force{limit} and was probably reached"
    elif _free_bytes(name) < NEARLY_FULL_BYTES:
        hint = "the disk is full"
    else:
        hint = "the disk may be failing, or the file was changed under the mirror"
    # sqlite3's own text is just "disk I/O error": no need to say it twice.
    detail = "" if detail.lower() == "disk i/o error" else f" ({detail})"
    return StorageError(
        f"disk I/O error on {name}{detail}: {hint}. Nothing already committed is lost; "
        "if the error persists, check the disk and run `PRAGMA integrity_check` on the file",
        path=name,
        reason="io",
    )


def _size_limit() -> str:
    if resource is None:  # pragma: no cover - Windows
        return ""
    soft, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft == resource.RLIM_INFINITY:
        return ""
    return f" (ulimit -f: {soft:,} bytes)"


def _free_bytes(name: str) -> int:
    try:
        return shutil.disk_usage(Path(os.path.abspath(name)).parent).free
    except OSError:
        return NEARLY_FULL_BYTES  # unknown: do not claim the disk is full


# --- PostgreSQL ------------------------------------------------------------------------

#: SQLSTATE classes and codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
PG_DISK_FULL = "53100"
PG_OUT_OF_MEMORY = "53200"
PG_TOO_MANY_CONNECTIONS = "53300"
PG_LOCK_NOT_AVAILABLE = "55P03"
PG_READ_ONLY_TRANSACTION = "25006"
PG_INSUFFICIENT_PRIVILEGE = "42501"
PG_INVALID_PASSWORD = "28P01"  # noqa: S105 - an error code, not a password
PG_INVALID_AUTHORIZATION = "28000"
PG_UNKNOWN_DATABASE = "3D000"
PG_CONNECTION_CLASS = "08"
PG_SHUTDOWN_CLASS = "57P"
PG_DEPENDENT_OBJECTS = "2BP01"


def _describe_postgres(exc: BaseException, name: str) -> MirrorError | None:
    code = getattr(exc, "sqlstate", None) or ""
    # The server's own words, first line only (a DETAIL may quote values).
    said = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if code == PG_DISK_FULL:
        return _full(name, "the database server's disk is full")
    if code == PG_LOCK_NOT_AVAILABLE:
        return StorageError(
            f"{name} is locked: another session holds a lock on the mirror's tables (a "
            "migration, a long-running statement in psql or a BI tool) and did not let go "
            "in time; finish it and run again",
            path=name,
            reason="locked",
        )
    if code in (PG_READ_ONLY_TRANSACTION, PG_INSUFFICIENT_PRIVILEGE):
        return StorageError(
            f"cannot write {name}: {said}. The database user needs to create tables in the "
            "mirror's schema and write them (GRANT CREATE, USAGE ON SCHEMA ... and ownership "
            "of its tables), on a server that is not a read-only replica",
            path=name,
            reason="readonly",
        )
    # A refused login at connect time carries no SQLSTATE: its text tells (an unknown
    # role is "role ... does not exist", not an unreachable server).
    unknown_role = re.search(r'\brole "[^"]*" does not exist', said) is not None
    if (
        code in (PG_INVALID_PASSWORD, PG_INVALID_AUTHORIZATION)
        or "authentication failed" in said
        or unknown_role
    ):
        return StorageError(
            f"cannot log in to {name}: {_without_secrets(said)}; check the user and password "
            "(in the URL, PGPASSWORD or ~/.pgpass)",
            path=name,
            reason="unopenable",
        )
    if code == PG_UNKNOWN_DATABASE or ("does not exist" in said and "database" in said):
        return StorageError(
            f"cannot open {name}: {_without_secrets(said)}; create it first "
            "(createdb NAME) or name an existing database",
            path=name,
            reason="unopenable",
        )
    if code == PG_DEPENDENT_OBJECTS:
        # A person's own view built on a report view or a column that a new version
        # replaces or drops: CASCADE would drop theirs without a word.
        detail = getattr(getattr(exc, "diag", None), "message_detail", None)
        return SchemaError(
            f"cannot update the mirror's schema in {name}: {said}"
            f"{f' ({detail})' if detail else ''}; drop your own views built on the "
            "mirror's, run again, then create yours anew. Nothing was changed."
        )
    if code in (PG_TOO_MANY_CONNECTIONS, PG_OUT_OF_MEMORY):
        return StorageError(
            f"the database server of {name} refused the work: {said}; try again later",
            path=name,
            reason="unopenable",
        )
    connection_lost = code.startswith((PG_CONNECTION_CLASS, PG_SHUTDOWN_CLASS))
    # psycopg's OperationalError and its kinds (ConnectionTimeout): psycopg, optional,
    # is not imported here.
    operational = any(kind.__name__ == "OperationalError" for kind in type(exc).__mro__)
    if connection_lost or operational:
        return StorageError(
            f"cannot reach the database server of {name}: {_without_secrets(said)}; check "
            "that it runs and accepts connections from here",
            path=name,
            reason="unopenable",
        )
    return None


def _without_secrets(message: str) -> str:
    """A driver's message with any ``password=...`` of a connection string hidden."""
    return re.sub(r"(password\s*=\s*)\S+", r"\1***", message, flags=re.IGNORECASE)
