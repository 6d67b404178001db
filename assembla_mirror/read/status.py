"""What ``mirror status`` shows: recent runs, cursors, row counts and staleness."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from assembla_mirror.model.tables import Base
from assembla_mirror.store.checkpoints import STATE_TABLE, utc_now
from assembla_mirror.store.database import open_existing
from assembla_mirror.store.runs import RUNS_TABLE, get_meta, last_success
from assembla_mirror.store.writes import table_totals


@dataclass
class MirrorStatus:
    """A snapshot of a mirror's bookkeeping."""

    path: Path
    account: str | None
    with_comments: bool
    last_success: datetime | None
    runs: list[dict[str, Any]] = field(default_factory=list)
    cursors: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def staleness_seconds(self) -> float | None:
        """Seconds since the last successful sync started (None if never)."""
        if self.last_success is None:
            return None
        return (utc_now() - self.last_success).total_seconds()


def mirror_status(path: str | Path, *, runs: int = 10) -> MirrorStatus:
    """Read the status of the mirror at ``path`` (which must exist)."""
    path = Path(path)
    engine = open_existing(path)
    try:
        with engine.connect() as conn:
            runs_table = RUNS_TABLE
            recent = [
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
                for row in conn.execute(
                    select(runs_table).order_by(runs_table.c.id.desc()).limit(runs)
                )
            ]
            spaces = Base.metadata.tables["spaces"]
            cursors = [
                dict(row._mapping)
                for row in conn.execute(
                    select(STATE_TABLE, spaces.c.name.label("space_name"))
                    .outerjoin(spaces, spaces.c.id == STATE_TABLE.c.space_id)
                    .order_by(STATE_TABLE.c.resource, spaces.c.name)
                )
            ]
            status = MirrorStatus(
                path=path,
                account=get_meta(conn, "caller_login"),
                with_comments=get_meta(conn, "with_comments") == "1",
                last_success=last_success(conn),
                runs=recent,
                cursors=cursors,
            )
        status.totals = table_totals(engine)
        return status
    finally:
        engine.dispose()
