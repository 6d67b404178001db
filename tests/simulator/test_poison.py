"""Poison data a hostile server can serve: raw JSON, huge integers, wrong spaces, odd dates,
and activity events dated anywhere (``World.corrupt`` and ``World.inject_event``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from assembla_mirror.simulator import RawJson, Simulator, World
from assembla_mirror.simulator.entities import Ticket

from .helpers import all_pages, instant

DEEP = "[" * 200_000 + "]" * 200_000
BIG = 2**64 + 5
FAR = "9999-12-31T23:59:59Z"


def a_ticket(world: World) -> Ticket:
    """The lowest-numbered ticket of the primary caller's first space with tickets."""
    space = next(s for s in world.spaces_of() if world.state.spaces[s.id].tickets)
    return world.ticket(space.id, min(world.state.spaces[space.id].tickets))


def ticket_path(ticket: Ticket) -> str:
    """The URL path of one ticket."""
    return f"/v1/spaces/{ticket.space_id}/tickets/{ticket.number}"


def with_raw(raw: bytes, name: str, text: str) -> Any:
    """``raw`` parsed, after checking that member ``name`` carries ``text`` verbatim, once;
    that member's value comes back as None (Python's parser could not take it)."""
    member = f'"{name}":{text}'.encode()
    assert raw.count(member) == 1
    return json.loads(raw.replace(member, f'"{name}":null'.encode()))


# --- RawJson ------------------------------------------------------------------------------


def test_raw_json_nesting_arrives_verbatim(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    ticket = a_ticket(tiny_sim.world)
    before = tiny.get(ticket_path(ticket)).json()
    tiny_sim.world.corrupt("ticket", (ticket.space_id, ticket.number), custom_fields=RawJson(DEEP))
    for _ in range(2):  # the second answer comes from the render cache
        served = with_raw(tiny.get(ticket_path(ticket)).content, "custom_fields", DEEP)
        assert list(served) == list(before)  # the field keeps its place
        assert {**served, "custom_fields": before["custom_fields"]} == before
    listed = tiny.get(
        f"/v1/spaces/{ticket.space_id}/tickets", params={"report": 0, "per_page": 100}
    ).content
    assert f'"custom_fields":{DEEP},'.encode() in listed


def test_raw_json_bytes_go_out_as_they_are(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    ticket = a_ticket(tiny_sim.world)
    tiny_sim.world.corrupt("ticket", (ticket.space_id, ticket.number), summary=RawJson(b'"\xff"'))
    assert b'"summary":"\xff",' in tiny.get(ticket_path(ticket)).content


@pytest.mark.parametrize("kind", ["space", "user", "ticket", "task", "milestone"])
def test_raw_json_in_every_corruptible_kind(
    tiny_sim: Simulator, tiny: httpx.Client, kind: str
) -> None:
    world = tiny_sim.world
    ticket = a_ticket(world)
    space = ticket.space_id
    me = world.primary_user.id
    task = next(t for t in world.state.tasks.values() if t.user_id == me)
    milestone = next(iter(world.state.spaces[space].milestones.values()))
    ref, path = {
        "space": (space, f"/v1/spaces/{space}"),
        "user": (me, "/v1/user"),
        "ticket": ((space, ticket.number), ticket_path(ticket)),
        "task": (task.id, "/v1/tasks"),
        "milestone": (milestone.id, f"/v1/spaces/{space}/milestones/{milestone.id}"),
    }[kind]
    world.corrupt(kind, ref, deep=RawJson(DEEP))
    served = with_raw(tiny.get(path, params={"per_page": 100}).content, "deep", DEEP)
    if kind == "task":  # a list: the one task carries it
        served = next(t for t in served if t["id"] == task.id)
    expected_id = {"space": space, "user": me, "ticket": ticket.id, "task": task.id}
    assert served["id"] == expected_id.get(kind, milestone.id)
    assert "deep" in served
    assert served["deep"] is None


# --- poison values through corrupt --------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "number", "priority"])
def test_integers_past_64_bits_on_tickets(
    tiny_sim: Simulator, tiny: httpx.Client, field: str
) -> None:
    ticket = a_ticket(tiny_sim.world)
    tiny_sim.world.corrupt("ticket", (ticket.space_id, ticket.number), **{field: BIG})
    raw = tiny.get(ticket_path(ticket)).content
    assert f'"{field}":{BIG},'.encode() in raw
    assert json.loads(raw)[field] == BIG


def test_a_task_id_past_64_bits(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    me = tiny_sim.world.primary_user.id
    task = next(t for t in tiny_sim.world.state.tasks.values() if t.user_id == me)
    tiny_sim.world.corrupt("task", task.id, id=BIG)
    served = all_pages(tiny, "/v1/tasks")
    assert BIG in [t["id"] for t in served]
    assert task.id not in [t["id"] for t in served]


def test_space_ids_that_name_no_space_or_another(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    ticket = a_ticket(world)
    other = next(s.id for s in world.spaces_of() if s.id != ticket.space_id)
    milestone = next(iter(world.state.spaces[ticket.space_id].milestones.values()))
    world.corrupt("ticket", (ticket.space_id, ticket.number), space_id="no-such-space")
    world.corrupt("milestone", milestone.id, space_id=other)
    assert tiny.get(ticket_path(ticket)).json()["space_id"] == "no-such-space"
    served = tiny.get(f"/v1/spaces/{ticket.space_id}/milestones/{milestone.id}").json()
    assert served["space_id"] == other
    world.corrupt("ticket", (ticket.space_id, ticket.number), space_id=other)
    assert tiny.get(ticket_path(ticket)).json()["space_id"] == other


def test_far_future_updated_at_is_served_and_sorting_keeps_the_real_value(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    ticket = a_ticket(world)
    tickets = world.state.spaces[ticket.space_id].tickets.values()
    oldest = min(tickets, key=lambda t: (t.updated_at, t.id))
    world.corrupt("ticket", (oldest.space_id, oldest.number), updated_at=FAR)
    me = world.primary_user.id
    task = next(t for t in world.state.tasks.values() if t.user_id == me)
    world.corrupt("task", task.id, updated_at=FAR)
    newest_first = all_pages(
        tiny,
        f"/v1/spaces/{ticket.space_id}/tickets",
        report=0,
        sort_by="updated_at",
        sort_order="desc",
    )
    # Served as planted, but ordered by the ticket's own (typed) updated_at: last, not first.
    assert newest_first[-1]["id"] == oldest.id
    assert newest_first[-1]["updated_at"] == FAR
    served_task = next(t for t in all_pages(tiny, "/v1/tasks") if t["id"] == task.id)
    assert served_task["updated_at"] == FAR


# --- injected activity events ---------------------------------------------------------------


def activity(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    """Every event /v1/activity serves for ``params``."""
    return all_pages(client, "/v1/activity", **params)


def test_a_future_event_is_served_first_and_changes_nothing(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    ticket = a_ticket(world)
    before = tiny.get(ticket_path(ticket)).json()
    count = len(activity(tiny))
    when = world.clock.now() + timedelta(days=3, microseconds=5)
    world.inject_event(ticket.space_id, date=when, number=ticket.number, title="From the future")
    served = activity(tiny)
    assert len(served) == count + 1
    first = served[0]
    assert instant(first["date"]) == when.replace(microsecond=0)
    assert (first["object"], first["operation"], first["object_id"]) == (
        "Ticket",
        "updated",
        str(ticket.id),
    )
    assert first["title"] == "From the future"
    assert first["ticket"] == {
        "id": ticket.id,
        "number": ticket.number,
        "summary": ticket.summary,
        "operation": "updated",
    }
    assert tiny.get(ticket_path(ticket)).json() == before
    minute = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
    assert [e["date"] for e in activity(tiny, **{"from": minute})] == [first["date"]]
    assert first not in activity(tiny, to=world.clock.now().strftime("%Y-%m-%d %H:%M"))
    assert first in activity(tiny, space_id=ticket.space_id)


def test_injected_events_follow_the_60_day_window(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    space = a_ticket(world).space_id
    now = world.clock.now()
    inside = world.inject_event(space, date=now - timedelta(days=59), title="inside")
    world.inject_event(space, date=now - timedelta(days=61), title="outside")
    titles = {e["title"] for e in activity(tiny)}
    assert "inside" in titles
    assert "outside" not in titles
    assert inside in world.truth().events
    world.clock.advance(2 * 86400)
    assert "inside" not in {e["title"] for e in activity(tiny)}


def test_every_object_kind_can_be_injected(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    ticket = a_ticket(world)
    when = datetime(2099, 1, 2, 3, 4, 5, tzinfo=UTC)
    for kind in ("Ticket Comment", "Milestone", "User"):
        world.inject_event(ticket.space_id, date=when, object=kind, number=None)
    world.inject_event(ticket.space_id, date=when, object="Ticket", operation="deleted")
    served = [e for e in activity(tiny) if instant(e["date"]) == when]
    shapes = {(e["object"], e["operation"]) for e in served}
    assert shapes == {
        ("Ticket Comment", "created"),
        ("Milestone", "updated"),
        ("User", "joined"),
        ("Ticket", "deleted"),
    }
    comment = next(e for e in served if e["object"] == "Ticket Comment")
    assert comment["ticket"]["operation"] == "commented"
    assert all(isinstance(e["object_id"], str) for e in served)
    assert world.ticket(ticket.space_id, ticket.number) is ticket  # nothing was deleted
    with pytest.raises(ValueError, match="object must be"):
        world.inject_event(ticket.space_id, date=when, object="Wiki")
    with pytest.raises(ValueError, match="timezone-aware"):
        world.inject_event(ticket.space_id, date=datetime(2099, 1, 1))


def test_an_injected_event_can_be_served_with_a_date_no_datetime_can_hold(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    event = world.inject_event(world.spaces_of()[0].id, date=datetime.now(UTC))
    world.corrupt("event", event, date="9999-12-31T23:59:59-01:00")
    served = all_pages(tiny, "/v1/activity")
    assert "9999-12-31T23:59:59-01:00" in [item["date"] for item in served]
    with pytest.raises(ValueError, match="cannot corrupt"):
        world.corrupt("event", object(), date="x")
