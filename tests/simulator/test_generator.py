"""The data generator: determinism, scales, and the quirks every world must contain."""

from __future__ import annotations

import re
import time
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assembla_mirror.errors import ConfigError
from assembla_mirror.simulator import Clock, Scale, World

STRING_ID = re.compile(r"^[A-Za-z0-9_-]{22}$")
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def frozen_world(seed: int, scale: str = "small") -> World:
    clock = Clock()
    clock.freeze(NOW)
    return World.generate(seed=seed, scale=scale, clock=clock)


def test_same_seed_and_scale_give_the_same_world() -> None:
    first, second = frozen_world(9).truth(), frozen_world(9).truth()
    assert first == second
    assert first.counts() == second.counts()


def test_another_seed_gives_another_world() -> None:
    first, other = frozen_world(9).truth(), frozen_world(10).truth()
    assert [t.summary for t in first.tickets] != [t.summary for t in other.tickets]
    assert {s.id for s in first.spaces}.isdisjoint({s.id for s in other.spaces})


def test_timestamps_are_relative_to_the_clock() -> None:
    early = frozen_world(9).truth()
    clock = Clock()
    clock.freeze(NOW + timedelta(days=10))
    later = World.generate(seed=9, scale="small", clock=clock).truth()
    assert [t.id for t in early.tickets] == [t.id for t in later.tickets]
    shifted = [t.created_on + timedelta(days=10) for t in early.tickets]
    assert shifted == [t.created_on for t in later.tickets]


def test_scale_presets_and_parsing() -> None:
    assert Scale.preset("tiny").spaces == 2
    assert Scale.preset("small").spaces == 4
    assert Scale.preset("large").spaces == 20
    parsed = Scale.parse("demo,tickets_per_space=5000,spaces=10,comments_per_ticket=0.5")
    assert (parsed.spaces, parsed.tickets_per_space) == (10, 5000)
    assert parsed.comments_per_ticket == 0.5
    assert parsed.users == Scale.preset("demo").users
    assert Scale.parse("spaces=3") == Scale(spaces=3)
    for bad in ("huge", "demo,tickets=5", "demo,spaces=many", "demo,spaces=-1"):
        with pytest.raises(ConfigError):
            Scale.parse(bad)


def test_small_lists_cross_the_page_boundary() -> None:
    truth = frozen_world(9).truth()
    per_space: dict[str, int] = {}
    for ticket in truth.tickets:
        per_space[ticket.space_id] = per_space.get(ticket.space_id, 0) + 1
    assert all(120 <= count <= 250 for count in per_space.values())
    assert 200 <= len(truth.tasks) <= 600


def test_space_quirks() -> None:
    world = frozen_world(9)
    state, caller = world.state, world.primary_user.id
    mine = state.member_spaces(caller)
    roles = [data.roles[caller].role for data in mine]
    assert "owner" in roles
    assert "member" in roles
    assert any(data.ticket_tool is None for data in mine)
    zones = {data.space.time_zone for data in mine}
    assert len(zones - {None}) >= 2
    assert None in zones  # a space following the caller's own setting
    assert any(caller not in data.roles for data in state.spaces.values())


def test_ids_numbers_and_gaps() -> None:
    world = frozen_world(9)
    truth = world.truth()
    assert all(STRING_ID.match(space.id) for space in truth.spaces)
    assert all(STRING_ID.match(user.id) for user in truth.users)
    assert all(STRING_ID.match(tool.id) for d in world.state.spaces.values() for tool in d.tools)
    ids = [t.id for t in truth.tickets]
    assert len(ids) == len(set(ids))
    for space in {t.space_id for t in truth.tickets}:
        numbers = sorted(t.number for t in truth.tickets if t.space_id == space)
        assert numbers[0] == 1
        assert numbers[-1] > len(numbers)  # deleted tickets left gaps


def test_value_quirks() -> None:
    truth = frozen_world(9).truth()
    names = {s.name for s in truth.ticket_statuses}
    assert {"New", "Accepted", "Test", "Fixed", "Invalid"} <= names
    assert names - {"New", "Accepted", "Test", "Fixed", "Invalid"}
    assert {f.type for f in truth.custom_fields} == {"Text", "Numeric", "List", "Team List", "Date"}
    assert all(f.list_options for f in truth.custom_fields if f.type == "List")
    values = [v for t in truth.tickets for v in t.custom_fields.values()]
    assert "" in values
    assert any(v for v in values)
    texts = [t.summary for t in truth.tickets] + [c.comment or "" for c in truth.comments]
    assert any(re.search(r"[\u4e00-\u9fff]", s) for s in texts)  # CJK
    assert any(re.search(r"[\u0590-\u06ff]", s) for s in texts)  # Hebrew / Arabic
    assert any(re.search(r"[\U0001F300-\U0001FAFF]", s) for s in texts)  # emoji
    assert any(re.search(r"[éèçüöä]", s) for s in texts)  # accents
    assert any(t.description is None for t in truth.tickets)
    assert any(t.milestone_id is None for t in truth.tickets)
    assert any(t.assigned_to_id is None for t in truth.tickets)
    assert {m.is_completed for m in truth.milestones} == {True, False}
    assert all(m.completed_date is not None for m in truth.milestones if m.is_completed)


def test_datetimes_are_aware_utc_whole_seconds() -> None:
    truth = frozen_world(9).truth()
    for name in ("spaces", "user_roles", "milestones", "tickets", "comments", "tasks", "events"):
        for entity in getattr(truth, name):
            for field in fields(entity):
                value = getattr(entity, field.name)
                if isinstance(value, datetime):
                    assert value.tzinfo is UTC, (name, field.name)
                    assert value.microsecond == 0, (name, field.name)


def test_timestamps_are_ordered_and_in_the_past() -> None:
    truth = frozen_world(9).truth()
    for ticket in truth.tickets:
        assert ticket.created_on <= ticket.updated_at <= NOW
    for comment in truth.comments:
        assert comment.created_on <= NOW
    for milestone in truth.milestones:
        assert milestone.created_at <= milestone.updated_at <= NOW
    for task in truth.tasks:
        assert task.created_at <= task.updated_at <= NOW
        assert task.end_at - task.begin_at == timedelta(hours=float(task.hours))
    window = NOW - timedelta(days=60)
    assert truth.events
    assert all(window <= event.date <= NOW for event in truth.events)


def test_tasks_and_time_logs() -> None:
    world = frozen_world(9)
    truth = world.truth()
    caller = world.primary_user.id
    assert all(isinstance(task.hours, Decimal) for task in truth.tasks)
    assert any(str(task.hours).endswith((".25", ".75")) for task in truth.tasks)
    by_id = {t.id: t for t in truth.tickets}
    linked = [task for task in truth.tasks if task.ticket_id is not None]
    assert linked
    for task in linked:
        assert task.ticket_id is not None
        assert by_id[task.ticket_id].number == task.ticket_number
    assert truth.time_logs
    mine = {task.id for task in truth.tasks if task.user_id == caller}
    assert all(log.task_id in mine for log in truth.time_logs)
    assert any(task.user_id != caller for task in truth.tasks)


def test_every_ticket_space_has_a_ticket_with_more_than_a_page_of_comments() -> None:
    truth = frozen_world(9).truth()
    counts: dict[int, int] = {}
    for comment in truth.comments:
        counts[comment.ticket_id] = counts.get(comment.ticket_id, 0) + 1
    spaces = {t.space_id for t in truth.tickets if counts.get(t.id, 0) > 10}
    assert spaces == {t.space_id for t in truth.tickets}


@pytest.mark.slow
def test_bench_scale_generates_quickly() -> None:
    started = time.perf_counter()
    world = World.generate(seed=1, scale="bench")
    elapsed = time.perf_counter() - started
    tickets = len(world.state.tickets_by_id)
    tasks = len(world.state.tasks)
    assert 95_000 <= tickets <= 105_000
    assert 95_000 <= tasks <= 105_000
    assert elapsed < 15
