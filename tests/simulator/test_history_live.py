"""Live changes through the world's API: each update is one change comment (as Ruby
writes it), creation records none, and the truth's stays, flow and burndown follow them
to the second.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from assembla_mirror.model.changes import parse_ticket_changes
from assembla_mirror.simulator import Simulator, World
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.simulator.history import changes_of
from assembla_mirror.simulator.truth import Truth

from .helpers import instant
from .history_checks import assert_history_ends_where_the_ticket_stands


@pytest.fixture
def live(tiny_sim: Simulator) -> World:
    """The served tiny world, its clock frozen so each change's instant is exact."""
    tiny_sim.world.clock.freeze()
    return tiny_sim.world


def ticket_space(world: World) -> str:
    return next(s.id for s in world.spaces_of() if world.state.spaces[s.id].ticket_tool)


def newest_comment(client: httpx.Client, space: str, number: int) -> dict[str, Any]:
    response = client.get(f"/v1/spaces/{space}/tickets/{number}/ticket_comments")
    assert response.status_code == 200
    return dict(response.json()[0])


def test_update_ticket_writes_one_change_comment(live: World, tiny: httpx.Client) -> None:
    space = ticket_space(live)
    data = live.state.spaces[space]
    ticket = next(t for t in data.tickets.values() if t.state == 1 and t.status != "Accepted")
    title = next(iter(data.titles.values()))
    live.rename_custom_field(space, title, "Impact: users")
    other = next(uid for uid in data.roles if uid != ticket.assigned_to_id)
    before = dict(ticket.custom_fields)
    old_status, old_assignee = ticket.status, ticket.assigned_to_id
    value = "No" if before["Impact: users"] != "No" else "Yes"
    live.clock.advance(90)
    live.update_ticket(
        space,
        ticket.number,
        status="Accepted",
        assigned_to_id=other,
        custom_fields={"Impact: users": value},
        user_id=other,
        comment="Taking it: it's mine",
    )
    now = live.clock.now()
    served = newest_comment(tiny, space, ticket.number)
    assert instant(served["created_on"]) == now
    assert (served["user_id"], served["comment"]) == (other, "Taking it: it's mine")
    changes = parse_ticket_changes(served["ticket_changes"]).changes
    assert [(c.field, c.old, c.new) for c in changes] == [
        ("status", old_status, "Accepted"),
        ("assigned_to_id", old_assignee, other),
        ("Impact: users", before["Impact: users"], value),
    ]
    assert "- - 'Impact: users'\n" in served["ticket_changes"]
    assert f"  - '{value}'\n" in served["ticket_changes"]
    assert (
        instant(tiny.get(f"/v1/spaces/{space}/tickets/{ticket.number}").json()["updated_at"]) == now
    )
    event = tiny.get("/v1/activity", params={"per_page": 1}).json()[0]
    assert (event["object"], event["object_id"]) == ("Ticket Comment", str(served["id"]))
    assert event["whatchanged"] == "status, assigned_to_id, Impact: users"

    live.clock.advance(60)
    live.update_ticket(space, ticket.number, priority=ticket.priority)  # nothing changes
    unchanged = newest_comment(tiny, space, ticket.number)
    assert (unchanged["ticket_changes"], unchanged["comment"]) == ("--- []\n", None)
    assert_history_ends_where_the_ticket_stands(live, ticket)


def test_a_new_ticket_has_no_change_comment(live: World, tiny: httpx.Client) -> None:
    space = ticket_space(live)
    number = live.add_ticket(space, summary="Brand new").number
    response = tiny.get(f"/v1/spaces/{space}/tickets/{number}/ticket_comments")
    assert response.status_code == 204
    assert [s.status for s in stays_of(live.truth(), live.ticket(space, number))] == ["New"]


def stays_of(truth: Truth, ticket: Ticket) -> list[Any]:
    return [stay for stay in truth.status_intervals() if stay.ticket_id == ticket.id]


def test_three_changes_between_two_syncs_are_three_exact_stays(live: World) -> None:
    space = ticket_space(live)
    ticket = live.add_ticket(space, summary="Three moves", estimate=3.0)
    created = live.clock.now()
    moments = []
    for status in ("Accepted", "Fixed", "Test"):
        live.clock.advance(3600 * 7)
        live.update_ticket(space, ticket.number, status=status)
        moments.append(live.clock.now())
    truth = live.truth()
    assert [(s.stay, s.status, s.started_at, s.ended_at) for s in stays_of(truth, ticket)] == [
        (1, "New", created, moments[0]),
        (2, "Accepted", moments[0], moments[1]),
        (3, "Fixed", moments[1], moments[2]),
        (4, "Test", moments[2], None),
    ]
    flow = next(f for f in truth.ticket_flow() if f.ticket_id == ticket.id)
    assert (flow.created_on, flow.started_at, flow.closed_at, flow.reopen_count) == (
        created,
        moments[0],
        None,
        1,
    )
    assert (flow.lead_time_hours, flow.cycle_time_hours) == (None, None)
    live.clock.advance(3600)
    live.update_ticket(space, ticket.number, status="Fixed")
    closing = live.clock.now()
    live.clock.advance(3600)
    live.update_ticket(space, ticket.number, status="Invalid")  # closed to closed
    flow = next(f for f in live.truth().ticket_flow() if f.ticket_id == ticket.id)
    assert (flow.closed_at, flow.reopen_count) == (closing, 1)
    assert live.ticket(space, ticket.number).completed_date == closing
    assert (flow.lead_time_hours, flow.cycle_time_hours) == (22.0, 15.0)
    rows = [r for r in live.truth().ticket_changes() if r.ticket_id == ticket.id]
    assert [(r.field, r.old, r.new) for r in rows] == [
        ("status", "New", "Accepted"),
        ("status", "Accepted", "Fixed"),
        ("status", "Fixed", "Test"),
        ("status", "Test", "Fixed"),
        ("status", "Fixed", "Invalid"),
    ]
    assert all(r.user_id == live.primary_user.id for r in rows)


def test_deleting_a_ticket_drops_its_history(live: World) -> None:
    space = ticket_space(live)
    ticket = next(
        t for t in live.state.spaces[space].tickets.values() if changes_of(live.state, t.id)
    )
    live.delete_ticket(space, ticket.number)
    assert ticket.id not in live.truth().history
    assert all(row.ticket_id != ticket.id for row in live.truth().ticket_changes())


def test_burndown_of_a_milestone_follows_its_tickets(live: World) -> None:
    space = ticket_space(live)
    milestone = live.add_milestone(space, title="Burn")
    start = live.clock.now().date()
    day = timedelta(days=1)
    one = live.add_ticket(space, milestone_id=milestone.id, estimate=2.0)
    two = live.add_ticket(space, estimate=5.0)
    live.clock.advance(day.total_seconds())
    live.update_ticket(space, two.number, milestone_id=milestone.id)
    live.clock.advance(day.total_seconds())
    live.update_ticket(space, one.number, status="Fixed")
    live.update_ticket(space, two.number, estimate=3.0)
    live.clock.advance(day.total_seconds())
    live.update_ticket(space, two.number, milestone_id=None)
    today = live.clock.now().date()
    burndown = live.truth().milestone_burndown(today)
    assert [burndown[(milestone.id, start + day * n)] for n in range(4)] == [
        (1, 2.0),
        (2, 7.0),
        (1, 3.0),
        (0, 0.0),
    ]
