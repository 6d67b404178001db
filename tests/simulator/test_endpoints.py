"""Endpoint basics over real HTTP: suffixes, lookups, unpaged lists, missing tools, 403/404."""

from __future__ import annotations

import httpx
import pytest

from assembla_mirror.simulator import Simulator, World

UNPAGED = ("users", "user_roles", "space_tools", "tickets/statuses", "tickets/custom_fields")


def ticket_space(world: World) -> str:
    """The id of the caller's first space with the ticket tool."""
    data = next(d for d in world.state.member_spaces(world.primary_user.id) if d.ticket_tool)
    return data.space.id


def toolless_space(world: World) -> str:
    data = next(d for d in world.state.member_spaces(world.primary_user.id) if not d.ticket_tool)
    return data.space.id


def foreign_space(world: World) -> str:
    caller = world.primary_user.id
    return next(d.space.id for d in world.state.spaces.values() if caller not in d.roles)


@pytest.mark.parametrize(
    "path",
    ["/v1/user", "/v1/spaces", "/v1/spaces/{space}/tickets", "/v1/spaces/{space}/milestones/all"],
)
def test_json_suffix_is_optional(small: httpx.Client, small_world: World, path: str) -> None:
    path = path.format(space=ticket_space(small_world))
    plain, suffixed = small.get(path), small.get(path + ".json")
    assert plain.status_code == suffixed.status_code == 200
    assert plain.content == suffixed.content
    assert plain.headers["content-type"] == "application/json; charset=utf-8"


def test_space_by_id_or_wiki_name(small: httpx.Client, small_world: World) -> None:
    space = small_world.space(ticket_space(small_world))
    by_id = small.get(f"/v1/spaces/{space.id}")
    by_name = small.get(f"/v1/spaces/{space.wiki_name}.json")
    assert by_id.json() == by_name.json()
    assert by_id.json()["wiki_name"] == space.wiki_name
    tickets = small.get(f"/v1/spaces/{space.wiki_name}/tickets", params={"report": 0})
    assert tickets.json()[0]["space_id"] == space.id


def test_me_and_users_by_id_or_login(small: httpx.Client, small_sim: Simulator) -> None:
    creds = small_sim.credentials
    me = small.get("/v1/user").json()
    assert (me["id"], me["login"]) == (creds.user_id, creds.login)
    assert set(me) >= {"name", "email", "picture", "organization", "phone", "im", "im2"}
    assert small.get(f"/v1/users/{creds.login}").json() == me
    assert small.get(f"/v1/users/{creds.user_id}.json").json() == me
    assert small.get("/v1/users/nobody-like-this").status_code == 404


def test_spaces_are_the_callers_and_unpaged(small: httpx.Client, small_world: World) -> None:
    expected = [s.id for s in small_world.truth().spaces]
    listed = small.get("/v1/spaces").json()
    assert [s["id"] for s in listed] == expected
    assert small.get("/v1/spaces", params={"page": 3, "per_page": 1}).json() == listed
    assert foreign_space(small_world) not in expected


@pytest.mark.parametrize("resource", UNPAGED)
def test_config_lists_ignore_paging(small: httpx.Client, small_world: World, resource: str) -> None:
    base = f"/v1/spaces/{ticket_space(small_world)}/{resource}"
    whole = small.get(base)
    assert whole.status_code == 200
    assert len(whole.json()) > 1
    for params in ({"page": 2, "per_page": 1}, {"page": 9}, {"per_page": 1}):
        assert small.get(base, params=params).json() == whole.json()


def test_space_lists_match_the_truth(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    truth = small_world.truth()
    users = small.get(f"/v1/spaces/{space}/users").json()
    roles = small.get(f"/v1/spaces/{space}/user_roles").json()
    assert {u["id"] for u in users} == {r["user_id"] for r in roles}
    assert {r["id"] for r in roles} == {r.id for r in truth.user_roles if r.space_id == space}
    assert all(r["role"] in ("watcher", "member", "owner") for r in roles)
    assert all(r["status"] in (1, 2) for r in roles)
    statuses = small.get(f"/v1/spaces/{space}/tickets/statuses").json()
    assert [s["list_order"] for s in statuses] == list(range(1, len(statuses) + 1))
    fields = small.get(f"/v1/spaces/{space}/tickets/custom_fields").json()
    assert all(isinstance(f["list_options"], list) for f in fields)
    tools = small.get(f"/v1/spaces/{space}/space_tools").json()
    assert "TicketTool" in {t["type"] for t in tools}


@pytest.mark.parametrize(
    "resource",
    ["tickets", "tickets/1", "tickets/statuses", "tickets/custom_fields", "tickets/id/5"],
)
def test_space_without_ticket_tool(small: httpx.Client, small_world: World, resource: str) -> None:
    response = small.get(f"/v1/spaces/{toolless_space(small_world)}/{resource}")
    assert response.status_code == 404
    assert response.text == "Tool not found for this project"


def test_space_without_ticket_tool_still_has_milestones(
    small: httpx.Client, small_world: World
) -> None:
    space = toolless_space(small_world)
    assert small.get(f"/v1/spaces/{space}/milestones/all").status_code == 200
    tools = small.get(f"/v1/spaces/{space}/space_tools").json()
    assert "TicketTool" not in {t["type"] for t in tools}


@pytest.mark.parametrize(
    "resource", ["", "/tickets", "/users", "/user_roles", "/milestones/all", "/tickets/statuses"]
)
def test_foreign_space_is_forbidden(small: httpx.Client, small_world: World, resource: str) -> None:
    response = small.get(f"/v1/spaces/{foreign_space(small_world)}{resource}")
    assert response.status_code == 403
    assert response.json() == {"error": "forbidden"}


def test_unknown_things_are_404(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    assert small.get("/v1/spaces/no-such-space").status_code == 404
    assert small.get(f"/v1/spaces/{space}/tickets/999999").status_code == 404
    assert small.get(f"/v1/spaces/{space}/milestones/999999").status_code == 404
    assert small.get("/v1/nothing/here").status_code == 404
    assert small.post("/v1/spaces").status_code == 404


def test_one_ticket_by_number_and_by_id(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    ticket = next(t for t in small_world.truth().tickets if t.space_id == space)
    by_number = small.get(f"/v1/spaces/{space}/tickets/{ticket.number}").json()
    by_id = small.get(f"/v1/spaces/{space}/tickets/id/{ticket.id}").json()
    assert by_number == by_id
    assert (by_number["id"], by_number["number"]) == (ticket.id, ticket.number)
    other = next(t for t in small_world.truth().tickets if t.space_id != space)
    assert small.get(f"/v1/spaces/{space}/tickets/id/{other.id}").status_code == 404


def test_ticket_shape(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    ticket = small.get(f"/v1/spaces/{space}/tickets", params={"report": 0}).json()[0]
    assert isinstance(ticket["status"], str)
    assert ticket["state"] in (0, 1)
    assert isinstance(ticket["custom_fields"], dict)
    for name in ("working_hours", "estimate", "total_estimate", "total_invested_hours"):
        assert isinstance(ticket[name], float)
    assert isinstance(ticket["importance"], float)
    assert ticket["created_on"][10] == "T"


def test_comments_are_newest_first(small: httpx.Client, small_world: World) -> None:
    space = ticket_space(small_world)
    truth = small_world.truth()
    number = min(t.number for t in truth.tickets if t.space_id == space)
    path = f"/v1/spaces/{space}/tickets/{number}/ticket_comments"
    first = small.get(path).json()
    second = small.get(path, params={"page": 2}).json()
    keys = [(c["created_on"], c["id"]) for c in first + second]
    assert keys == sorted(keys, reverse=True)
    assert {"comment", "ticket_id", "user_id", "ticket_changes", "user_name"} <= set(first[0])
