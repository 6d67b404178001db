"""What a sync run did, for the CLI summary, ``Mirror.sync()`` and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SyncReport:
    """The outcome of one sync run."""

    run_id: int
    mode: str
    outcome: str
    started: datetime
    seconds: float
    requests: int
    #: Rows inserted/updated/deleted per table in this run.
    changes: dict[str, dict[str, int]]
    #: Rows per table in the mirror after the run.
    totals: dict[str, int]
    spaces: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the run completed."""
        return self.outcome == "success"

    def changed_rows(self) -> int:
        """Rows written in total."""
        return sum(sum(counts.values()) for counts in self.changes.values())


def format_bytes(size: float) -> str:
    """A size for people: ``512 B``, ``3.4 KB``, ``1.2 GB`` (powers of 1,000, as disks say)."""
    units = ("B", "KB", "MB", "GB", "TB")
    step = 0
    while abs(size) >= 1000 and step < len(units) - 1:
        size /= 1000
        step += 1
    return f"{size:,.0f} B" if step == 0 else f"{size:,.1f} {units[step]}"
