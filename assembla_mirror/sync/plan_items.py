"""What a dry run answers: a :class:`SyncPlan` of :class:`PlanItem` rows (see :mod:`.plan`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from assembla_mirror.api.settings import RateLimit

PER_PAGE = 100


@dataclass
class PlanItem:
    """One resource of one space (or the account) and what it would cost."""

    space: str
    resource: str
    mode: str
    requests: int
    note: str = ""


@dataclass
class SyncPlan:
    """The dry run's answer."""

    items: list[PlanItem] = field(default_factory=list)
    probe_requests: int = 0
    #: The database planned for, as shown (a URL's password hidden).
    database: str = ""
    rate_limit: RateLimit | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Requests the sync itself would make."""
        return sum(item.requests for item in self.items)

    @property
    def seconds_at_limit(self) -> float | None:
        """The floor the rate limit puts on the sync's duration (None without pacing)."""
        if self.rate_limit is None:
            return None
        paced = max(0, self.requests - self.rate_limit.per_second)
        return paced / (self.rate_limit.per_minute / 60)


def pages(rows: int) -> int:
    """Requests to list ``rows`` items, including the end-of-list probe a full last page needs."""
    return rows // PER_PAGE + 1
