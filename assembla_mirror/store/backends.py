"""The databases a mirror can live in, and which dialect serves each.

A database is chosen by its URL (:func:`dialect_for`: a file path or
``sqlite:///`` is SQLite, ``postgresql://`` PostgreSQL), or recognised from
an open connection (:func:`dialect_of`).
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from assembla_mirror.errors import ConfigError
from assembla_mirror.store.dialect import Dialect
from assembla_mirror.store.postgres import POSTGRESQL
from assembla_mirror.store.sqlite import SQLITE
from assembla_mirror.store.target import DatabaseTarget, unsupported_backend

#: The implemented dialects, by SQLAlchemy backend name.
DIALECTS: dict[str, Dialect] = {dialect.name: dialect for dialect in (SQLITE, POSTGRESQL)}


def dialect_for(target: DatabaseTarget) -> Dialect:
    """The dialect of the database ``target`` names, from its URL's backend."""
    try:
        return DIALECTS[target.backend]
    except KeyError:
        raise unsupported_backend(target.backend) from None


def dialect_of(connection: Connection | Engine) -> Dialect:
    """The dialect of the database behind an open ``connection`` (or engine)."""
    try:
        return DIALECTS[connection.dialect.name]
    except KeyError:
        raise ConfigError(f"no assembla-mirror dialect for {connection.dialect.name}") from None
