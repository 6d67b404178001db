"""Run records, remembered facts and the run lock, kept in the mirror itself.

``sync_runs`` has one row per sync (its outcome, requests, rows changed,
warnings and error); ``mirror_meta`` remembers facts about the mirror (whose
account it holds, whether comments are mirrored). The run lock is the
dialect's (:meth:`~assembla_mirror.store.dialect.Dialect.run_lock`): for a
SQLite file, an OS advisory lock (``flock``) on it, which the kernel releases
when the process dies, even by SIGKILL, and which leaves readers unaffected.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from assembla_mirror.model.tables import Base
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.checkpoints import utc_now
from assembla_mirror.store.locks import FileLock

#: The run lock of a mirror in a file, under its historical name (see :mod:`.locks`).
SyncLock = FileLock

META_TABLE = Base.metadata.tables["mirror_meta"]
#: The optional streams a mirror remembers as switched on or off (``--with NAME``), by
#: the ``mirror_meta`` key holding "1" or "0".
SWITCH_KEYS = {
    "comments": "with_comments",
    "associations": "with_associations",
    "files": "with_files",
}
#: Where a mirror remembers the folder ``--files-dir`` named.
FILES_DIR_KEY = "files_dir"
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
    upsert = dialect_of(conn).upsert_sql("mirror_meta", ("key", "value"), ("key",))
    conn.exec_driver_sql(upsert, (key, value))


# --- run history ---------------------------------------------------------------


def switched_on(conn: Connection) -> dict[str, bool]:
    """Whether each optional stream is switched on, as the mirror remembers it."""
    return {name: get_meta(conn, key) == "1" for name, key in SWITCH_KEYS.items()}


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


def recent_runs(conn: Connection, limit: int) -> list[dict[str, Any]]:
    """The last ``limit`` runs, newest first, with their row counts and warning counts read."""
    table = RUNS_TABLE
    rows = conn.execute(select(table).order_by(table.c.id.desc()).limit(limit))
    return [
        {
            "id": row.id,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "outcome": row.outcome,
            "mode": row.mode,
            "requests": row.requests,
            "rows": json.loads(row.rows_json or "{}"),
            "warnings": len(json.loads(row.warnings_json or "[]")),
            "error": row.error,
        }
        for row in rows
    ]
