"""One clear message for each way the mirror's file can fail to be read or written.

SQLite reports a locked, full, read-only or failing file as a terse
``OperationalError`` ("database is locked", "disk I/O error") that SQLAlchemy
wraps again, and the file system reports its own ``OSError``. The user needs to
know which file, what stands in the way and what to do about it;
:func:`describe_database_error` says so, as a :class:`StorageError` (or a
:class:`SchemaError` when the file is not a usable database at all).
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path
from types import ModuleType

from sqlalchemy.exc import DBAPIError

from assembla_mirror.errors import MirrorError, SchemaError, StorageError

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
    exc: BaseException, target: str | os.PathLike[str]
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
    name = os.fspath(target)
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(cause, sqlite3.Error):
        return _describe_sqlite(cause, name)
    if isinstance(cause, OSError):
        return _describe_os(cause, name)
    return None


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
