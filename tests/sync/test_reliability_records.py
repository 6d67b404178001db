"""Poison records and future timestamps: skipped or bounded, never blocking later runs.

One bad record used to stop every later sync (a traceback, ``sync_runs.error``
empty), and one future timestamp to blind incremental syncs for good. Each case
here serves the bad data from the simulator over loopback HTTP, then checks
that the run succeeds with a warning naming the record and field, that what was
mirrored is untouched, and that later changes, and ``--full``, still arrive.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assembla_mirror.simulator import Clock, RawJson, Scale, Simulator, World
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.sync import SyncReport
from tests.expected import assert_same_mirror, expected_rows, mirrored_rows
from tests.support import run_sync

BIG = 2**64 + 5
DEEP = RawJson("[" * 200_000 + "]" * 200_000)
FAR = "9999-12-31T23:59:59Z"


def row(db: Path, sql: str, *params: Any) -> tuple[Any, ...] | None:
    with sqlite3.connect(db) as conn:
        found = conn.execute(sql, params).fetchone()
    return None if found is None else tuple(found)


def warned(report: SyncReport, *parts: str) -> bool:
    return any(all(part in warning for part in parts) for warning in report.warnings)


def tickets_of(sim: Simulator, space: str) -> list[Ticket]:
    return sorted(sim.world.state.spaces[space].tickets.values(), key=lambda t: t.number)


def busiest_space(sim: Simulator) -> str:
    return max(sim.world.spaces_of(), key=lambda s: len(sim.world.state.spaces[s.id].tickets)).id


def bump(sim: Simulator, ticket: Ticket) -> None:
    sim.world.update_ticket(ticket.space_id, ticket.number, priority=ticket.priority % 5 + 1)


def later_changes_arrive(sim: Simulator, db: Path, tmp_path: Path) -> None:
    """A change made now reaches the mirror, and so does a --full run; then the mirror
    equals the truth in every table the poisoned record does not touch."""
    space = busiest_space(sim)
    for ticket in tickets_of(sim, space)[-3:]:
        bump(sim, ticket)
    report = run_sync(sim, db)
    assert report.ok
    assert report.changes["tickets"]["updated"] >= 3
    assert run_sync(sim, db, full=True).ok
    for table in ("users", "ticket_statuses", "custom_fields", "time_logs"):
        assert mirrored_rows(db, table) == expected_rows(sim.world.truth(), table)
    assert row(db, "SELECT outcome, error FROM sync_runs ORDER BY id DESC") == ("success", None)


@pytest.fixture
def small_world() -> World:
    """A three-space account, small enough for many syncs (``sim`` serves it on loopback)."""
    return World.generate(seed=11, scale=Scale.parse("tiny,spaces=3"))


@pytest.fixture
def synced(sim: Simulator, db: Path) -> Path:
    assert run_sync(sim, db).ok
    return db


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("id", BIG, "64-bit"),
        ("number", BIG, "64-bit"),
        ("priority", BIG, "64-bit"),
        ("space_id", "no-such-space", "listed in space"),
        ("description", DEEP, "nested too deeply"),
        ("custom_fields", DEEP, "nested too deeply"),
    ],
)
def test_a_poison_ticket_is_skipped_and_later_changes_arrive(
    sim: Simulator, synced: Path, tmp_path: Path, field: str, value: Any, why: str
) -> None:
    ticket = tickets_of(sim, busiest_space(sim))[0]
    before = row(synced, "SELECT * FROM tickets WHERE id = ?", ticket.id)
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), **{field: value})
    bump(sim, ticket)
    report = run_sync(sim, synced)
    assert report.ok
    shown = BIG if field == "id" else ticket.id
    assert warned(report, f"skipped ticket {shown}", f"'{field}'", why), report.warnings
    assert row(synced, "SELECT * FROM tickets WHERE id = ?", ticket.id) == before
    later_changes_arrive(sim, synced, tmp_path)
    assert row(synced, "SELECT * FROM tickets WHERE id = ?", ticket.id) == before  # --full too


def test_a_ticket_claiming_a_number_of_another_space_is_skipped(
    sim: Simulator, synced: Path, tmp_path: Path
) -> None:
    spaces = [s.id for s in sim.world.spaces_of() if sim.world.state.spaces[s.id].tickets]
    ticket, other = tickets_of(sim, spaces[0])[0], tickets_of(sim, spaces[1])[0]
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), space_id=spaces[1])
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), number=other.number)
    bump(sim, ticket)
    report = run_sync(sim, synced)
    assert warned(report, f"skipped ticket {ticket.id}", "'space_id'", spaces[1])
    assert row(synced, "SELECT space_id, number FROM tickets WHERE id = ?", ticket.id) == (
        ticket.space_id,
        ticket.number,
    )
    later_changes_arrive(sim, synced, tmp_path)


@pytest.mark.parametrize(("field", "value"), [("id", BIG), ("space_id", "elsewhere")])
def test_a_poison_milestone_is_skipped(
    sim: Simulator, synced: Path, tmp_path: Path, field: str, value: Any
) -> None:
    milestone = next(m for d in sim.world.state.spaces.values() for m in d.milestones.values())
    before = row(synced, "SELECT * FROM milestones WHERE id = ?", milestone.id)
    assert before is not None
    sim.world.corrupt("milestone", milestone.id, **{field: value})
    sim.world.update_milestone(milestone.id, title="renamed")
    report = run_sync(sim, synced)
    assert report.ok
    assert warned(report, "skipped milestone", f"'{field}'"), report.warnings
    assert row(synced, "SELECT * FROM milestones WHERE id = ?", milestone.id) == before
    later_changes_arrive(sim, synced, tmp_path)
    assert row(synced, "SELECT * FROM milestones WHERE id = ?", milestone.id) == before


def test_a_task_with_an_id_beyond_64_bits_is_skipped(
    sim: Simulator, synced: Path, tmp_path: Path
) -> None:
    task = next(t for t in sim.world.truth().tasks if t.user_id == sim.credentials.user_id)
    sim.world.corrupt("task", task.id, id=BIG)
    sim.world.update_task(task.id, description="bumped")
    report = run_sync(sim, synced)
    assert report.ok
    assert warned(report, f"skipped task {BIG}", "'id'", "64-bit")
    later_changes_arrive(sim, synced, tmp_path)
    assert row(synced, "SELECT count(*) FROM tasks WHERE id = ?", task.id) == (1,)


# --- future timestamps --------------------------------------------------------------------


def change_tickets(sim: Simulator, space: str, count: int) -> set[int]:
    """Change ``count`` tickets of ``space`` (oldest numbers first); their ids."""
    changed = tickets_of(sim, space)[:count]
    for ticket in changed:
        sim.world.update_ticket(space, ticket.number, summary=f"changed {ticket.number}")
    return {ticket.id for ticket in changed}


def changes_mirrored(db: Path, ids: set[int]) -> int:
    with sqlite3.connect(db) as conn:
        marks = ",".join("?" * len(ids))
        return int(
            conn.execute(
                f"SELECT count(*) FROM tickets WHERE id IN ({marks}) AND summary LIKE 'changed %'",
                tuple(ids),
            ).fetchone()[0]
        )


@pytest.fixture
def big_world() -> World:
    return World.generate(seed=17, scale=Scale.parse("small,tickets_per_space=300"))


def test_an_event_dated_tomorrow_does_not_blind_the_stream(
    big_world: World, tmp_path: Path
) -> None:
    db = tmp_path / "m.db"
    with Simulator(big_world) as sim:
        assert run_sync(sim, db).ok
        space = busiest_space(sim)
        tomorrow = sim.world.clock.now() + timedelta(days=1)
        sim.world.inject_event(space, date=tomorrow, number=tickets_of(sim, space)[0].number)
        report = run_sync(sim, db)
        assert warned(report, "activity event", "after the server's present")
        changed: set[int] = set()
        for _ in range(3):
            changed |= change_tickets(sim, space, 50 * (_ + 1))
            sim.world.clock.advance(60)
            assert run_sync(sim, db).ok
            assert changes_mirrored(db, changed) == len(changed)
        assert len(changed) == 150
        assert run_sync(sim, db, full=True).ok
        fresh = tmp_path / "fresh.db"
        assert run_sync(sim, fresh).ok
        assert_same_mirror(db, fresh)


@pytest.mark.parametrize("kind", ["ticket", "task"])
def test_a_record_dated_9999_does_not_stick_the_cursor(
    big_world: World, tmp_path: Path, kind: str
) -> None:
    db = tmp_path / "m.db"
    with Simulator(big_world) as sim:
        assert run_sync(sim, db).ok
        space = busiest_space(sim)
        if kind == "ticket":
            ticket = tickets_of(sim, space)[-1]
            sim.world.corrupt("ticket", (space, ticket.number), updated_at=FAR)
            bump(sim, ticket)
        else:
            task = next(t for t in sim.world.truth().tasks if t.user_id == sim.credentials.user_id)
            sim.world.corrupt("task", task.id, updated_at=FAR)
            sim.world.update_task(task.id, description="from the future")
        report = run_sync(sim, db)
        assert warned(report, kind, "9999-12-31 23:59:59", "after the server's present")
        with sqlite3.connect(db) as conn:
            cursors = [r[0] for r in conn.execute("SELECT cursor FROM sync_state")]
        assert not any(cursor and cursor.startswith("9999") for cursor in cursors)
        sim.world.clock.advance(60)
        if kind == "ticket":
            changed = change_tickets(sim, space, 150)
            assert run_sync(sim, db).ok
            assert changes_mirrored(db, changed) == 150  # all of them, not the first page
        else:
            tasks = [t for t in sim.world.truth().tasks if t.id != task.id][:150]
            for other in tasks:
                sim.world.update_task(other.id, description=f"changed {other.id}")
            assert run_sync(sim, db).ok
            with sqlite3.connect(db) as conn:
                arrived = conn.execute(
                    "SELECT count(*) FROM tasks WHERE description LIKE 'changed %'"
                ).fetchone()[0]
            assert arrived == len(tasks) > 100


def test_a_local_clock_ninety_days_fast_misses_nothing(tmp_path: Path) -> None:
    """The server's clock (its Date header) runs 90 days behind this machine's."""
    behind = Clock(offset=-90 * 86_400)
    world = World.generate(seed=23, scale=Scale.preset("small"), clock=behind)
    db = tmp_path / "m.db"
    with Simulator(world) as sim:
        assert run_sync(sim, db).ok
        space = busiest_space(sim)
        changed = change_tickets(sim, space, 60)
        assert run_sync(sim, db).ok
        assert changes_mirrored(db, changed) == 60
        with sqlite3.connect(db) as conn:
            synced_at = conn.execute("SELECT max(synced_at) FROM sync_state").fetchone()[0]
        local_now = datetime.now(UTC)
        assert synced_at < (local_now - timedelta(days=80)).strftime("%Y-%m-%d")
