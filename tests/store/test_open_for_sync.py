"""open_for_sync: the run lock first, then open and migrate; the engine disposed at exit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from assembla_mirror.errors import ConfigError, LockedError, StorageError
from assembla_mirror.store.database import current_revision, head_revision, open_for_sync
from assembla_mirror.store.sqlite import SQLITE
from assembla_mirror.store.target import database_target
from tests.support import run_lock_held_elsewhere


def test_the_lock_comes_before_the_database_is_even_created(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with run_lock_held_elsewhere(path):
        with pytest.raises(LockedError, match="already running"), open_for_sync(path):
            pass
        # no migration ran: the file is still the empty one the lock created
        assert path.stat().st_size == 0
        assert os.listdir(tmp_path) == ["new.db"]
    with open_for_sync(path) as engine:
        assert current_revision(engine) == head_revision()


def test_the_lock_is_held_while_open_and_released_at_exit(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with open_for_sync(f"sqlite:///{path}") as engine:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'S', '{}')"))
        with pytest.raises(LockedError), SQLITE.run_lock(database_target(path)):
            pass
    with open_for_sync(path) as engine, engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM spaces")).all() == [("S",)]
    assert os.listdir(tmp_path) == ["m.db"]  # disposed: the last connection removed -wal/-shm


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
