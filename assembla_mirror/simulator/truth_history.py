"""What tickets' histories mean, computed from the simulator's own records for test oracles.

Everything here follows the definitions the mirror's history views implement
(issue 15's design): a ticket's first stay starts at ``created_on`` in the old
status of its first status change (or its current status without one); each
stay ends when the next starts; the current stay has no end. Open or closed is
the status's state in the space's ticket statuses (for the current stay, the
ticket's own ``state`` when the status is not listed). Nothing is parsed from
YAML: the histories are the structured records the simulator made the
comments from. Datetimes are aware UTC; days are UTC dates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from assembla_mirror.simulator.entities import Milestone, Ticket, TicketStatus
from assembla_mirror.simulator.history import Change


class ChangeRow(NamedTuple):
    """One changed field, like a ``ticket_changes`` row with ``source`` = comment."""

    ticket_id: int
    changed_at: datetime
    user_id: str
    field: str
    old: str | None
    new: str | None
    comment_id: int


class StatusStay(NamedTuple):
    """One stay of a ticket in a status; ``ended_at`` None for the current one."""

    ticket_id: int
    stay: int
    status: str
    started_at: datetime
    ended_at: datetime | None


class TicketFlow(NamedTuple):
    """When a ticket was created, first left its first status, and closed (if closed
    now), and how often it was reopened."""

    ticket_id: int
    created_on: datetime
    started_at: datetime | None
    closed_at: datetime | None
    reopen_count: int

    @property
    def lead_time_hours(self) -> float | None:
        """``closed_at - created_on`` in hours (2 decimals); None when not closed."""
        return None if self.closed_at is None else _hours(self.closed_at - self.created_on)

    @property
    def cycle_time_hours(self) -> float | None:
        """``closed_at - started_at`` in hours (0 if it never started); None when not closed."""
        if self.closed_at is None:
            return None
        return _hours(self.closed_at - (self.started_at or self.closed_at))


def _hours(span: timedelta) -> float:
    return round(span.total_seconds() / 3600, 2)


class Histories:
    """The histories of some tickets, with their spaces' status states."""

    def __init__(
        self,
        tickets: list[Ticket],
        history: dict[int, list[Change]],
        statuses: Iterable[TicketStatus],
    ) -> None:
        self.tickets = tickets
        self.history = history
        self.states = {(s.space_id, s.name): s.state for s in statuses}

    def changes(self) -> list[ChangeRow]:
        """Every recorded change, by ticket id, then in order."""
        rows = []
        for ticket in sorted(self.tickets, key=lambda t: t.id):
            for change in self.history.get(ticket.id, ()):
                when = change.when
                for name, old, new in change.triples():
                    row = ChangeRow(
                        ticket.id, when, change.user_id, name, old, new, change.comment_id
                    )
                    rows.append(row)
        return rows

    def state_of(self, ticket: Ticket, status: str, current: bool = False) -> int | None:
        """1 open, 0 closed (None: not a status of the space, unless ``current``)."""
        found = self.states.get((ticket.space_id, status))
        return ticket.state if found is None and current else found

    def stays(self, ticket: Ticket) -> list[StatusStay]:
        """``ticket``'s stays in statuses, oldest first."""
        moves = [
            (change.when, old, new)
            for change in self.history.get(ticket.id, ())
            for name, old, new in change.triples()
            if name == "status"
        ]
        first = moves[0][1] if moves else ticket.status
        starts = [(ticket.created_on, first or ticket.status)]
        starts += [(when, new or "") for when, _, new in moves]
        return [
            StatusStay(ticket.id, index + 1, status, started, ends)
            for index, ((started, status), ends) in enumerate(
                zip(starts, [s[0] for s in starts[1:]] + [None], strict=True)
            )
        ]

    def intervals(self) -> list[StatusStay]:
        """Every stay of every ticket, by ticket id then stay."""
        return [stay for t in sorted(self.tickets, key=lambda t: t.id) for stay in self.stays(t)]

    def flow(self) -> list[TicketFlow]:
        """Each ticket's flow, by ticket id."""
        rows = []
        for ticket in sorted(self.tickets, key=lambda t: t.id):
            stays = self.stays(ticket)
            states = [self.state_of(ticket, s.status, s.ended_at is None) for s in stays]
            closed_at, reopened = None, 0
            for index, (stay, state) in enumerate(zip(stays, states, strict=True)):
                before = states[index - 1] if index else None
                if state == 0 and (index == 0 or before == 1):
                    closed_at = stay.started_at
                if state == 1 and before == 0:
                    reopened += 1
            started = stays[1].started_at if len(stays) > 1 else None
            rows.append(
                TicketFlow(
                    ticket.id,
                    ticket.created_on,
                    started,
                    closed_at if states[-1] == 0 else None,
                    reopened,
                )
            )
        return rows

    def cumulative_flow(self, today: date) -> dict[tuple[str, date, str], int]:
        """Per space, day (from its first ticket's creation day through ``today``) and
        status seen in it: the tickets in that status at the end of that day."""
        deltas: dict[str, dict[str, dict[date, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        first_day: dict[str, date] = {}
        for ticket in self.tickets:
            space = ticket.space_id
            day = ticket.created_on.date()
            first_day[space] = min(first_day.get(space, day), day)
            for stay in self.stays(ticket):
                counts = deltas[space][stay.status]
                counts[stay.started_at.date()] += 1
                if stay.ended_at is not None:
                    counts[stay.ended_at.date()] -= 1
        result: dict[tuple[str, date, str], int] = {}
        for space, statuses in deltas.items():
            days = _days(first_day[space], today)
            for status, counts in statuses.items():
                level = 0
                for day in days:
                    level += counts.get(day, 0)
                    result[(space, day, status)] = level
        return result

    def milestone_burndown(
        self, milestones: list[Milestone], today: date
    ) -> dict[tuple[int, date], tuple[int, float]]:
        """Per milestone and day: (open tickets, their summed estimate) at the day's end.

        Days run from the first day a ticket ended in the milestone (or its
        ``start_date`` if earlier) through its ``completed_date`` if completed, else
        ``today``. Membership, state and estimate at a moment come from the
        ``milestone_id``, ``status`` and ``estimate`` changes (before the first
        change: its old value; without any: the current value).
        """
        counts: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        sums: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
        entered: dict[int, date] = {}
        for ticket in self.tickets:
            for start, end, member_of, is_open, estimate in self._segments(ticket):
                if member_of is None or (end is not None and end <= start):
                    continue  # in no milestone, or in and out again within a day
                entered[member_of] = min(entered.get(member_of, start), start)
                if is_open:
                    counts[member_of][start] += 1
                    sums[member_of][start] += estimate
                    if end is not None:
                        counts[member_of][end] -= 1
                        sums[member_of][end] -= estimate
        result: dict[tuple[int, date], tuple[int, float]] = {}
        for milestone in milestones:
            starts = [d for d in (entered.get(milestone.id), milestone.start_date) if d]
            if not starts:
                continue
            last = milestone.completed_date if milestone.is_completed else today
            level, total = 0, 0.0
            for day in _days(min(starts), last or today):
                level += counts[milestone.id].get(day, 0)
                total += sums[milestone.id].get(day, 0.0)
                result[(milestone.id, day)] = (level, round(total, 2))
        return result

    def _segments(self, ticket: Ticket) -> list[tuple[date, date | None, int | None, bool, float]]:
        """Day ranges [start, end) over which ``ticket`` ended each day in one milestone,
        open or not, with one estimate."""
        changes = [
            (change.when, name, old, new)
            for change in self.history.get(ticket.id, ())
            for name, old, new in change.triples()
            if name in ("milestone_id", "status", "estimate")
        ]
        now: dict[str, str | None] = {
            "milestone_id": str(ticket.milestone_id) if ticket.milestone_id else None,
            "status": ticket.status,
            "estimate": str(ticket.estimate),
        }
        for _, name, old, _ in reversed(changes):
            now[name] = old  # walk back to the values it was created with
        points = [(ticket.created_on, dict(now))]
        for when, name, _, new in changes:
            now[name] = new
            points.append((when, dict(now)))
        segments = []
        for index, (when, values) in enumerate(points):
            ends = points[index + 1][0].date() if index + 1 < len(points) else None
            state = self.state_of(ticket, values["status"] or "", index + 1 == len(points))
            milestone = values["milestone_id"]
            segments.append(
                (
                    when.date(),
                    ends,
                    int(milestone) if milestone else None,
                    state == 1,
                    float(values["estimate"] or 0),
                )
            )
        return segments


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
