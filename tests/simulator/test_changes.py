"""The world's change API, observed over HTTP: updated_at bumps, events, gaps, renames."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from assembla_mirror.simulator import Simulator, World

from .helpers import all_pages, instant


@pytest.fixture
def world(tiny_sim: Simulator) -> World:
    """The served world, its clock frozen so "now" is exact (tests advance it)."""
    tiny_sim.world.clock.freeze()
    return tiny_sim.world


@pytest.fixture
def space(world: World) -> str:
    """The caller's first space with the ticket tool (the caller owns it)."""
    return next(s.id for s in world.spaces_of() if world.state.spaces[s.id].ticket_tool)


def ticket_json(client: httpx.Client, space: str, number: int) -> dict[str, Any]:
    response = client.get(f"/v1/spaces/{space}/tickets/{number}")
    assert response.status_code == 200
    return dict(response.json())


def newest_event(client: httpx.Client) -> dict[str, Any]:
    return dict(client.get("/v1/activity", params={"per_page": 1}).json()[0])


def event_count(client: httpx.Client) -> int:
    return len(all_pages(client, "/v1/activity"))


def test_update_ticket_bumps_and_emits(world: World, space: str, tiny: httpx.Client) -> None:
    number = next(t.number for t in world.state.spaces[space].tickets.values() if t.state == 1)
    world.clock.advance(120)
    world.update_ticket(space, number, summary="Nouveau résumé ✓", status="Invalid", priority=1)
    ticket = ticket_json(tiny, space, number)
    now = world.clock.now()
    assert instant(ticket["updated_at"]) == now
    assert (ticket["summary"], ticket["status"], ticket["state"]) == (
        "Nouveau résumé ✓",
        "Invalid",
        0,
    )
    assert instant(ticket["completed_date"]) == now
    event = newest_event(tiny)
    assert (event["object"], event["operation"], event["object_id"]) == (
        "Ticket",
        "updated",
        str(ticket["id"]),
    )
    assert event["ticket"]["number"] == number
    assert "status" in event["whatchanged"]
    world.update_ticket(space, number, status="New")
    reopened = ticket_json(tiny, space, number)
    assert (reopened["state"], reopened["completed_date"]) == (1, None)
    with pytest.raises(KeyError):
        world.update_ticket(space, number, status="No such status")
    with pytest.raises(TypeError):
        world.update_ticket(space, number, colour="red")


def test_custom_field_values_by_title(world: World, space: str, tiny: httpx.Client) -> None:
    number = next(iter(world.state.spaces[space].tickets))
    title = next(iter(world.state.spaces[space].titles.values()))
    world.update_ticket(space, number, custom_fields={title: "réglé"})
    assert ticket_json(tiny, space, number)["custom_fields"][title] == "réglé"
    with pytest.raises(KeyError):
        world.update_ticket(space, number, custom_fields={"Nope": "x"})


def test_comment_bumps_the_ticket(world: World, space: str, tiny: httpx.Client) -> None:
    number = next(iter(world.state.spaces[space].tickets))
    world.clock.advance(300)
    comment = world.add_comment(space, number, "Un commentaire 💬")
    ticket = ticket_json(tiny, space, number)
    assert instant(ticket["updated_at"]) == world.clock.now()
    newest = tiny.get(f"/v1/spaces/{space}/tickets/{number}/ticket_comments").json()[0]
    assert (newest["id"], newest["comment"]) == (comment.id, "Un commentaire 💬")
    assert newest["ticket_id"] == ticket["id"]
    event = newest_event(tiny)
    assert (event["object"], event["operation"], event["object_id"]) == (
        "Ticket Comment",
        "created",
        str(comment.id),
    )
    assert event["ticket"] == {
        "id": ticket["id"],
        "number": number,
        "summary": ticket["summary"],
        "operation": "commented",
    }


def test_add_and_delete_tickets_leave_gaps(world: World, space: str, tiny: httpx.Client) -> None:
    path = f"/v1/spaces/{space}/tickets"
    before = {t["number"] for t in all_pages(tiny, path, report=0)}
    added = world.add_ticket(space, summary="新しいチケット")
    assert added.number > max(before)
    assert newest_event(tiny)["operation"] == "created"
    world.delete_ticket(space, added.number)
    after = {t["number"] for t in all_pages(tiny, path, report=0)}
    assert after == before
    assert tiny.get(f"{path}/{added.number}").status_code == 404
    event = newest_event(tiny)
    assert (event["object"], event["operation"], event["object_id"]) == (
        "Ticket",
        "deleted",
        str(added.id),
    )
    again = world.add_ticket(space)
    assert again.number == added.number + 1
    assert again.id > added.id


def test_tasks_change_without_events(world: World, space: str, tiny: httpx.Client) -> None:
    events = event_count(tiny)
    task = world.add_task(
        space=space, hours="2.25", description="Écrire les tests", ticket_number=1
    )
    listed = {t["id"]: t for t in all_pages(tiny, "/v1/tasks")}
    assert listed[task.id]["hours"] == "2.25"
    assert listed[task.id]["ticket_id"] == world.ticket(space, 1).id
    world.clock.advance(60)
    world.update_task(task.id, hours=3, description="Plus long")
    changed = {t["id"]: t for t in all_pages(tiny, "/v1/tasks")}[task.id]
    assert instant(changed["updated_at"]) == world.clock.now()
    assert changed["hours"] == "3"
    assert instant(changed["end_at"]) - instant(changed["begin_at"]) == timedelta(hours=3)
    world.delete_task(task.id)
    assert task.id not in {t["id"] for t in all_pages(tiny, "/v1/tasks")}
    assert event_count(tiny) == events


def test_time_logs_change_nothing_on_their_task(
    world: World, space: str, tiny: httpx.Client
) -> None:
    task = world.add_task(space=space, hours="1.0")
    stamp = {t["id"]: t for t in all_pages(tiny, "/v1/tasks")}[task.id]["updated_at"]
    events = event_count(tiny)
    world.clock.advance(60)
    log = world.add_time_log(task.id, description="capture")
    assert world.truth().time_logs[-1].id == log.id
    world.delete_time_log(log.id)
    assert {t["id"]: t for t in all_pages(tiny, "/v1/tasks")}[task.id]["updated_at"] == stamp
    assert event_count(tiny) == events
    assert log.id not in {entry.id for entry in world.truth().time_logs}


def test_deleting_a_task_deletes_its_time_logs(world: World) -> None:
    log = world.truth().time_logs[0]
    world.delete_task(log.task_id)
    assert all(entry.task_id != log.task_id for entry in world.truth().time_logs)


def test_custom_field_rename_and_delete_bump_nothing(
    world: World, space: str, tiny: httpx.Client
) -> None:
    path = f"/v1/spaces/{space}/tickets"
    before = all_pages(tiny, path, report=0)
    events = event_count(tiny)
    title = next(iter(world.state.spaces[space].titles.values()))
    world.clock.advance(60)
    world.rename_custom_field(space, title, "Renommé ✎")
    renamed = all_pages(tiny, path, report=0)
    for old, new in zip(before, renamed, strict=True):
        assert new["updated_at"] == old["updated_at"]
        assert title not in new["custom_fields"]
        assert new["custom_fields"]["Renommé ✎"] == old["custom_fields"][title]
    fields = tiny.get(f"{path}/custom_fields").json()
    assert "Renommé ✎" in {f["title"] for f in fields}
    world.delete_custom_field(space, "Renommé ✎")
    dropped = all_pages(tiny, path, report=0)
    assert all("Renommé ✎" not in t["custom_fields"] for t in dropped)
    assert [t["updated_at"] for t in dropped] == [t["updated_at"] for t in before]
    assert "Renommé ✎" not in {f["title"] for f in tiny.get(f"{path}/custom_fields").json()}
    assert event_count(tiny) == events


def test_milestone_changes_emit_events(world: World, space: str, tiny: httpx.Client) -> None:
    milestone = world.add_milestone(space, title="Version 2 🚀")
    assert newest_event(tiny)["operation"] == "created"
    world.clock.advance(10)
    world.update_milestone(milestone.id, is_completed=True, completed_date=world.clock.now().date())
    event = newest_event(tiny)
    assert (event["object"], event["operation"], event["object_id"]) == (
        "Milestone",
        "updated",
        str(milestone.id),
    )
    completed = tiny.get(f"/v1/spaces/{space}/milestones/completed", params={"per_page": 100})
    assert milestone.id in {m["id"] for m in completed.json()}
    world.delete_milestone(milestone.id)
    assert newest_event(tiny)["operation"] == "deleted"
    assert tiny.get(f"/v1/spaces/{space}/milestones/{milestone.id}").status_code == 404


def test_membership_changes(world: World, space: str, tiny: httpx.Client) -> None:
    newcomer = world.add_user(name="Zoé Nouvelle", login="zoe")
    world.add_member(space, newcomer.id, role="watcher")
    roles = tiny.get(f"/v1/spaces/{space}/user_roles").json()
    assert {"user_id": newcomer.id, "role": "watcher"}.items() <= next(
        r for r in roles if r["user_id"] == newcomer.id
    ).items()
    assert newest_event(tiny)["operation"] == "joined"
    world.remove_member(space, newcomer.id)
    roles = tiny.get(f"/v1/spaces/{space}/user_roles").json()
    assert newcomer.id not in {r["user_id"] for r in roles}
    event = newest_event(tiny)
    assert (event["object"], event["operation"], event["object_id"]) == (
        "User",
        "left",
        newcomer.id,
    )


def test_removing_the_caller_makes_the_space_forbidden(
    tiny_sim: Simulator, world: World, space: str, tiny: httpx.Client
) -> None:
    assert any(t["space_id"] == space for t in all_pages(tiny, "/v1/tasks"))
    world.remove_member(space, tiny_sim.credentials.user_id)
    assert tiny.get(f"/v1/spaces/{space}/tickets").status_code == 403
    assert space not in {s["id"] for s in tiny.get("/v1/spaces").json()}
    assert all(t["space_id"] != space for t in all_pages(tiny, "/v1/tasks"))


def test_new_status_and_unknown_space(world: World, space: str, tiny: httpx.Client) -> None:
    world.add_ticket_status(space, "Waiting for customer ⏳", state=1)
    names = [s["name"] for s in tiny.get(f"/v1/spaces/{space}/tickets/statuses").json()]
    assert names[-1] == "Waiting for customer ⏳"
    number = world.add_ticket(space, status="Waiting for customer ⏳").number
    assert ticket_json(tiny, space, number)["state"] == 1
    with pytest.raises(KeyError):
        world.add_ticket("no-such-space")


def test_frozen_clock_lets_changes_share_a_second(
    world: World, space: str, tiny: httpx.Client
) -> None:
    first, second = list(world.state.spaces[space].tickets)[:2]
    moment = world.clock.freeze()
    try:
        world.update_ticket(space, first, summary="one")
        world.update_ticket(space, second, summary="two")
        world.update_ticket(space, first, summary="three")
    finally:
        world.clock.unfreeze()
    stamps = {ticket_json(tiny, space, n)["updated_at"] for n in (first, second)}
    assert {instant(s) for s in stamps} == {moment}
    assert world.clock.now() >= moment
