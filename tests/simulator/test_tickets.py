"""Ticket lists (reports, sorting, number[]) and the milestone list variants."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from assembla_mirror.simulator import World

from .helpers import all_pages, instant


def ticket_space(world: World) -> str:
    data = next(d for d in world.state.member_spaces(world.primary_user.id) if d.ticket_tool)
    return data.space.id


@pytest.fixture
def path(small_world: World) -> str:
    return f"/v1/spaces/{ticket_space(small_world)}/tickets"


def test_report_zero_is_every_ticket_default_is_open_only(
    small: httpx.Client, small_world: World, path: str
) -> None:
    space = ticket_space(small_world)
    truth = [t for t in small_world.truth().tickets if t.space_id == space]
    every = all_pages(small, path, report=0)
    default = all_pages(small, path)
    assert {t["id"] for t in every} == {t.id for t in truth}
    assert {t["id"] for t in default} == {t.id for t in truth if t.state == 1}
    assert 0 < len(default) < len(every)
    assert {t["id"] for t in all_pages(small, path, report=1)} == {t["id"] for t in default}
    closed = all_pages(small, path, report=4)
    assert {t["id"] for t in closed} == {t.id for t in truth if t.state == 0}
    assert all(t["completed_date"] is not None for t in closed)


def test_default_order_is_number_ascending(small: httpx.Client, path: str) -> None:
    numbers = [t["number"] for t in all_pages(small, path, report=0)]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("field", ["updated_at", "created_on", "id", "number"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_sort_by_and_order(small: httpx.Client, path: str, field: str, order: str) -> None:
    tickets = all_pages(small, path, report=0, sort_by=field, sort_order=order)
    if field in ("updated_at", "created_on"):
        keys = [(instant(t[field]), t["id"]) for t in tickets]
    else:
        keys = [(t[field], t["id"]) for t in tickets]
    assert keys == sorted(keys, reverse=order == "desc")


def test_sort_ties_break_by_id_so_pages_are_stable(small: httpx.Client, path: str) -> None:
    tickets = all_pages(small, path, report=0, sort_by="priority")
    keys = [(t["priority"], t["id"]) for t in tickets]
    assert keys == sorted(keys)
    assert len({t["priority"] for t in tickets}) > 1
    again = all_pages(small, path, report=0, sort_by="priority")
    assert [t["id"] for t in again] == [t["id"] for t in tickets]


def test_number_list_returns_just_those(small: httpx.Client, small_world: World, path: str) -> None:
    space = ticket_space(small_world)
    numbers = sorted(t.number for t in small_world.truth().tickets if t.space_id == space)[:3]
    wanted = [*numbers, 999999]
    answer = small.get(
        path, params={"number[]": wanted, "per_page": 1, "page": 7, "sort_order": "desc"}
    ).json()
    assert [t["number"] for t in answer] == numbers
    single = small.get(path, params={"number": numbers[1]}).json()
    assert [t["number"] for t in single] == [numbers[1]]
    assert small.get(path, params={"number[]": [999999]}).status_code == 204


def test_milestone_variants(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    truth = [m for m in small_world.truth().milestones if m.space_id == space]
    base = f"/v1/spaces/{space}/milestones"
    every = all_pages(small, f"{base}/all")
    assert sorted(m["id"] for m in every) == sorted(m.id for m in truth)
    open_ids = {m.id for m in truth if not m.is_completed}
    assert {m["id"] for m in all_pages(small, base)} == open_ids
    completed = all_pages(small, f"{base}/completed")
    assert {m["id"] for m in completed} == {m.id for m in truth if m.is_completed}
    assert all(date.fromisoformat(m["completed_date"]) for m in completed)
    upcoming = all_pages(small, f"{base}/upcoming")
    assert {m["id"] for m in upcoming} == open_ids
    dues = [m["due_date"] for m in upcoming if m["due_date"]]
    assert dues == sorted(dues)
    one = small.get(f"{base}/{every[0]['id']}").json()
    assert one == every[0]
    assert set(one) >= {"title", "is_completed", "due_date", "start_date", "pretty_release_level"}
