"""Ticket history as a sync records it: from comments, seen by the mirror, inferred, kept
after a deletion.

The account is the small simulator, changed through its mutation API (each change
adds a change comment, as Assembla does); every scenario whose outcome the
database decides runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from assembla_mirror.model.columns import format_utc
from assembla_mirror.simulator import Simulator
from assembla_mirror.simulator import history as simulated_history
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.store.database import create_engine_for
from tests.expected import Db, select_all, select_bound
from tests.support import run_sync_in_process as run_sync


@pytest.fixture
def sim(in_process_sim: Simulator) -> Simulator:
    """The small account, answering in-process."""
    return in_process_sim


def changes_of(db: Db, ticket_id: int) -> list[tuple[Any, ...]]:
    """A ticket's recorded changes in order: (changed_at, user_id, field, old, new, source)."""
    return select_bound(
        db,
        "SELECT changed_at, user_id, field, old_value, new_value, source FROM ticket_changes "
        "WHERE ticket_id = :ticket ORDER BY changed_at, id",
        ticket=ticket_id,
    )


def an_open_ticket(sim: Simulator) -> Ticket:
    """An open ticket of a space with a milestone and a custom field to change."""
    truth = sim.world.truth()
    with_fields = {field.space_id for field in truth.custom_fields}
    return next(
        ticket
        for ticket in truth.tickets
        if ticket.state == 1 and ticket.space_id in with_fields and ticket.assigned_to_id
    )


def other_status(sim: Simulator, ticket: Ticket, state: int) -> str:
    """A status of the ticket's space in ``state`` other than its own."""
    return next(
        status.name
        for status in sim.world.truth().ticket_statuses
        if status.space_id == ticket.space_id
        and status.state == state
        and status.name != ticket.status
    )


def utc(moment: datetime) -> str:
    return format_utc(moment)


def test_a_sync_records_what_changed_since_the_last_one(sim: Simulator, mirror_db: str) -> None:
    assert run_sync(sim, mirror_db).ok  # no comments: history comes from what syncs see
    ticket = an_open_ticket(sim)
    truth = sim.world.truth()
    field = next(f for f in truth.custom_fields if f.space_id == ticket.space_id)
    old_value = ticket.custom_fields.get(field.title) or None
    status = other_status(sim, ticket, 1)
    sim.world.clock.advance(3600)
    changed = sim.world.update_ticket(
        ticket.space_id,
        ticket.number,
        status=status,
        assigned_to_id=None,
        estimate=13.0,
        custom_fields={field.title: "No"},
    )
    report = run_sync(sim, mirror_db)

    when = utc(changed.updated_at)
    recorded = {row[2]: row for row in changes_of(mirror_db, ticket.id)}
    assert recorded["status"] == (when, None, "status", ticket.status, status, "mirror")
    assert recorded["assigned_to_id"] == (
        when,
        None,
        "assigned_to_id",
        ticket.assigned_to_id,
        None,
        "mirror",
    )
    assert recorded["estimate"][3:] == (str(float(ticket.estimate)), "13.0", "mirror")
    assert recorded[field.title][3:] == (old_value, "No", "mirror")  # YAML keywords stay text
    assert report.changes["ticket_changes"]["inserted"] == len(recorded)

    again = run_sync(sim, mirror_db)  # nothing changed: nothing recorded
    assert "ticket_changes" not in again.changes


def test_a_new_ticket_has_no_changes(sim: Simulator, mirror_db: str) -> None:
    assert run_sync(sim, mirror_db).ok
    ticket = an_open_ticket(sim)
    added = sim.world.add_ticket(ticket.space_id, summary="Brand new")
    assert run_sync(sim, mirror_db).ok
    assert changes_of(mirror_db, added.id) == []


def test_a_deleted_ticket_keeps_its_history_and_is_marked_deleted(
    sim: Simulator, mirror_db: str
) -> None:
    assert run_sync(sim, mirror_db).ok
    ticket = an_open_ticket(sim)
    status = other_status(sim, ticket, 0)
    sim.world.clock.advance(60)
    sim.world.update_ticket(ticket.space_id, ticket.number, status=status)
    assert run_sync(sim, mirror_db).ok
    recorded = changes_of(mirror_db, ticket.id)
    assert [row[2:] for row in recorded] == [("status", ticket.status, status, "mirror")]

    sim.world.clock.advance(60)
    sim.world.delete_ticket(ticket.space_id, ticket.number)
    report = run_sync(sim, mirror_db)

    assert report.changes["tickets"]["deleted"] == 1
    assert report.changes["deleted_tickets"]["inserted"] == 1
    assert changes_of(mirror_db, ticket.id) == recorded
    kept = select_bound(
        mirror_db,
        "SELECT space_id, number, status, state, created_on FROM deleted_tickets WHERE id = :id",
        id=ticket.id,
    )
    assert kept == [(ticket.space_id, ticket.number, status, 0, utc(ticket.created_on))]
    assert select_bound(mirror_db, "SELECT id FROM tickets WHERE id = :id", id=ticket.id) == []


def test_a_space_leaving_the_mirror_takes_its_history(sim: Simulator, db: Any) -> None:
    assert run_sync(sim, db).ok
    ticket = an_open_ticket(sim)
    sim.world.clock.advance(60)
    sim.world.update_ticket(ticket.space_id, ticket.number, summary="Renamed")
    assert run_sync(sim, db).ok
    assert changes_of(db, ticket.id)
    sim.world.remove_member(ticket.space_id, sim.world.state.primary_user_id)
    assert run_sync(sim, db).ok
    left = "SELECT count(*) FROM ticket_changes WHERE space_id = :space"
    assert select_bound(db, left, space=ticket.space_id) == [(0,)]


# --- with comments --------------------------------------------------------------------


def three_statuses(sim: Simulator, ticket: Ticket) -> list[str]:
    """Three statuses for the ticket to go through: open, another open, closed."""
    opened = other_status(sim, ticket, 1)
    again = next(
        s.name
        for s in sim.world.truth().ticket_statuses
        if s.space_id == ticket.space_id and s.state == 1 and s.name not in (opened,)
    )
    return [opened, again, other_status(sim, ticket, 0)]


def change_three_times(sim: Simulator, ticket: Ticket) -> list[tuple[str, str, str, str]]:
    """Move ``ticket`` through three statuses, ten minutes apart, by two people; return
    each change as (when, who, old, new)."""
    people = [
        role.user_id for role in sim.world.truth().user_roles if role.space_id == ticket.space_id
    ]
    made, old = [], ticket.status
    for step, status in enumerate(three_statuses(sim, ticket)):
        sim.world.clock.advance(600)
        who = people[step % len(people)]
        changed = sim.world.update_ticket(
            ticket.space_id, ticket.number, status=status, user_id=who
        )
        made.append((utc(changed.updated_at), who, old, status))
        old = status
    return made


def stays_of(db: Db, ticket_id: int) -> list[tuple[Any, ...]]:
    """A ticket's stays: (status, started_at, ended_at), in order."""
    return select_bound(
        db,
        "SELECT status, started_at, ended_at FROM ticket_status_intervals "
        "WHERE ticket_id = :ticket ORDER BY stay",
        ticket=ticket_id,
    )


def test_three_changes_between_two_syncs_are_three_exact_stays_with_comments(
    sim: Simulator, mirror_db: str
) -> None:
    assert run_sync(sim, mirror_db, with_comments=True).ok
    ticket = an_open_ticket(sim)
    made = change_three_times(sim, ticket)
    assert run_sync(sim, mirror_db).ok

    recorded = [row for row in changes_of(mirror_db, ticket.id) if row[2] == "status"][-3:]
    assert recorded == [(at, who, "status", old, new, "comment") for at, who, old, new in made]
    sources = select_bound(
        mirror_db, "SELECT DISTINCT source FROM ticket_changes WHERE ticket_id = :t", t=ticket.id
    )
    assert sources == [("comment",)]  # what the sync saw is in the comments: no double rows
    stays = stays_of(mirror_db, ticket.id)
    assert stays[-4:] == [
        (made[0][2], stays[-4][1], made[0][0]),
        (made[0][3], made[0][0], made[1][0]),
        (made[1][3], made[1][0], made[2][0]),
        (made[2][3], made[2][0], None),
    ]


def test_three_changes_between_two_syncs_are_one_net_change_without_comments(
    sim: Simulator, mirror_db: str
) -> None:
    assert run_sync(sim, mirror_db).ok
    ticket = an_open_ticket(sim)
    made = change_three_times(sim, ticket)
    assert run_sync(sim, mirror_db).ok

    recorded = changes_of(mirror_db, ticket.id)
    assert recorded == [(made[2][0], None, "status", ticket.status, made[2][3], "mirror")]
    assert stays_of(mirror_db, ticket.id) == [
        (ticket.status, utc(ticket.created_on), made[2][0]),
        (made[2][3], made[2][0], None),
    ]


def test_comments_mirrored_later_replace_what_syncs_saw(sim: Simulator, mirror_db: str) -> None:
    assert run_sync(sim, mirror_db).ok
    ticket = an_open_ticket(sim)
    made = change_three_times(sim, ticket)
    assert run_sync(sim, mirror_db).ok
    assert [row[5] for row in changes_of(mirror_db, ticket.id)] == ["mirror"]

    assert run_sync(sim, mirror_db, with_comments=True).ok

    truth = [
        (utc(c.changed_at), c.user_id, c.field, c.old, c.new, "comment")
        for c in sim.world.truth().ticket_changes()
        if c.ticket_id == ticket.id
    ]
    assert changes_of(mirror_db, ticket.id) == truth
    assert truth[-1][4] == made[2][3]


def test_a_status_change_no_comment_records_is_inferred(sim: Simulator, db: Any) -> None:
    assert run_sync(sim, db, with_comments=True).ok
    ticket = an_open_ticket(sim)
    status = other_status(sim, ticket, 0)
    sim.world.clock.advance(600)
    # An edit that left no comment: only the ticket changes (as after a data import).
    changed = sim.world.update_ticket(ticket.space_id, ticket.number, status=status)
    recorded = sim.world.state.history
    recorded[ticket.id] = simulated_history.pack(simulated_history.unpack(recorded[ticket.id])[:-1])
    sim.world.clock.advance(600)
    note = sim.world.add_comment(ticket.space_id, ticket.number, "A plain comment")
    assert run_sync(sim, db).ok

    last = changes_of(db, ticket.id)[-1]
    assert last == (utc(note.created_on), None, "status", ticket.status, status, "inferred")
    assert stays_of(db, ticket.id)[-1] == (status, utc(note.created_on), None)
    assert changed.status == status


def test_change_comments_that_cannot_be_read_are_counted_and_kept(sim: Simulator, db: Any) -> None:
    ticket = an_open_ticket(sim)
    sim.world.clock.advance(600)
    garbled = sim.world.add_comment(ticket.space_id, ticket.number, "")
    garbled.ticket_changes = "--- \n- - summary\n  - [unclosed\n"

    report = run_sync(sim, db, with_comments=True)

    assert report.ok
    warned = [w for w in report.warnings if w.startswith("history: 1 change comment")]
    assert len(warned) == 1
    assert f"comment {garbled.id}" in warned[0]
    kept = "SELECT ticket_changes FROM ticket_comments WHERE id = :id"
    assert select_bound(db, kept, id=garbled.id) == [(garbled.ticket_changes,)]
    assert select_bound(
        db, "SELECT count(*) FROM ticket_changes WHERE comment_id = :id", id=garbled.id
    ) == [(0,)]


def test_a_mirror_whose_comments_predate_its_history_reads_them_once(
    sim: Simulator, db: Any
) -> None:
    assert run_sync(sim, db, with_comments=True).ok
    before = select_all(db, "SELECT count(*) FROM ticket_changes")
    engine = create_engine_for(db)
    with engine.begin() as conn:  # as an upgrade from 0007 leaves it
        conn.exec_driver_sql("DELETE FROM ticket_changes")
        conn.exec_driver_sql("DELETE FROM mirror_meta WHERE key = 'history_from_comments'")
    engine.dispose()
    report = run_sync(sim, db)
    assert select_all(db, "SELECT count(*) FROM ticket_changes") == before
    assert any("history: read the changes of" in note for note in report.notes)
    again = run_sync(sim, db)
    assert not any("history: read" in note for note in again.notes)


# --- against the simulator's truth ------------------------------------------------------


def as_utc_text(value: datetime | None) -> str | None:
    return None if value is None else utc(value)


def test_history_and_flow_equal_the_simulators_truth(sim: Simulator, mirror_db: str) -> None:
    assert run_sync(sim, mirror_db, with_comments=True).ok
    truth = sim.world.truth()
    today = datetime.now(UTC).date()

    expected_changes = sorted(
        (c.ticket_id, utc(c.changed_at), c.user_id, c.field, c.old, c.new, c.comment_id)
        for c in truth.ticket_changes()
    )
    mirrored_changes = select_all(
        mirror_db,
        "SELECT ticket_id, changed_at, user_id, field, old_value, new_value, comment_id "
        "FROM ticket_changes WHERE source = 'comment' ORDER BY 1, 2, 7, 4",
    )
    assert len(expected_changes) > len(truth.tickets)  # histories worth comparing
    assert sorted(mirrored_changes) == expected_changes
    assert select_all(
        mirror_db, "SELECT count(*) FROM ticket_changes WHERE source <> 'comment'"
    ) == [(0,)]

    stays = [
        (s.ticket_id, s.stay, s.status, utc(s.started_at), as_utc_text(s.ended_at))
        for s in truth.status_intervals()
    ]
    assert (
        select_all(
            mirror_db,
            "SELECT ticket_id, stay, status, started_at, ended_at FROM ticket_status_intervals "
            "ORDER BY ticket_id, stay",
        )
        == stays
    )

    flows = [
        (
            f.ticket_id,
            utc(f.created_on),
            as_utc_text(f.started_at),
            as_utc_text(f.closed_at),
            f.lead_time_hours,
            f.cycle_time_hours,
            f.reopen_count,
        )
        for f in truth.ticket_flow()
    ]
    assert any(f[-1] for f in flows)  # reopenings happen
    mirrored_flows = select_all(
        mirror_db,
        "SELECT ticket_id, created_on, started_at, closed_at, lead_time_hours, "
        "cycle_time_hours, reopen_count FROM ticket_flow ORDER BY ticket_id",
    )
    # Hours are rounded to the hundredth: a half may round either way.
    assert mirrored_flows == [
        (
            *flow[:4],
            *(None if h is None else pytest.approx(h, abs=0.0101) for h in flow[4:6]),
            flow[6],
        )
        for flow in flows
    ]

    cumulative = {
        (space, day.isoformat(), status): tickets
        for (space, day, status), tickets in truth.cumulative_flow(today).items()
    }
    mirrored_flow = {
        (space, day, status): tickets
        for space, day, status, tickets in select_all(
            mirror_db, "SELECT space_id, day, status, tickets FROM cumulative_flow"
        )
    }
    assert mirrored_flow == cumulative

    burndown = {
        (milestone, day.isoformat()): (tickets, estimate)
        for (milestone, day), (tickets, estimate) in truth.milestone_burndown(today).items()
    }
    mirrored_burndown = {
        (milestone, day): (tickets, estimate)
        for milestone, day, tickets, estimate in select_all(
            mirror_db,
            "SELECT milestone_id, day, open_tickets, open_estimate FROM milestone_burndown",
        )
    }
    assert mirrored_burndown == burndown
