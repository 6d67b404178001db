"""The filtered, ordered lists behind the list endpoints, cached until the data changes.

A page request slices a cached list: the cache key holds every query parameter
except ``page``/``per_page`` plus a generation counter the world bumps on each
change, so paging through 100,000 tickets sorts them once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from assembla_mirror.simulator.entities import Event, Milestone, Task, Ticket
from assembla_mirror.simulator.state import SpaceData, WorldState

ACTIVITY_WINDOW = timedelta(days=60)
TICKET_SORTS = frozenset(
    {
        "id", "number", "summary", "priority", "completed_date", "created_on", "importance",
        "is_story", "milestone_id", "updated_at", "working_hours", "estimate",
        "total_estimate", "total_invested_hours", "total_working_hours",
    }
)  # fmt: skip
TASK_SORTS = frozenset({"id", "begin_at", "created_at", "updated_at"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")
MINUTE = timedelta(minutes=1)


class BadQuery(ValueError):
    """A query parameter the server cannot interpret (answered with 422)."""


@dataclass(frozen=True)
class Bound:
    """A ``from``/``to`` value: a whole UTC day, or a minute when a time was given."""

    start: datetime
    end: datetime  # exclusive
    is_date: bool


def parse_bound(value: str, what: str) -> Bound:
    """Parse ``yyyy-mm-dd`` (and the other documented date forms), optionally `` hh:mm``."""
    text = value.strip()
    day_part, _, time_part = text.partition(" ")
    for pattern in DATE_FORMATS:
        try:
            day = datetime.strptime(day_part, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
        if not time_part:
            return Bound(day, day + timedelta(days=1), True)
        try:
            clock = datetime.strptime(time_part.strip(), "%H:%M")
        except ValueError:
            break
        start = day.replace(hour=clock.hour, minute=clock.minute)
        return Bound(start, start + MINUTE, False)
    raise BadQuery(f"{what} must look like yyyy-mm-dd or yyyy-mm-dd hh:mm, got {value!r}")


def _sort_key(name: str, tiebreak: str = "id") -> Callable[[Any], tuple[Any, ...]]:
    def key(obj: Any) -> tuple[Any, ...]:
        value = getattr(obj, name)
        return (value is None, value, getattr(obj, tiebreak))

    return key


def _order(items: Iterable[Any], sort_by: str, descending: bool) -> list[Any]:
    return sorted(items, key=_sort_key(sort_by), reverse=descending)


# --- tickets ----------------------------------------------------------------------------


def _report_filter(report: str | None, caller_id: str) -> Callable[[Ticket], bool]:
    """Which tickets a report shows; no report (or an unknown one) means open tickets."""
    if report in ("0", "2"):
        return lambda t: True
    if report in ("4", "5"):
        return lambda t: t.state == 0
    if report == "6":
        return lambda t: t.assigned_to_id == caller_id
    if report == "7":
        return lambda t: t.assigned_to_id == caller_id and t.state == 1
    if report == "8":
        return lambda t: t.assigned_to_id == caller_id and t.state == 0
    if report == "9":
        return lambda t: t.state == 1 and caller_id in t.notification_list.split(",")
    return lambda t: t.state == 1


def tickets(
    state: WorldState,
    data: SpaceData,
    caller_id: str,
    report: str | None,
    sort_by: str | None,
    sort_order: str | None,
) -> list[Ticket]:
    """A space's tickets for a report, ordered (default ``number`` asc; ties by id)."""
    field = sort_by if sort_by in TICKET_SORTS else "number"
    descending = (sort_order or "").lower() == "desc"
    mine = report in ("6", "7", "8", "9")
    key = ("tickets", data.space.id, data.generation, report, field, descending, mine and caller_id)
    keep = _report_filter(report, caller_id)
    return state.orders.get(
        key, lambda: _order(filter(keep, data.tickets.values()), field, descending)
    )


def tickets_by_number(data: SpaceData, numbers: Iterable[str]) -> list[Ticket]:
    """Just the tickets with these numbers (unknown numbers and junk are skipped)."""
    wanted = sorted({int(n) for n in numbers if n.strip().isdigit()})
    return [data.tickets[n] for n in wanted if n in data.tickets]


# --- milestones ----------------------------------------------------------------------------


def milestones(data: SpaceData, which: str) -> list[Milestone]:
    """``open`` (the plain list), ``all``, ``upcoming`` (open, by due date) or ``completed``."""
    items = sorted(data.milestones.values(), key=lambda m: m.id)
    if which == "all":
        return items
    if which == "completed":
        return [m for m in items if m.is_completed]
    open_items = [m for m in items if not m.is_completed]
    if which == "upcoming":
        return sorted(open_items, key=lambda m: (m.due_date is None, m.due_date or date.min, m.id))
    return open_items


# --- tasks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskQuery:
    """The parameters of a ``/v1/tasks`` request, minus paging."""

    users: frozenset[str] = frozenset()
    spaces: frozenset[str] = frozenset()
    ticket_ids: frozenset[int] = frozenset()
    start: Bound | None = None
    end: Bound | None = None
    sort_by: str = "id"
    descending: bool = False


def _in_range(moment: datetime, start: Bound | None, end: Bound | None) -> bool:
    if start is not None:
        if start.is_date:
            if moment.date() < start.start.date():
                return False
        elif moment < start.start:
            return False
    return end is None or moment < end.end


def tasks(state: WorldState, caller_id: str, query: TaskQuery) -> list[Task]:
    """Tasks visible to the caller for ``query``.

    The caller's own tasks in the caller's spaces; ``users`` adds those users'
    tasks, but only in spaces where the caller is an owner.
    """
    key = ("tasks", caller_id, state.task_generation, query)

    def compute() -> list[Task]:
        member = {d.space.id: d.roles[caller_id].role for d in state.member_spaces(caller_id)}
        wanted = {d.space.id for ref in query.spaces if (d := state.space(ref)) is not None}
        found = []
        for task in state.tasks.values():
            role = member.get(task.space_id)
            if role is None or (query.spaces and task.space_id not in wanted):
                continue
            if task.user_id != caller_id and not (role == "owner" and task.user_id in query.users):
                continue
            if query.ticket_ids and task.ticket_id not in query.ticket_ids:
                continue
            if _in_range(task.begin_at, query.start, query.end):
                found.append(task)
        return _order(found, query.sort_by, query.descending)

    return state.orders.get(key, compute)


# --- activity --------------------------------------------------------------------------------


def activity(
    state: WorldState,
    caller_id: str,
    space_id: str | None,
    start: Bound | None,
    end: Bound | None,
    now: datetime,
) -> list[Event]:
    """Events of the caller's spaces in the last 60 days (and the bounds), newest first."""
    since = now - ACTIVITY_WINDOW
    key = ("activity", caller_id, state.event_generation, space_id, start, end, since)

    def compute() -> list[Event]:
        spaces = {d.space.id for d in state.member_spaces(caller_id)}
        if space_id is not None:
            spaces &= {space_id}
        lower = max(since, start.start) if start is not None else since
        return [
            e
            for e in reversed(state.events)
            if e.space_id in spaces and e.date >= lower and (end is None or e.date < end.end)
        ]

    return state.orders.get(key, compute)
