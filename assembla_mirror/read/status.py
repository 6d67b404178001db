"""What ``mirror status`` shows: recent runs, cursors, row counts and staleness."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from assembla_mirror.store.checkpoints import utc_now
from assembla_mirror.store.database import database_target, open_existing
from assembla_mirror.store.files import FilesSummary, files_summary
from assembla_mirror.store.runs import (
    FILES_DIR_KEY,
    get_meta,
    last_success,
    recent_runs,
    switched_on,
)
from assembla_mirror.store.status import cursors
from assembla_mirror.store.writes import table_totals


@dataclass
class MirrorStatus:
    """A snapshot of a mirror's bookkeeping."""

    #: The mirror, as messages name it (a path, or a URL with its password hidden).
    database: str
    account: str | None
    with_comments: bool
    last_success: datetime | None
    runs: list[dict[str, Any]] = field(default_factory=list)
    cursors: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    #: Each optional stream (comments, associations, files): switched on or not.
    switched_on: dict[str, bool] = field(default_factory=dict)
    #: The folder files are downloaded to, when one was named (else beside the mirror).
    files_dir: str | None = None
    #: The files known, downloaded and pending.
    files: FilesSummary | None = None

    @property
    def staleness_seconds(self) -> float | None:
        """Seconds since the last successful sync started (None if never)."""
        if self.last_success is None:
            return None
        return (utc_now() - self.last_success).total_seconds()

    def is_stale(self, max_age_seconds: float) -> bool:
        """Whether the last successful sync started more than ``max_age_seconds`` ago,
        or there never was one."""
        age = self.staleness_seconds
        return age is None or age > max_age_seconds

    def as_dict(self, max_age_seconds: float | None = None) -> dict[str, Any]:
        """The status as JSON-able values, under the stable keys ``mirror status --format
        json`` prints (datetimes as ISO 8601 in UTC); ``stale`` is None without a
        ``max_age_seconds`` to judge by."""
        age = self.staleness_seconds
        files = self.files
        return {
            "database": self.database,
            "account": self.account,
            "last_success": _jsonable(self.last_success),
            "staleness_seconds": None if age is None else int(age),
            "max_age_seconds": max_age_seconds,
            "stale": None if max_age_seconds is None else self.is_stale(max_age_seconds),
            "switches": {name: bool(on) for name, on in self.switched_on.items()},
            "files_dir": self.files_dir,
            "files": None
            if files is None
            else {
                "listed": files.attachments,
                "listed_bytes": files.attachment_bytes,
                "downloaded": files.downloaded,
                "downloaded_bytes": files.downloaded_bytes,
                "contents": files.contents,
                "pending": files.pending,
                "pending_bytes": files.pending_bytes,
            },
            "runs": [_jsonable(run) for run in self.runs],
            "cursors": [_jsonable(row) for row in self.cursors],
            "totals": dict(self.totals),
        }


def _jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 strings in UTC (naive ones are UTC already),
    dicts and lists walked."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def mirror_status(path: str | Path, *, runs: int = 10) -> MirrorStatus:
    """Read the status of the mirror at ``path`` (a path or URL; the mirror must exist)."""
    engine = open_existing(path)
    try:
        with engine.connect() as conn:
            status = MirrorStatus(
                database=str(database_target(path)),
                account=get_meta(conn, "caller_login"),
                with_comments=switched_on(conn)["comments"],
                switched_on=switched_on(conn),
                files_dir=get_meta(conn, FILES_DIR_KEY),
                files=files_summary(conn),
                last_success=last_success(conn),
                runs=recent_runs(conn, runs),
                cursors=cursors(conn),
            )
        status.totals = table_totals(engine)
        return status
    finally:
        engine.dispose()
