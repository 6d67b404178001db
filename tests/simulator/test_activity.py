"""The activity stream: a 60-day window, newest first, space and time filters, event shapes."""

from __future__ import annotations

from datetime import UTC, timedelta

import httpx

from assembla_mirror.simulator import Simulator, World

from .helpers import all_pages, instant

OBJECTS = {"Ticket", "Ticket Comment", "Milestone", "User"}
OPERATIONS = {"created", "updated", "deleted", "joined", "left"}


def test_events_are_the_last_60_days_newest_first(small: httpx.Client, small_world: World) -> None:
    events = all_pages(small, "/v1/activity")
    truth = small_world.truth().events
    assert len(events) == len(truth) > 100
    dates = [instant(e["date"]) for e in events]
    assert dates == sorted(dates, reverse=True)
    now = small_world.clock.now()
    assert all(now - timedelta(days=60) <= d <= now for d in dates)
    key = [(e["object"], e["object_id"], e["operation"]) for e in events]
    expected = [(e.object, e.object_id, e.operation) for e in reversed(truth)]
    assert sorted(key) == sorted(expected)


def test_event_shapes(small: httpx.Client) -> None:
    events = all_pages(small, "/v1/activity")
    assert {e["object"] for e in events} <= OBJECTS
    assert {"Ticket", "Ticket Comment"} <= {e["object"] for e in events}
    assert {e["operation"] for e in events} <= OPERATIONS
    for event in events:
        assert isinstance(event["object_id"], str)
        assert {"space_id", "space_name", "author_id", "author_name", "title", "url"} <= set(event)
        if event["object"] in ("Ticket", "Ticket Comment"):
            ticket = event["ticket"]
            assert set(ticket) == {"id", "number", "summary", "operation"}
            if event["object"] == "Ticket":
                assert event["object_id"] == str(ticket["id"])


def test_space_filter(small: httpx.Client, small_world: World) -> None:
    space = small_world.truth().spaces[1]
    expected = [e for e in small_world.truth().events if e.space_id == space.id]
    for ref in (space.id, space.wiki_name):
        events = all_pages(small, "/v1/activity", space_id=ref)
        assert len(events) == len(expected) > 0
        assert {e["space_id"] for e in events} == {space.id}


def test_from_and_to_minutes_in_utc(small: httpx.Client, small_world: World) -> None:
    truth = small_world.truth().events
    start = truth[len(truth) // 4].date.astimezone(UTC).replace(second=0)
    end = truth[len(truth) // 2].date.astimezone(UTC).replace(second=0)
    events = all_pages(
        small,
        "/v1/activity",
        **{"from": start.strftime("%Y-%m-%d %H:%M"), "to": end.strftime("%Y-%m-%d %H:%M")},
    )
    expected = [e for e in truth if start <= e.date < end + timedelta(minutes=1)]
    assert len(events) == len(expected) > 0
    since = all_pages(small, "/v1/activity", **{"from": end.strftime("%Y-%m-%d %H:%M")})
    assert len(since) == len([e for e in truth if e.date >= end])
    assert small.get("/v1/activity", params={"from": "last week"}).status_code == 422


def test_old_events_leave_the_window(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    before = all_pages(tiny, "/v1/activity")
    oldest = min(instant(e["date"]) for e in before)
    world.clock.advance((oldest + timedelta(days=60, hours=1) - world.clock.now()).total_seconds())
    after = all_pages(tiny, "/v1/activity")
    assert len(after) < len(before)
    cutoff = world.clock.now() - timedelta(days=60)
    assert all(instant(e["date"]) >= cutoff for e in after)
    assert len(after) == len(world.truth().events)
