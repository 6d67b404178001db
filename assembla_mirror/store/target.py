"""What a mirror's database is: a SQLite file (a path, or ``sqlite:///PATH``) or a
PostgreSQL database (``postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME``).

A path is never parsed as a URL: ``weird?name.db`` is that file, and the
SQLAlchemy URL is built from its parts. Only a value with ``://`` is a URL.

A PostgreSQL URL may name the schema that holds the mirror with ``?schema=NAME``
(several mirrors in one database, one schema each); without it the mirror is
in ``public``. The driver is psycopg 3 whatever the URL says
(``postgresql://``, ``postgresql+psycopg://``), installed with the optional
extra ``postgres``. Other libpq parameters in the query (``sslmode=require``,
``connect_timeout=10`` ...) are passed on to it.

A target prints as the path given, or as its URL with the password hidden
(``postgresql://user:***@host/db``): every message, log line and run record
names the database by that text, never by the URL it connects with.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from assembla_mirror.errors import ConfigError

MEMORY_REFUSED = ":memory: would keep the mirror nowhere; give a file path"
#: The query parameter of a PostgreSQL URL naming the mirror's schema (not libpq's).
SCHEMA_PARAMETER = "schema"
#: What a schema name may be: a plain lower-case identifier, which PostgreSQL reads the
#: same quoted or not (it folds unquoted names to lower case).
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
#: The libpq parameters a URL's query may carry that are secrets, shown as ``***``.
SECRET_PARAMETERS = ("password", "sslpassword")
EXTRA_MISSING = (
    "a PostgreSQL mirror needs the psycopg driver: from the assembla-mirror checkout, "
    "pip install -e '.[postgres]'"
)


@dataclass(frozen=True)
class DatabaseTarget:
    """A mirror's database: how to connect (``url``) and how to name it (``str()``).

    For a SQLite file, ``path`` is the path as given and ``file`` the absolute
    path, fixed when the target is made. For a server, both are None, and
    ``schema`` is the schema holding the mirror.
    """

    url: URL = field(repr=False)
    shown: str
    path: Path | None = None
    file: Path | None = None
    schema: str = "public"

    def __str__(self) -> str:
        return self.shown

    @property
    def backend(self) -> str:
        """The SQLAlchemy backend: ``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    def sqlite_file(self) -> Path:
        """The SQLite file (the SQLite dialect's code only asks this of its own targets)."""
        if self.file is None:
            raise ConfigError(f"{self} is not a SQLite file")
        return self.file


def database_target(value: str | Path | DatabaseTarget) -> DatabaseTarget:
    """What to open for ``value``: a SQLAlchemy URL if it contains ``://``, else a path.

    A path is taken literally: ``?``, ``#`` and ``%`` are part of the file name.
    ``:memory:``, an empty path and a URL naming no file or database are
    refused: the mirror would be kept nowhere. Raises :class:`ConfigError`.
    """
    if isinstance(value, DatabaseTarget):
        return value
    text = os.fspath(value)
    if isinstance(value, str) and "://" in text:
        url = _parse_url(text)
        if url.get_backend_name() == "postgresql":
            return _postgresql_target(url)
        text = _sqlite_path(url)
    return file_target(text)


def file_target(text: str) -> DatabaseTarget:
    """The target of a SQLite file at path ``text`` (taken literally)."""
    if text == "":
        raise ConfigError("no database given; give the path of the mirror file")
    if text == ":memory:":
        raise ConfigError(MEMORY_REFUSED)
    file = Path(os.path.abspath(text))
    return DatabaseTarget(URL.create("sqlite", database=str(file)), text, Path(text), file)


def _parse_url(text: str) -> URL:
    # Never echo the URL: it may carry a password.
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        raise ConfigError(
            "the database URL cannot be parsed; give a file path, sqlite:///PATH or "
            "postgresql://USER@HOST/DBNAME"
        ) from None


def _sqlite_path(url: URL) -> str:
    backend = url.get_backend_name()
    if backend != "sqlite":
        raise unsupported_backend(backend)
    if url.get_driver_name() != "pysqlite":
        raise ConfigError(f"the {url.drivername} driver is not supported; use sqlite:///PATH")
    if url.query or url.host or url.username or url.password or url.port:
        raise ConfigError("a sqlite:/// database URL takes a path only, no host or parameters")
    if not url.database or url.database == ":memory:":
        raise ConfigError(MEMORY_REFUSED)
    return url.database


def _postgresql_target(url: URL) -> DatabaseTarget:
    if url.get_driver_name() not in ("psycopg", "psycopg2"):
        raise ConfigError(
            f"the {url.drivername} driver is not supported; use postgresql:// "
            "(assembla-mirror connects with psycopg 3)"
        )
    if not url.database:
        raise ConfigError("the PostgreSQL URL names no database: postgresql://USER@HOST/DBNAME")
    query = dict(url.query)
    schema = query.pop(SCHEMA_PARAMETER, "public")
    if not isinstance(schema, str) or not SCHEMA_NAME.fullmatch(schema):
        raise ConfigError(
            "the schema of a PostgreSQL URL (?schema=NAME) must be a plain name: "
            "lower-case letters, digits and underscores, not starting with a digit"
        )
    url = url.set(drivername="postgresql+psycopg", query=query)
    # libpq also takes a password as a parameter (?password=...): hidden like the other
    hidden = {name: "***" for name in SECRET_PARAMETERS if name in query}
    shown = (
        url.update_query_dict(hidden)
        .render_as_string(hide_password=True)
        .replace("postgresql+psycopg://", "postgresql://")
        .replace("%2A%2A%2A", "***")
    )
    if schema != "public":
        shown += ("&" if query else "?") + f"{SCHEMA_PARAMETER}={schema}"
    return DatabaseTarget(url, shown, schema=schema)


def unsupported_backend(backend: str) -> ConfigError:
    """The error for a database URL of a backend no dialect serves."""
    return ConfigError(
        f"cannot use a {backend} database: give a file path (SQLite), sqlite:///PATH "
        "or postgresql://USER@HOST/DBNAME"
    )


def sqlite_uri(file: Path, query: str) -> str:
    """A SQLite ``file:`` URI for ``file`` (absolute) with ``query`` (e.g. ``mode=ro``)."""
    # Percent-encode the path: in a URI, "?", "#" and "%" would otherwise be syntax.
    return f"file:{quote(str(file), safe='/')}?{query}"
