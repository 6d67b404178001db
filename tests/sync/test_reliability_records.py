"""Poison records and future timestamps: skipped or bounded, never blocking later runs.

One bad record used to stop every later sync (a traceback, ``sync_runs.error``
empty), and one future timestamp to blind incremental syncs for good. Each case
here serves the bad data from the simulator over loopback HTTP, then checks
that the run succeeds with a warning naming the record and field, that what was
mirrored is untouched, and that later changes, and ``--full``, still arrive.

Integers beyond 64 bits (which neither SQLite's INTEGER nor PostgreSQL's BIGINT
holds), JSON nested too deeply to parse, and a row the database itself refuses
are shown on both databases; checks made while a record is read (its space, its
number in another space) and the cursors' bounds are the sync's own, shown on
SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assembla_mirror.simulator import Clock, RawJson, Scale, Simulator, World
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.sync import SyncReport
from tests.expected import Db, assert_same_mirror, expected_rows, mirrored_rows, select_bound
from tests.support import run_sync

BIG = 2**64 + 5
#: The first integer a 64-bit signed column cannot hold (PostgreSQL's BIGINT included).
JUST_TOO_BIG = 2**63
DEEP = RawJson("[" * 200_000 + "]" * 200_000)
FAR = "9999-12-31T23:59:59Z"


def row(db: Db, sql: str, **binds: Any) -> tuple[Any, ...] | None:
    """The first row of ``sql`` (named binds: ``WHERE id = :id``) on ``db``, or None."""
    found = select_bound(db, sql, **binds)
    return found[0] if found else None


def warned(report: SyncReport, *parts: str) -> bool:
    """Whether one warning of ``report`` contains every one of ``parts``."""
    return any(all(part in warning for part in parts) for warning in report.warnings)


def tickets_of(sim: Simulator, space: str) -> list[Ticket]:
    """The tickets of ``space`` on the server, by number."""
    return sorted(sim.world.state.spaces[space].tickets.values(), key=lambda t: t.number)


def busiest_space(sim: Simulator) -> str:
    """The id of the space with the most tickets."""
    return max(sim.world.spaces_of(), key=lambda s: len(sim.world.state.spaces[s.id].tickets)).id


def bump(sim: Simulator, ticket: Ticket) -> None:
    """Change ``ticket`` on the server, so that the next sync fetches it."""
    sim.world.update_ticket(ticket.space_id, ticket.number, priority=ticket.priority % 5 + 1)


def later_changes_arrive(sim: Simulator, db: Db, tmp_path: Path) -> None:
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
def synced(sim: Simulator, mirror_db: str) -> Db:
    """The account mirrored, on each database the test is parametrized with."""
    assert run_sync(sim, mirror_db).ok
    return mirror_db


#: Which databases a case runs on: both where the database could see it differently.
BOTH, SQLITE_ONLY = ("sqlite", "postgresql"), ("sqlite",)


@pytest.mark.parametrize(
    ("field", "value", "why", "backend"),
    [
        pytest.param(field, value, why, backend, id=f"{backend}-{name}")
        for name, field, value, why, backends in [
            ("id", "id", BIG, "64-bit", BOTH),
            ("id-2^63", "id", JUST_TOO_BIG, "64-bit", BOTH),
            ("number", "number", BIG, "64-bit", SQLITE_ONLY),
            ("priority", "priority", JUST_TOO_BIG, "64-bit", BOTH),
            ("space_id", "space_id", "no-such-space", "listed in space", SQLITE_ONLY),
            ("description", "description", DEEP, "nested too deeply", BOTH),
            ("custom_fields", "custom_fields", DEEP, "nested too deeply", SQLITE_ONLY),
        ]
        for backend in backends
    ],
)
def test_a_poison_ticket_is_skipped_and_later_changes_arrive(
    sim: Simulator, synced: Db, tmp_path: Path, field: str, value: Any, why: str
) -> None:
    ticket = tickets_of(sim, busiest_space(sim))[0]
    before = row(synced, "SELECT * FROM tickets WHERE id = :id", id=ticket.id)
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), **{field: value})
    bump(sim, ticket)
    report = run_sync(sim, synced)
    assert report.ok
    shown = value if field == "id" else ticket.id
    assert warned(report, f"skipped ticket {shown}", f"'{field}'", why), report.warnings
    assert row(synced, "SELECT * FROM tickets WHERE id = :id", id=ticket.id) == before
    later_changes_arrive(sim, synced, tmp_path)
    assert row(synced, "SELECT * FROM tickets WHERE id = :id", id=ticket.id) == before  # --full too


@pytest.mark.parametrize("backend", SQLITE_ONLY)
def test_a_ticket_claiming_a_number_of_another_space_is_skipped(
    sim: Simulator, synced: Db, tmp_path: Path
) -> None:
    spaces = [s.id for s in sim.world.spaces_of() if sim.world.state.spaces[s.id].tickets]
    ticket, other = tickets_of(sim, spaces[0])[0], tickets_of(sim, spaces[1])[0]
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), space_id=spaces[1])
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), number=other.number)
    bump(sim, ticket)
    report = run_sync(sim, synced)
    assert warned(report, f"skipped ticket {ticket.id}", "'space_id'", spaces[1])
    assert row(synced, "SELECT space_id, number FROM tickets WHERE id = :id", id=ticket.id) == (
        ticket.space_id,
        ticket.number,
    )
    later_changes_arrive(sim, synced, tmp_path)


@pytest.mark.parametrize("backend", SQLITE_ONLY)
@pytest.mark.parametrize(("field", "value"), [("id", BIG), ("space_id", "elsewhere")])
def test_a_poison_milestone_is_skipped(
    sim: Simulator, synced: Db, tmp_path: Path, field: str, value: Any
) -> None:
    milestone = next(m for d in sim.world.state.spaces.values() for m in d.milestones.values())
    before = row(synced, "SELECT * FROM milestones WHERE id = :id", id=milestone.id)
    assert before is not None
    sim.world.corrupt("milestone", milestone.id, **{field: value})
    sim.world.update_milestone(milestone.id, title="renamed")
    report = run_sync(sim, synced)
    assert report.ok
    assert warned(report, "skipped milestone", f"'{field}'"), report.warnings
    assert row(synced, "SELECT * FROM milestones WHERE id = :id", id=milestone.id) == before
    later_changes_arrive(sim, synced, tmp_path)
    assert row(synced, "SELECT * FROM milestones WHERE id = :id", id=milestone.id) == before


@pytest.mark.parametrize("backend", SQLITE_ONLY)
def test_a_task_with_an_id_beyond_64_bits_is_skipped(
    sim: Simulator, synced: Db, tmp_path: Path
) -> None:
    task = next(t for t in sim.world.truth().tasks if t.user_id == sim.credentials.user_id)
    sim.world.corrupt("task", task.id, id=BIG)
    sim.world.update_task(task.id, description="bumped")
    report = run_sync(sim, synced)
    assert report.ok
    assert warned(report, f"skipped task {BIG}", "'id'", "64-bit")
    later_changes_arrive(sim, synced, tmp_path)
    assert row(synced, "SELECT count(*) FROM tasks WHERE id = :id", id=task.id) == (1,)


def test_the_largest_64_bit_integer_is_stored_whole(
    sim: Simulator, synced: Db, tmp_path: Path
) -> None:
    """2**63 - 1, the last value a 64-bit column holds, is not poison: it is stored as
    it came (one more is skipped: see the ``id-2^63`` and ``priority`` cases above)."""
    ticket = tickets_of(sim, busiest_space(sim))[0]
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), priority=JUST_TOO_BIG - 1)
    bump(sim, ticket)
    report = run_sync(sim, synced)
    assert report.ok
    assert report.warnings == []
    stored = row(synced, "SELECT priority FROM tickets WHERE id = :id", id=ticket.id)
    assert stored == (JUST_TOO_BIG - 1,)


def test_a_row_the_database_refuses_is_skipped_naming_the_constraints_columns(
    sim: Simulator, synced: Db, tmp_path: Path
) -> None:
    """A ticket that takes the number of another ticket of its space passes every check
    made while reading it; the database's unique constraint on (space_id, number)
    refuses it. The run goes on, the warning names the ticket and both columns, and
    later runs are not blocked (on PostgreSQL the refusal must not abort the page's
    transaction)."""
    first, second = tickets_of(sim, busiest_space(sim))[:2]
    before = row(synced, "SELECT * FROM tickets WHERE id = :id", id=first.id)
    sim.world.corrupt("ticket", (first.space_id, first.number), number=second.number)
    bump(sim, first)
    report = run_sync(sim, synced)
    assert report.ok
    assert warned(
        report, f"skipped ticket {first.id}", "'space_id', 'number'", "refused by the database"
    ), report.warnings
    assert row(synced, "SELECT * FROM tickets WHERE id = :id", id=first.id) == before
    later_changes_arrive(sim, synced, tmp_path)


# --- future timestamps --------------------------------------------------------------------


def change_tickets(sim: Simulator, space: str, count: int) -> set[int]:
    """Change ``count`` tickets of ``space`` (oldest numbers first); their ids."""
    changed = tickets_of(sim, space)[:count]
    for ticket in changed:
        sim.world.update_ticket(space, ticket.number, summary=f"changed {ticket.number}")
    return {ticket.id for ticket in changed}


def changes_mirrored(db: Db, ids: set[int]) -> int:
    """How many of the tickets ``ids`` the mirror holds with their changed summary."""
    query = "SELECT count(*) FROM tickets WHERE id IN :ids AND summary LIKE 'changed %'"
    return int(select_bound(db, query, ids=sorted(ids))[0][0])


@pytest.fixture
def big_world() -> World:
    """Spaces of about 300 tickets: three pages of changes in one of them."""
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
        assert_same_mirror(db, fresh, history=False)  # it saw the changes happen


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
        cursors = [r[0] for r in select_bound(db, "SELECT cursor FROM sync_state")]
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
            query = "SELECT count(*) FROM tasks WHERE description LIKE 'changed %'"
            arrived = select_bound(db, query)[0][0]
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
        synced_at = select_bound(db, "SELECT max(synced_at) FROM sync_state")[0][0]
        local_now = datetime.now(UTC)
        assert synced_at < (local_now - timedelta(days=80)).strftime("%Y-%m-%d")
