"""``World.truth()`` agrees with what the HTTP API serves; offsets never change instants."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from assembla_mirror.simulator import Clock, Simulator, World

from .helpers import all_pages, connect, instant


def served(client: httpx.Client, world: World) -> dict[str, list[dict[str, Any]]]:
    """Everything the caller can list, walked like a mirror would."""
    lists: dict[str, list[dict[str, Any]]] = defaultdict(list)
    lists["spaces"] = client.get("/v1/spaces").json()
    for space in lists["spaces"]:
        base = f"/v1/spaces/{space['id']}"
        lists["users"] += client.get(f"{base}/users").json()
        lists["user_roles"] += client.get(f"{base}/user_roles").json()
        lists["milestones"] += all_pages(client, f"{base}/milestones/all")
        statuses = client.get(f"{base}/tickets/statuses")
        if statuses.status_code == 404:
            continue
        lists["ticket_statuses"] += statuses.json()
        lists["custom_fields"] += client.get(f"{base}/tickets/custom_fields").json()
        tickets = all_pages(client, f"{base}/tickets", report=0)
        lists["tickets"] += tickets
        for ticket in tickets:
            path = f"{base}/tickets/{ticket['number']}/ticket_comments"
            lists["comments"] += all_pages(client, path)
    lists["tasks"] = all_pages(client, "/v1/tasks", **{"users[]": list(world.state.users)})
    lists["events"] = all_pages(client, "/v1/activity")
    return lists


def by_id(items: list[Any]) -> dict[Any, Any]:
    return {item["id"] if isinstance(item, dict) else item.id: item for item in items}


def test_truth_matches_the_api(small: httpx.Client, small_world: World) -> None:
    truth = small_world.truth()
    lists = served(small, small_world)
    counts = truth.counts()
    for name, items in lists.items():
        if name == "users":
            items = list(by_id(items).values())  # a user is listed once per space
        assert len(items) == counts[name], name

    tickets = by_id(lists["tickets"])
    for ticket in truth.tickets:
        seen = tickets[ticket.id]
        assert (seen["number"], seen["summary"], seen["description"]) == (
            ticket.number,
            ticket.summary,
            ticket.description,
        )
        assert (seen["status"], seen["state"], seen["milestone_id"]) == (
            ticket.status,
            ticket.state,
            ticket.milestone_id,
        )
        assert instant(seen["updated_at"]) == ticket.updated_at
        assert instant(seen["created_on"]) == ticket.created_on
        assert seen["custom_fields"] == ticket.custom_fields
        assert seen["estimate"] == ticket.estimate

    tasks = by_id(lists["tasks"])
    for task in truth.tasks:
        seen = tasks[task.id]
        assert Decimal(seen["hours"]) == task.hours
        assert instant(seen["begin_at"]) == task.begin_at
        assert (seen["user_id"], seen["ticket_id"]) == (task.user_id, task.ticket_id)

    milestones = by_id(lists["milestones"])
    for milestone in truth.milestones:
        seen = milestones[milestone.id]
        due = date.fromisoformat(seen["due_date"]) if seen["due_date"] else None
        assert (due, seen["is_completed"]) == (milestone.due_date, milestone.is_completed)

    comments = by_id(lists["comments"])
    assert all(comments[c.id]["comment"] == c.comment for c in truth.comments)
    fields = by_id(lists["custom_fields"])
    assert all(fields[f.id]["list_options"] == f.list_options for f in truth.custom_fields)


def test_hours_by_space(small: httpx.Client, small_world: World) -> None:
    tasks = all_pages(small, "/v1/tasks", **{"users[]": list(small_world.state.users)})
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for task in tasks:
        totals[task["space_id"]] += Decimal(task["hours"])
    expected = small_world.truth().hours_by_space()
    assert {space: float(hours) for space, hours in totals.items()} == expected


def test_truth_is_a_snapshot(tiny_sim: Simulator) -> None:
    world = tiny_sim.world
    before = world.truth()
    ticket = before.tickets[0]
    title = next(iter(ticket.custom_fields))
    world.update_ticket(ticket.space_id, ticket.number, summary="changed later")
    world.rename_custom_field(ticket.space_id, title, "Later title")
    assert before.tickets[0].summary == ticket.summary
    assert title in before.tickets[0].custom_fields
    assert "Later title" in world.truth().tickets[0].custom_fields


def test_truth_follows_the_caller(tiny_sim: Simulator) -> None:
    world = tiny_sim.world
    caller = world.primary_user.id
    other = next(uid for uid in world.state.users if uid != caller)
    theirs = world.truth(other)
    assert {s.id for s in theirs.spaces} == {s.id for s in world.spaces_of(other)}
    assert all(t.user_id == other for t in theirs.time_logs if t.user_id)
    with connect(tiny_sim, tiny_sim.credentials_for(other)) as client:
        listed = all_pages(client, "/v1/tasks", **{"users[]": list(world.state.users)})
    assert sorted(t["id"] for t in listed) == sorted(t.id for t in theirs.tasks)


def test_mixed_offsets_denote_the_same_instants(small: httpx.Client, small_world: World) -> None:
    truth = small_world.truth()
    spaces = small.get("/v1/spaces").json()
    offsets = {s["created_at"][19:] for s in spaces}
    assert len(offsets) >= 3  # e.g. +03:00, Z, -08:00, +05:30
    for served_space, space in zip(spaces, truth.spaces, strict=True):
        assert instant(served_space["created_at"]) == space.created_at
        zone = space.time_zone or small_world.primary_user.time_zone
        assert served_space["created_at"].endswith(zone)


def test_time_zone_changes_keep_instants(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    caller = world.primary_user
    follows_caller = next(s for s in world.spaces_of() if s.time_zone is None)
    own_zone = next(s for s in world.spaces_of() if s.time_zone is not None)
    path = f"/v1/spaces/{follows_caller.id}/tickets"
    before = tiny.get(path, params={"report": 0}).json()
    assert before[0]["updated_at"].endswith("Z")
    world.set_time_zone(caller.id, "-08:00")
    after = tiny.get(path, params={"report": 0}).json()
    assert after[0]["updated_at"].endswith("-08:00")
    assert [instant(t["updated_at"]) for t in after] == [instant(t["updated_at"]) for t in before]
    kept = tiny.get(f"/v1/spaces/{own_zone.id}").json()["created_at"]
    assert kept.endswith(own_zone.time_zone or "?")  # a space's own zone wins
    world.set_time_zone(caller.login, "+00:00")
    assert tiny.get(path, params={"report": 0}).json()[0]["updated_at"].endswith("+00:00")
    world.set_time_zone(own_zone.wiki_name, None)
    assert tiny.get(f"/v1/spaces/{own_zone.id}").json()["created_at"].endswith("+00:00")


def test_warm_up_serves_the_same_bytes() -> None:
    bodies = []
    for warm in (False, True):
        clock = Clock()
        clock.freeze(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
        world = World.generate(seed=8, scale="tiny,spaces=4", clock=clock)
        with Simulator(world) as sim, connect(sim) as client:
            if warm:
                sim.warm_up()
                assert all(
                    t.cache is not None
                    for t in world.state.tasks.values()
                    if t.user_id == sim.credentials.user_id
                )
            pages = [
                client.get(
                    f"/v1/spaces/{s.id}/tickets", params={"report": 0, "per_page": 100}
                ).content
                for s in world.spaces_of()
            ]
            pages.append(client.get("/v1/tasks", params={"per_page": 100}).content)
            bodies.append(pages)
    assert bodies[0] == bodies[1]
