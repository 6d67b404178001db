"""Generated tickets' histories: they end where the tickets stand, look like real work,
are served as Ruby's change comments, agree with the activity events, and the truth's
stays, flow and cumulative flow agree with the tickets.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

import httpx
import pytest

from assembla_mirror.model.changes import parse_ticket_changes
from assembla_mirror.simulator import Simulator, World
from assembla_mirror.simulator.history import Change, changes_of

from .helpers import all_pages, connect, instant
from .history_checks import NOW, assert_history_ends_where_the_ticket_stands, frozen_world


@pytest.fixture(scope="module")
def world() -> World:
    """Four spaces, ~700 tickets, the clock frozen (read only)."""
    return frozen_world(5, "small")


def test_every_generated_history_ends_where_its_ticket_stands(world: World) -> None:
    tickets = list(world.state.tickets_by_id.values())
    assert len(tickets) > 500
    for ticket in tickets:
        assert_history_ends_where_the_ticket_stands(world, ticket)
        assert all(change.fields for change in changes_of(world.state, ticket.id))


def test_the_readme_tickets_got_there_by_changes_too() -> None:
    world = frozen_world(2, "tiny,spaces=1,tickets_per_space=320")
    data = next(iter(world.state.spaces.values()))
    anchor = data.tickets[301]
    assert (anchor.status, world.user(anchor.assigned_to_id or "").name) == ("Test", "John Smith")
    for ticket in data.tickets.values():
        assert_history_ends_where_the_ticket_stands(world, ticket)


def test_histories_are_realistic(world: World) -> None:
    truth = world.truth()
    changes = [change for history in truth.history.values() for change in history]
    fields = Counter(name for change in changes for name in change.names())
    custom = {f.title for f in truth.custom_fields}
    assert {"status", "assigned_to_id", "milestone_id", "priority", "estimate"} <= set(fields)
    assert {"summary", "description"} <= set(fields)
    assert set(fields) & custom  # custom fields under their titles
    assert sum(len(change.names()) > 1 for change in changes) > 50  # bulk edits
    bare = Counter(change.text for change in changes if not change.text)
    assert min(bare[None], bare[""]) > len(changes) / 5  # a null or an empty comment
    assert sum(bool(change.text) for change in changes) > 30  # text and changes in one comment
    flows = truth.ticket_flow()
    assert sum(flow.reopen_count > 0 for flow in flows) > 20
    assert any(flow.reopen_count > 1 for flow in flows)
    stays = defaultdict(list)
    for stay in truth.status_intervals():
        stays[stay.ticket_id].append(stay.status)
    assert any(s[:2] == ["New", "Invalid"] for s in stays.values())  # straight to closed
    assert any(s[:4] == ["New", "Accepted", "Test", "Fixed"] for s in stays.values())
    assert any(s == ["New"] for s in stays.values())  # untouched
    closed = {s.name for s in truth.ticket_statuses if s.state == 0}
    pairs = [(a, b) for s in stays.values() for a, b in itertools.pairwise(s)]
    assert any(a in closed and b in closed for a, b in pairs)  # from closed to closed
    lives = [(f.closed_at - f.created_on).total_seconds() for f in flows if f.closed_at]
    day = timedelta(days=1).total_seconds()
    assert day < median(lives) < 60 * day  # over days, not seconds


def test_truth_ticket_changes_are_the_rows_of_the_histories(world: World) -> None:
    truth = world.truth()
    rows = truth.ticket_changes()
    assert len(rows) == sum(len(c.names()) for h in truth.history.values() for c in h)
    comments = {c.id: c for c in truth.comments}
    for row in rows[:300]:
        comment = comments[row.comment_id]
        assert (comment.ticket_id, comment.created_on, comment.user_id) == (
            row.ticket_id,
            row.changed_at,
            row.user_id,
        )
    keys = [(r.ticket_id, r.changed_at) for r in rows]
    assert keys == sorted(keys)


def served_comments(client: httpx.Client, space: str, number: int) -> list[dict[str, Any]]:
    return all_pages(client, f"/v1/spaces/{space}/tickets/{number}/ticket_comments")


def test_change_comments_are_served_as_ruby_wrote_them() -> None:
    world = frozen_world(5, "small")
    truth = world.truth()
    expected = {
        change.comment_id: change for history in truth.history.values() for change in history
    }
    texts = []
    with Simulator(world) as sim, connect(sim) as client:
        for ticket in truth.tickets[:150]:
            served = served_comments(client, ticket.space_id, ticket.number)
            keys = [(instant(c["created_on"]), c["id"]) for c in served]
            assert keys == sorted(keys, reverse=True)  # newest first
            for comment in served:
                texts.append(comment["ticket_changes"])
                parsed = parse_ticket_changes(comment["ticket_changes"])
                assert parsed.problem is None
                change = expected.get(comment["id"])
                if change is None:  # a text comment
                    assert comment["ticket_changes"] == "--- []\n"
                    assert comment["comment"]
                    continue
                assert [(c.field, c.old, c.new) for c in parsed.changes] == list(change.triples())
                assert comment["comment"] == change.text
                assert comment["user_id"] == change.user_id
                assert instant(comment["created_on"]) == change.when
    headers = Counter(text.split("\n", 1)[0] for text in texts)
    assert min(headers["--- "], headers["---"], headers["--- []"]) > 50
    assert any("\n  - \n" in text for text in texts)
    assert any("\n  -\n" in text for text in texts)
    assert any("- |-\n" in text for text in texts)
    assert any("  - '" in text for text in texts)
    assert any('  - "' in text for text in texts)


def test_change_events_of_the_last_60_days_name_what_changed(world: World) -> None:
    truth = world.truth()
    since = NOW - timedelta(days=60)
    by_ticket = {t.id: t for t in truth.tickets}
    updated = Counter(
        (int(e.object_id), e.date, e.whatchanged)
        for e in truth.events
        if (e.object, e.operation) == ("Ticket", "updated")
    )
    commented = {int(e.object_id): e for e in truth.events if e.object == "Ticket Comment"}
    bare = 0
    for ticket_id, history in truth.history.items():
        for change in history:
            if change.when < since or ticket_id not in by_ticket:
                continue
            what = ", ".join(change.names())
            if change.text:
                assert commented[change.comment_id].whatchanged == what
            else:
                assert updated[(ticket_id, change.when, what)] == 1
                bare += 1
    assert sum(updated.values()) == bare > 50  # no update event without its change


def test_stays_are_contiguous_from_creation_to_now(world: World) -> None:
    truth = world.truth()
    by_ticket: dict[int, list[Any]] = defaultdict(list)
    for stay in truth.status_intervals():
        by_ticket[stay.ticket_id].append(stay)
    assert set(by_ticket) == {t.id for t in truth.tickets}
    for ticket in truth.tickets:
        stays = by_ticket[ticket.id]
        assert [s.stay for s in stays] == list(range(1, len(stays) + 1))
        assert stays[0].started_at == ticket.created_on
        assert (
            stays[0].status
            == min(
                (s for s in truth.ticket_statuses if s.space_id == ticket.space_id),
                key=lambda s: s.list_order,
            ).name
        )
        for before, after in itertools.pairwise(stays):
            assert before.ended_at == after.started_at > before.started_at
            assert before.status != after.status
        assert (stays[-1].status, stays[-1].ended_at) == (ticket.status, None)


def test_flow_agrees_with_the_tickets(world: World) -> None:
    truth = world.truth()
    tickets = {t.id: t for t in truth.tickets}
    for flow in truth.ticket_flow():
        ticket = tickets[flow.ticket_id]
        assert flow.created_on == ticket.created_on
        assert flow.closed_at == ticket.completed_date  # the last move into a closed status
        if flow.started_at is not None:
            assert flow.created_on < flow.started_at <= (flow.closed_at or NOW)
        if flow.closed_at is not None:
            assert flow.lead_time_hours == round(
                (flow.closed_at - flow.created_on).total_seconds() / 3600, 2
            )
            assert (flow.cycle_time_hours or 0) >= 0


def test_cumulative_flow_counts_every_ticket_once_a_day(world: World) -> None:
    truth = world.truth()
    today = NOW.date()
    flow = truth.cumulative_flow(today)
    per_day: Counter[tuple[str, Any]] = Counter()
    statuses: dict[str, set[str]] = defaultdict(set)
    for (space, day, status), count in flow.items():
        assert count >= 0
        per_day[(space, day)] += count
        statuses[space].add(status)
    for space, names in statuses.items():
        tickets = [t for t in truth.tickets if t.space_id == space]
        first = min(t.created_on.date() for t in tickets)
        days = (today - first).days + 1
        assert len([k for k in flow if k[0] == space]) == days * len(names)  # zeros included
        for offset in range(0, days, 17):
            day = first + timedelta(days=offset)
            assert per_day[(space, day)] == sum(t.created_on.date() <= day for t in tickets)
        now = Counter(t.status for t in tickets)
        assert {n: flow[(space, today, n)] for n in names} == {n: now[n] for n in names}


def test_changes_of_a_ticket_are_records() -> None:
    change = Change(0, 7, "u", None, ("status", "New", "Fixed", "priority", "3", "1"))
    assert list(change.triples()) == [("status", "New", "Fixed"), ("priority", "3", "1")]
    assert change.names() == ["status", "priority"]
    assert change.when == datetime(1970, 1, 1, tzinfo=UTC)
