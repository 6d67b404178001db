"""Checks shared by the history tests: a generated or changed ticket's history must end
exactly where the ticket stands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from assembla_mirror.simulator import Clock, World
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.simulator.history import changes_of

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def frozen_world(seed: int, scale: str) -> World:
    """A generated world whose clock stands still at :data:`NOW`."""
    clock = Clock()
    clock.freeze(NOW)
    return World.generate(seed=seed, scale=scale, clock=clock)


def text_of(value: Any) -> str | None:
    return None if value is None else str(value)


def current_values(world: World, ticket: Ticket) -> dict[str, str | None]:
    """What the end of a ticket's history must say, as text."""
    values = {
        "status": ticket.status,
        "assigned_to_id": ticket.assigned_to_id,
        "milestone_id": text_of(ticket.milestone_id),
        "priority": str(ticket.priority),
        "estimate": str(ticket.estimate),
        "summary": ticket.summary,
        "description": ticket.description,
    }
    return {**values, **ticket.custom_fields}


def assert_history_ends_where_the_ticket_stands(world: World, ticket: Ticket) -> None:
    """Changes follow on from each other, from the space's first status, and their last
    values, completion and times are the ticket's own."""
    data = world.state.spaces[ticket.space_id]
    first = min(data.statuses, key=lambda s: s.list_order).name
    changes = changes_of(world.state, ticket.id)
    stamps = [change.when for change in changes]
    assert stamps == sorted(set(stamps)), ticket.number  # one change per second at most
    assert all(ticket.created_on < when <= world.clock.now() for when in stamps)
    latest: dict[str, str | None] = {}
    status = first
    completed = None
    for change in changes:
        names = change.names()
        assert len(names) == len(set(names)), change
        for name, old, new in change.triples():
            assert old != new, change
            if name in latest:
                assert latest[name] == old, (ticket.number, name)  # each change follows on
            if name == "status":
                assert old == status
                if data.status_state(old) == 1 and data.status_state(new or "") == 0:
                    completed = change.when
                status = new or ""
            latest[name] = new
    now = current_values(world, ticket)
    for name, value in latest.items():
        assert now[name] == value, (ticket.number, name)
    assert ticket.status == status
    assert ticket.state == data.status_state(ticket.status)
    assert ticket.completed_date == (completed if ticket.state == 0 else None)
    comments = [c.created_on for c in world.state.comments.get(ticket.id, [])]
    assert ticket.updated_at == max([ticket.created_on, *stamps, *comments])
