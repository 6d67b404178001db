"""What a mirror's database is: a file path taken literally, or a ``sqlite:///`` URL.

The engine used to be built from ``f"sqlite:///{path}"``, so a ``?`` or ``%20``
in a file name was read as URL syntax and the mirror went to another file.
Here a path is never parsed: the URL is built from its parts.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from assembla_mirror.errors import ConfigError, SchemaError
from assembla_mirror.store.failures import describe_database_error

MEMORY_REFUSED = ":memory: would keep the mirror nowhere; give a file path"


@dataclass(frozen=True)
class DatabaseTarget:
    """A mirror's database file: as the user gave it (for messages) and as opened.

    ``file`` is the absolute path, fixed when the target is made; ``url`` is the
    SQLAlchemy URL for it, built from its parts so the path is never parsed.
    """

    path: Path
    file: Path
    url: URL

    def __str__(self) -> str:
        return str(self.path)


def database_target(value: str | Path | DatabaseTarget) -> DatabaseTarget:
    """What to open for ``value``: a SQLAlchemy URL if it contains ``://``, else a path.

    A path is taken literally: ``?``, ``#`` and ``%`` are part of the file name.
    Only ``sqlite:///PATH`` URLs are supported (PostgreSQL comes later), without
    query parameters. ``:memory:``, an empty path and a URL naming no file are
    refused: the mirror would be kept nowhere. Raises :class:`ConfigError`.
    """
    if isinstance(value, DatabaseTarget):
        return value
    text = os.fspath(value)
    if isinstance(value, str) and "://" in text:
        text = _database_from_url(text)
    if text == "":
        raise ConfigError("no database given; give the path of the mirror file")
    if text == ":memory:":
        raise ConfigError(MEMORY_REFUSED)
    file = Path(os.path.abspath(text))
    return DatabaseTarget(Path(text), file, URL.create("sqlite", database=str(file)))


def _database_from_url(text: str) -> str:
    # Never echo the URL: a PostgreSQL one may carry a password.
    try:
        url = make_url(text)
    except ArgumentError:
        raise ConfigError(
            "the database URL cannot be parsed; give a file path or sqlite:///PATH"
        ) from None
    if url.get_backend_name() != "sqlite":
        raise unsupported_backend(url.get_backend_name())
    if url.get_driver_name() != "pysqlite":
        raise ConfigError(f"the {url.drivername} driver is not supported; use sqlite:///PATH")
    if url.query or url.host or url.username or url.password or url.port:
        raise ConfigError("a sqlite:/// database URL takes a path only, no host or parameters")
    if not url.database or url.database == ":memory:":
        raise ConfigError(MEMORY_REFUSED)
    return url.database


def unsupported_backend(backend: str) -> ConfigError:
    """The error for a database URL of a backend no dialect serves yet."""
    return ConfigError(
        f"cannot use a {backend} database: only SQLite is supported by "
        "this version; give a file path or sqlite:///PATH"
    )


def existing_file(target: DatabaseTarget) -> bool:
    """Whether the mirror's file exists; refuse anything there that is not a regular file.

    Raises :class:`ConfigError` for a directory, a device (``/dev/null``), a pipe or
    a socket, and :class:`SchemaError` when the file's directory does not exist.
    """
    try:
        mode = os.stat(target.file).st_mode
    except FileNotFoundError:
        if not target.file.parent.is_dir():
            raise SchemaError(
                f"cannot open {target}: directory {target.path.parent} does not exist"
            ) from None
        return False
    except NotADirectoryError:
        raise SchemaError(
            f"cannot open {target}: {target.path.parent} is not a directory"
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


def sqlite_uri(file: Path, query: str) -> str:
    """A SQLite ``file:`` URI for ``file`` (absolute) with ``query`` (e.g. ``mode=ro``)."""
    # Percent-encode the path: in a URI, "?", "#" and "%" would otherwise be syntax.
    return f"file:{quote(str(file), safe='/')}?{query}"
