"""What the server holds that one caller can see, as plain typed values for test oracles.

:class:`Truth` is a snapshot: every record is a copy, so later changes to the
world do not leak into it. It is computed from the stored objects directly and
never from rendered JSON, so tests can derive expected database rows without
reusing the mirror's own parsing. Tickets' histories are the structured records
the change comments are written from; what they mean (stays in statuses, flow,
cumulative flow, burndown) is computed by :mod:`.truth_history`; tags, documents
and associations are gathered by :mod:`.truth_archive`.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from assembla_mirror.simulator.entities import (
    Comment,
    CustomField,
    Event,
    Milestone,
    Space,
    Task,
    Ticket,
    TicketStatus,
    TimeLog,
    User,
    UserRole,
)
from assembla_mirror.simulator.entities_archive import Association, Document, Tag
from assembla_mirror.simulator.history import Change, changes_of, comments_of
from assembla_mirror.simulator.state import WorldState
from assembla_mirror.simulator.truth_archive import build_archive
from assembla_mirror.simulator.truth_history import (
    ChangeRow,
    Histories,
    StatusStay,
    TicketFlow,
)

ACTIVITY_WINDOW = timedelta(days=60)
T = TypeVar("T")


@dataclass
class Truth:
    """Copies of everything ``user_id`` may see (see the package docs for the rules)."""

    user_id: str
    spaces: list[Space]
    users: list[User]
    user_roles: list[UserRole]
    milestones: list[Milestone]
    ticket_statuses: list[TicketStatus]
    custom_fields: list[CustomField]
    tickets: list[Ticket]
    comments: list[Comment]
    tasks: list[Task]
    time_logs: list[TimeLog]
    events: list[Event]
    #: each visible ticket's changes, oldest first, by ticket id (tickets without any: absent)
    history: dict[int, list[Change]] = field(default_factory=dict)
    #: the tags of spaces with a ticket tool, by space then id
    tags: list[Tag] = field(default_factory=list)
    #: ``(ticket_id, tag_id)`` for every tag a visible ticket carries
    ticket_tags: set[tuple[int, int]] = field(default_factory=set)
    #: files of spaces with a files tool, by space, then ``created_at`` and id; each gives
    #: its bytes (``content()``) and their ``sha256``
    documents: list[Document] = field(default_factory=list)
    #: associations with a visible ticket at either end, once each, by id
    associations: list[Association] = field(default_factory=list)

    def _histories(self) -> Histories:
        return Histories(self.tickets, self.history, self.ticket_statuses)

    def ticket_changes(self) -> list[ChangeRow]:
        """Every changed field as the mirror's ``ticket_changes`` rows with ``source`` =
        comment: ``(ticket_id, changed_at, user_id, field, old, new, comment_id)``, by
        ticket id, then in the order made."""
        return self._histories().changes()

    def status_intervals(self) -> list[StatusStay]:
        """Every ticket's stays in statuses: ``(ticket_id, stay, status, started_at,
        ended_at)``, ``ended_at`` None for the current stay; by ticket id and stay."""
        return self._histories().intervals()

    def status_state(self, space_id: str, status: str) -> int | None:
        """The state (1 open, 0 closed) of a space's status; None if it has no such status."""
        found = [
            s.state for s in self.ticket_statuses if (s.space_id, s.name) == (space_id, status)
        ]
        return found[0] if found else None

    def ticket_flow(self) -> list[TicketFlow]:
        """Per ticket: ``(ticket_id, created_on, started_at, closed_at, reopen_count)``,
        with ``lead_time_hours`` and ``cycle_time_hours``; by ticket id."""
        return self._histories().flow()

    def cumulative_flow(self, today: date) -> dict[tuple[str, date, str], int]:
        """``{(space_id, day, status): tickets}``: for each day from the space's first
        ticket's creation day through ``today``, and each status the space's tickets
        ever stayed in, how many were in it at the end of the day (zeros included)."""
        return self._histories().cumulative_flow(today)

    def milestone_burndown(self, today: date) -> dict[tuple[int, date], tuple[int, float]]:
        """``{(milestone_id, day): (open_tickets, open_estimate)}`` from the histories
        (see :meth:`.truth_history.Histories.milestone_burndown`)."""
        return self._histories().milestone_burndown(self.milestones, today)

    def hours_by_space(self) -> dict[str, float]:
        """Total task hours per space id, over the visible tasks."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for task in self.tasks:
            totals[task.space_id] += task.hours
        return {space_id: float(hours) for space_id, hours in totals.items()}

    def counts(self) -> dict[str, int]:
        """Number of records per list, e.g. ``{"tickets": 640, ...}``."""
        skip = ("user_id", "history")
        return {f.name: len(getattr(self, f.name)) for f in fields(self) if f.name not in skip}


def _copies(items: list[T]) -> list[T]:
    return [copy.copy(item) for item in items]


def build_truth(state: WorldState, user_id: str, now: datetime) -> Truth:
    """The snapshot for ``user_id`` at ``now`` (the caller must hold the world's lock)."""
    mine = state.member_spaces(user_id)
    space_ids = {data.space.id for data in mine}
    owned = {data.space.id for data in mine if data.roles[user_id].role == "owner"}
    with_tickets = [data for data in mine if data.ticket_tool is not None]
    member_ids = dict.fromkeys(uid for data in mine for uid in data.roles)

    tickets: list[Ticket] = []
    comments: list[Comment] = []
    history: dict[int, list[Change]] = {}
    for data in with_tickets:
        titles = dict(data.titles)
        for ticket in sorted(data.tickets.values(), key=lambda t: t.number):
            twin = copy.copy(ticket)
            twin.custom_values = dict(ticket.custom_values)
            twin.titles = titles
            tickets.append(twin)
            comments += _copies(comments_of(state, ticket))
            if ticket.id in state.history:
                history[ticket.id] = changes_of(state, ticket.id)
    fields_ = []
    for data in with_tickets:
        for custom in data.fields.values():
            twin_field = copy.copy(custom)
            twin_field.list_options = list(custom.list_options)
            fields_.append(twin_field)

    tasks = [
        task
        for task in state.tasks.values()
        if task.space_id in space_ids and (task.user_id == user_id or task.space_id in owned)
    ]
    logs = [
        log for task in tasks if task.user_id == user_id for log in state.time_logs.get(task.id, [])
    ]
    since = now - ACTIVITY_WINDOW
    archive = build_archive(state, mine)
    return Truth(
        user_id=user_id,
        spaces=_copies([data.space for data in mine]),
        users=_copies([state.users[uid] for uid in member_ids]),
        user_roles=_copies([row for data in mine for row in data.roles.values()]),
        milestones=_copies([m for data in mine for m in data.milestones.values()]),
        ticket_statuses=_copies([s for data in with_tickets for s in data.statuses]),
        custom_fields=fields_,
        tickets=tickets,
        comments=comments,
        tasks=_copies(tasks),
        time_logs=_copies(logs),
        events=_copies([e for e in state.events if e.space_id in space_ids and e.date >= since]),
        history=history,
        tags=archive.tags,
        ticket_tags=archive.ticket_tags,
        documents=archive.documents,
        associations=archive.associations,
    )
