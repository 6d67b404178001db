"""open_for_sync: the run lock first, then open and migrate; the engine disposed at exit.

The lock's guarantees run on both databases (``mirror_db``): a file lock on SQLite, a
session advisory lock on PostgreSQL. The errors of a path (a missing directory, a
directory) are about SQLite files only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from assembla_mirror.errors import ConfigError, LockedError, StorageError
from assembla_mirror.store.backends import dialect_for
from assembla_mirror.store.database import current_revision, head_revision, open_for_sync
from assembla_mirror.store.target import database_target
from tests.expected import Db, reading
from tests.support import postgres_server_url, run_lock_held_elsewhere


def nothing_created(db: Db) -> bool:
    """Whether nothing was written for the mirror ``db`` yet: an empty file (the one the
    lock creates, and nothing beside it), or no schema on the server."""
    target = database_target(db)
    if target.backend == "sqlite":
        file = target.sqlite_file()
        return file.stat().st_size == 0 and os.listdir(file.parent) == [file.name]
    server = postgres_server_url()
    assert server is not None
    with reading(server) as conn:
        found = conn.execute(
            text("SELECT count(*) FROM pg_namespace WHERE nspname = :schema"),
            {"schema": target.schema},
        )
        return bool(found.scalar_one() == 0)


def test_the_lock_comes_before_the_database_is_even_created(mirror_db: str) -> None:
    with run_lock_held_elsewhere(mirror_db):
        with pytest.raises(LockedError, match="already running"), open_for_sync(mirror_db):
            pass
        # no migration ran: nothing of a mirror was created
        assert nothing_created(mirror_db)
    with open_for_sync(mirror_db) as engine:
        assert current_revision(engine) == head_revision()


def test_the_lock_is_held_while_open_and_released_at_exit(mirror_db: str, backend: str) -> None:
    target = database_target(mirror_db)
    url = f"sqlite:///{mirror_db}" if backend == "sqlite" else mirror_db
    with open_for_sync(url) as engine:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'S', '{}')"))
        with pytest.raises(LockedError), dialect_for(target).run_lock(target):
            pass
    with open_for_sync(mirror_db) as engine, engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM spaces")).all() == [("S",)]
    if backend == "sqlite":  # disposed: the last connection removed -wal/-shm
        assert os.listdir(target.sqlite_file().parent) == ["mirror.db"]


def test_errors_name_what_stands_in_the_way(tmp_path: Path) -> None:
    with (
        pytest.raises(ConfigError, match="does not exist"),
        open_for_sync(tmp_path / "no" / "m.db"),
    ):
        pass
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StorageError, match="to lock it"), open_for_sync(tmp_path / "dir.db"):
        pass
    with pytest.raises(ConfigError, match="nowhere"), open_for_sync(":memory:"):
        pass
