"""Alembic environment for the mirror's schema.

The application passes its open connection in ``config.attributes["connection"]``
(see :func:`assembla_mirror.store.database.migrate`). From the command line the database is
``-x db=PATH-OR-URL``, else ``$ASSEMBLA_MIRROR_DB``, else ``assembla.db``; never a URL
in ``alembic.ini``.

Revisions 0001-0007 build a SQLite mirror; a new PostgreSQL mirror starts at
0007, created from the models (see ``PostgresDialect.create_at_head``), so
revisions after 0007 must run on both databases.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection

from assembla_mirror.model.tables import Base
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.database import create_engine_for

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave full-text-search tables (``*_fts`` and their shadow tables) to their migration."""
    return not (
        type_ == "table" and name is not None and ("_fts_" in name or name.endswith("_fts"))
    )


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_name=include_name,
        compare_type=True,
        # Our engines emit real BEGINs (see store.database), so DDL is transactional.
        transactional_ddl=True,
        user_module_prefix="assembla_mirror.model.columns.",
    )
    with context.begin_transaction():
        context.run_migrations()


def database_path() -> str:
    return context.get_x_argument(as_dictionary=True).get("db") or os.environ.get(
        "ASSEMBLA_MIRROR_DB", "assembla.db"
    )


connection = config.attributes.get("connection")
if connection is not None:
    run_with(connection)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine_for(database_path())
    # As in assembla_mirror.store.database.migrate (for SQLite: table rebuilds must not cascade).
    with engine.connect() as conn, dialect_of(engine).migrating(conn):
        run_with(conn)
        conn.commit()
    engine.dispose()
