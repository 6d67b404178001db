"""Paging: 1-based pages, per-endpoint defaults, per_page fallback, 204 for empty pages."""

from __future__ import annotations

import httpx
import pytest

from assembla_mirror.simulator import Simulator, World

from .helpers import all_pages


def ticket_space(world: World) -> str:
    data = next(d for d in world.state.member_spaces(world.primary_user.id) if d.ticket_tool)
    return data.space.id


def assert_no_content(response: httpx.Response) -> None:
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["content-length"] == "0"


@pytest.mark.parametrize(
    ("path", "params", "default"),
    [
        ("/v1/spaces/{space}/tickets", {"report": 0}, 10),
        ("/v1/tasks", {"users[]": "{all}"}, 25),
        ("/v1/activity", {}, 50),
        ("/v1/spaces/{space}/milestones/all", {}, 10),
        ("/v1/spaces/{space}/tickets/1/ticket_comments", {}, 10),
    ],
)
def test_default_page_sizes_and_per_page_fallback(
    small: httpx.Client, small_world: World, path: str, params: dict[str, str], default: int
) -> None:
    path = path.format(space=ticket_space(small_world))
    everyone = list(small_world.state.users)
    query = {k: (everyone if v == "{all}" else v) for k, v in params.items()}
    base = small.get(path, params=query).json()
    assert len(base) == default
    for per_page in ("101", "500", "0", "-3", "many"):
        response = small.get(path, params={**query, "per_page": per_page})
        assert response.json() == base, per_page
    three = small.get(path, params={**query, "per_page": 3}).json()
    assert three == base[:3]
    second = small.get(path, params={**query, "per_page": 3, "page": 2}).json()
    assert second == base[3:6]


def test_pages_cover_every_ticket_once(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    expected = sorted(t.id for t in small_world.truth().tickets if t.space_id == space)
    assert len(expected) > 100
    seen = [t["id"] for t in all_pages(small, f"/v1/spaces/{space}/tickets", report=0)]
    assert sorted(seen) == expected


def test_page_past_the_end_is_204(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    for path in (
        f"/v1/spaces/{space}/tickets",
        "/v1/tasks",
        "/v1/activity",
        f"/v1/spaces/{space}/milestones/all",
        f"/v1/spaces/{space}/tickets/1/ticket_comments",
    ):
        assert_no_content(small.get(path, params={"report": 0, "per_page": 100, "page": 40}))


def test_page_zero_is_page_one(small: httpx.Client, small_world: World) -> None:
    path = f"/v1/spaces/{ticket_space(small_world)}/tickets"
    first = small.get(path, params={"report": 0, "page": 1}).json()
    assert small.get(path, params={"report": 0, "page": 0}).json() == first
    assert small.get(path, params={"report": 0, "page": "x"}).json() == first


def test_exact_multiple_of_100_ends_with_204(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    space = ticket_space(world)
    while len(world.state.spaces[space].tickets) < 200:
        world.add_ticket(space, summary="filler")
    path = f"/v1/spaces/{space}/tickets"
    first = tiny.get(path, params={"report": 0, "per_page": 100, "page": 1})
    second = tiny.get(path, params={"report": 0, "per_page": 100, "page": 2})
    assert len(first.json()) == len(second.json()) == 100
    assert_no_content(tiny.get(path, params={"report": 0, "per_page": 100, "page": 3}))


def test_empty_lists_are_204(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    space = ticket_space(world)
    for milestone in list(world.state.spaces[space].milestones):
        world.delete_milestone(milestone)
    assert_no_content(tiny.get(f"/v1/spaces/{space}/milestones/all"))
    assert_no_content(tiny.get(f"/v1/spaces/{space}/milestones"))
    number = world.add_ticket(space).number
    assert_no_content(tiny.get(f"/v1/spaces/{space}/tickets/{number}/ticket_comments"))
    assert_no_content(tiny.get("/v1/tasks", params={"from": "1990-01-01", "to": "1990-01-02"}))
