"""The offline object API answers the original wrapper's calls from the mirror, with SQL, on
both databases (``Mirror(path)`` and ``Mirror("postgresql://...")``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from assembla_mirror import Mirror
from assembla_mirror.errors import ConfigError
from assembla_mirror.read.mirror import AmbiguousError
from assembla_mirror.simulator import Simulator
from tests.read.use_mirror import SharedMirror, rows


@pytest.fixture(scope="module")
def account(synced_on: SharedMirror) -> tuple[Simulator, str]:
    """The session's shared synced mirror (on each backend) and the simulator (its world)
    it came from."""
    return synced_on.simulator, synced_on.db


@pytest.fixture
def m(account: tuple[Simulator, str]) -> Iterator[Mirror]:
    with Mirror(account[1]) as mirror:
        yield mirror


def sql(db: str, query: str, **binds: Any) -> list[tuple[Any, ...]]:
    """Rows of ``query`` (named binds) read from the mirror without the object API."""
    return rows(db, query, **binds)


def test_spaces_and_space_by_name(m: Mirror, account: tuple[Simulator, str]) -> None:
    names = [row[0] for row in sql(account[1], "SELECT name FROM spaces")]
    assert sorted(space.name for space in m.spaces()) == sorted(names)
    space = m.space(name=names[0])
    assert space is not None
    assert space.name == names[0]
    assert space["wiki_name"] == space.wiki_name  # attribute and key access, as 1.x and 2.x
    assert m.space(name="No such space") is None


def a_space_with_tickets(m: Mirror) -> Any:
    return next(space for space in m.spaces() if space.tickets())


def test_milestones_positional_title_and_keyword(m: Mirror) -> None:
    space = a_space_with_tickets(m)
    milestones = space.milestones()
    assert milestones
    first = milestones[0]
    assert space.milestone(first.title) == first
    assert space.milestone(title=first.title) == first
    assert isinstance(first.is_completed, bool)
    assert first.due_date is None or isinstance(first.due_date, date)


def test_ticket_filters_match_sql(m: Mirror, account: tuple[Simulator, str]) -> None:
    space = a_space_with_tickets(m)
    status, assignee, priority = sql(
        account[1],
        "SELECT status, assigned_to_id, priority FROM tickets WHERE space_id = :space "
        "AND assigned_to_id IS NOT NULL ORDER BY id LIMIT 1",
        space=space.id,
    )[0]
    expected = sql(
        account[1],
        "SELECT number FROM tickets WHERE space_id = :space AND status = :status "
        "AND assigned_to_id = :assignee AND priority = :priority ORDER BY number",
        space=space.id,
        status=status,
        assignee=assignee,
        priority=priority,
    )
    tickets = space.tickets(assigned_to_id=assignee, priority=priority, status_name=status)
    assert [t.number for t in tickets] == [row[0] for row in expected]
    by_status = space.tickets(status_name=status)
    assert all(t.status_name == status for t in by_status)
    assert len(by_status) == len(
        sql(
            account[1],
            "SELECT 1 FROM tickets WHERE space_id = :space AND status = :status",
            space=space.id,
            status=status,
        )
    )


def test_ticket_fields_have_native_types_and_custom_fields_dict(m: Mirror) -> None:
    space = a_space_with_tickets(m)
    ticket = space.tickets()[0]
    assert space.ticket(number=ticket.number) == ticket
    assert isinstance(ticket.updated_at, datetime)
    assert ticket.updated_at.tzinfo == UTC
    assert isinstance(ticket.custom_fields, dict)
    assert ticket.custom_fields
    assert all(isinstance(title, str) for title in ticket.custom_fields)
    assert repr(ticket).startswith(f"<Ticket #{ticket.number} - ")
    assert ticket.raw["id"] == ticket.id


def test_space_users_and_user_tickets(m: Mirror, account: tuple[Simulator, str]) -> None:
    space = a_space_with_tickets(m)
    users = space.users()
    members = sql(account[1], "SELECT user_id FROM user_roles WHERE space_id = :id", id=space.id)
    assert {u.id for u in users} == {row[0] for row in members}
    user = next(u for u in users if space.tickets(assigned_to_id=u.id))
    assert space.user(name=user.name) == user
    assigned = user.tickets()
    assert assigned
    assert {t.space_id for t in assigned} == {space.id}  # found through the space: its tickets
    assert all(t.assigned_to_id == user.id for t in assigned)
    status = assigned[0].status_name
    if len([t for t in assigned if t.status_name == status]) == 1:
        assert user.ticket(status_name=status) == assigned[0]


def test_milestone_tickets_and_users(m: Mirror) -> None:
    space = a_space_with_tickets(m)
    milestone = next(ms for ms in space.milestones() if ms.tickets())
    tickets = milestone.tickets()
    assert all(t.milestone_id == milestone.id for t in tickets)
    assert milestone.ticket(number=tickets[0].number) == tickets[0]
    assignees = {t.assigned_to_id for t in tickets if t.assigned_to_id}
    assert {u.id for u in milestone.users()} == assignees
    if assignees:
        some = milestone.users()[0]
        assert milestone.user(id=some.id) == some


def test_tasks_with_filters_and_date_range(m: Mirror, account: tuple[Simulator, str]) -> None:
    path = account[1]
    space = a_space_with_tickets(m)
    tasks = m.tasks(space=space)
    counted = sql(path, "SELECT count(*) FROM tasks WHERE space_id = :id", id=space.id)
    assert len(tasks) == counted[0][0]
    assert all(isinstance(t.hours, float) for t in tasks)
    day = tasks[len(tasks) // 2].begin_at.date()
    same_day = m.tasks(space=space, since=day, until=day)
    expected = sql(
        path,
        "SELECT count(*) FROM tasks WHERE space_id = :space AND substr(begin_at, 1, 10) = :day",
        space=space.id,
        day=day.isoformat(),
    )[0][0]
    assert len(same_day) == expected
    assert len(m.tasks(since=day.isoformat(), until=day.isoformat())) >= expected
    # the original README's total-hours loop, answered offline
    total = sum(t.hours for t in m.tasks() if t.space_id == space.id)
    assert total == pytest.approx(
        sql(path, "SELECT hours FROM hours_by_space WHERE space_id = :id", id=space.id)[0][0],
        abs=0.01,
    )


def test_events_newest_first_with_author_and_space(m: Mirror) -> None:
    events = m.events()
    assert events
    assert [e.date for e in events] == sorted((e.date for e in events), reverse=True)
    event = events[0]
    assert event.author["id"] == event.author_id
    assert event.space["id"] == event.space_id
    space = m.space(id=event.space_id)
    assert space is not None
    assert all(e.space_id == space.id for e in m.events(space=space))


def test_ticket_navigation(m: Mirror) -> None:
    space = a_space_with_tickets(m)
    ticket = next(t for t in space.tickets() if t.milestone_id and t.assigned_to_id)
    assert ticket.space() == space
    milestone = ticket.milestone()
    assert milestone is not None
    assert milestone.id == ticket.milestone_id
    assignee = ticket.assigned_to()
    assert assignee is not None
    assert assignee.id == ticket.assigned_to_id
    assert isinstance(ticket.comments(), list)


def test_singular_lookups_are_strict(m: Mirror) -> None:
    space = a_space_with_tickets(m)
    status = space.tickets()[0].status_name
    if len(space.tickets(status_name=status)) > 1:
        with pytest.raises(AmbiguousError, match="tickets match"):
            space.ticket(status_name=status)
    assert space.ticket(number=10**9) is None
    with pytest.raises(ConfigError, match="pass at least one filter"):
        space.ticket()


def test_unknown_filters_and_injection_attempts(m: Mirror) -> None:
    space = a_space_with_tickets(m)
    with pytest.raises(ConfigError, match="no field 'colour'; filter on one of"):
        space.tickets(colour="red")
    for hostile in ["x' OR '1'='1", "1; DROP TABLE tickets; --", '" OR 1=1 --']:
        assert space.tickets(summary=hostile) == []
        assert m.space(name=hostile) is None
    assert space.tickets()  # still there


def test_search_finds_unicode_text(m: Mirror, account: tuple[Simulator, str]) -> None:
    sim = account[0]
    ticket = next(t for t in sim.world.truth().tickets if not t.summary.isascii())
    word = next(w for w in ticket.summary.split() if not w.isascii())
    hits = m.search(word)
    assert ticket.id in {hit.id for hit in hits}


def test_mirror_requires_an_existing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no mirror at"):
        Mirror(tmp_path / "missing.db")
