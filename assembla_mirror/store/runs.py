"""Run records, remembered facts and the run lock, kept in the mirror itself.

``sync_runs`` has one row per sync (its outcome, requests, rows changed,
warnings and error); ``mirror_meta`` remembers facts about the mirror (whose
account it holds, whether comments are mirrored). The run lock is an OS
advisory lock (``flock``) on the database file: the kernel releases it when the
process dies, even by SIGKILL, and it does not interfere with SQLite's own
locking, so readers are unaffected.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects.sqlite import insert

from assembla_mirror.errors import ConfigError, LockedError, StorageError
from assembla_mirror.model.tables import Base
from assembla_mirror.store.checkpoints import utc_now

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; runs go unguarded there
    fcntl = None  # type: ignore[assignment]

META_TABLE = Base.metadata.tables["mirror_meta"]
RUNS_TABLE = Base.metadata.tables["sync_runs"]


def get_meta(conn: Connection, key: str) -> str | None:
    """A remembered fact about the mirror (``None`` when unset)."""
    table = META_TABLE
    return conn.execute(select(table.c.value).where(table.c.key == key)).scalar_one_or_none()


def set_meta(conn: Connection, key: str, value: str | None) -> None:
    """Remember (or with ``None`` forget) a fact about the mirror."""
    table = META_TABLE
    if value is None:
        conn.execute(table.delete().where(table.c.key == key))
        return
    statement = insert(table).values(key=key, value=value)
    conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


# --- run history ---------------------------------------------------------------


def start_run(engine: Engine, mode: str, options: dict[str, Any]) -> int:
    """Record a run as ``running``; earlier ``running`` rows died without ending, so mark
    them ``interrupted`` (the caller holds the lock, so none of them is alive)."""
    table = RUNS_TABLE
    with engine.begin() as conn:
        conn.execute(
            table.update().where(table.c.outcome == "running").values(outcome="interrupted")
        )
        result = conn.execute(
            table.insert().values(
                started_at=utc_now(),
                outcome="running",
                mode=mode,
                requests=0,
                rows_json="{}",
                options_json=json.dumps(options, sort_keys=True),
                warnings_json="[]",
            )
        )
        key = result.inserted_primary_key
    if key is None:  # pragma: no cover - SQLite always reports the rowid
        raise RuntimeError("sync_runs insert returned no id")
    return int(key[0])


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    outcome: str,
    requests: int,
    rows: dict[str, dict[str, int]],
    warnings: list[str],
    error: str | None = None,
) -> None:
    """Close the run record with its outcome, request count, row counts and warnings."""
    table = RUNS_TABLE
    with engine.begin() as conn:
        conn.execute(
            table.update()
            .where(table.c.id == run_id)
            .values(
                finished_at=utc_now(),
                outcome=outcome,
                requests=requests,
                rows_json=json.dumps(rows, sort_keys=True),
                warnings_json=json.dumps(warnings[:1000], ensure_ascii=False),
                error=error,
            )
        )


def last_success(conn: Connection) -> datetime | None:
    """When the last successful run started, if any."""
    table = RUNS_TABLE
    value = conn.execute(
        select(table.c.started_at)
        .where(table.c.outcome == "success")
        .order_by(table.c.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()
    return value if value is None else value.replace(tzinfo=UTC)


# --- lock --------------------------------------------------------------------------


class SyncLock:
    """Exclusive, non-blocking lock on a mirror file for the duration of a sync."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> SyncLock:
        if not self.path.parent.is_dir():
            raise ConfigError(
                f"cannot create {self.path}: directory {self.path.parent} does not exist"
            )
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open {self.path} to lock it: {exc.strerror}") from None
        if fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._fd)
                self._fd = None
                raise LockedError(
                    f"another `mirror sync` is already running on {self.path}; "
                    "wait for it to finish (readers are not affected)"
                ) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
