"""Incremental sync: fetches only what changed, and ends equal to a fresh full sync.

Each scenario changes the simulator's account through its mutation API and
asserts both on the request log (what was fetched) and on the database (what
is stored), finishing with equality against a fresh full sync. These are about
what a sync asks and stores, not about the wire: the simulator answers
in-process (the same request handling, no socket).

Scenarios whose outcome the database decides (upserts, deletions, cursors, the
no-change cost) run on SQLite and on PostgreSQL (``synced``); those about what
the sync asks for run on SQLite only (``synced_file``). The fresh full sync
compared against is always a SQLite file: a PostgreSQL mirror equal to it
equals a fresh PostgreSQL one too (tests/sync/test_sync_full.py shows the two
first syncs are the same mirror), at half the cost.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from assembla_mirror.model.tables import TABLES
from assembla_mirror.simulator import Simulator
from tests.expected import (
    Db,
    assert_same_mirror,
    expected_rows,
    mirrored_rows,
    reading,
    select_all,
    select_bound,
    table_rows,
)
from tests.support import run_sync_in_process as run_sync


def endpoints(sim: Simulator) -> Counter[str]:
    return sim.request_counts()


@pytest.fixture
def sim(in_process_sim: Simulator) -> Simulator:
    """The small account, answering in-process."""
    return in_process_sim


def fresh_copy(sim: Simulator, tmp_path: Path) -> Path:
    """A brand-new full sync of the same account, to compare against."""
    path = tmp_path / "fresh.db"
    assert run_sync(sim, path).ok
    return path


def first_synced(sim: Simulator, db: Db) -> Db:
    """``db`` after a first sync, the request log cleared (what follows is what is counted)."""
    assert run_sync(sim, db).ok
    sim.clear_log()
    return db


@pytest.fixture
def synced(sim: Simulator, mirror_db: str) -> Db:
    """A synced mirror on each backend (the test runs on SQLite, then PostgreSQL)."""
    return first_synced(sim, mirror_db)


@pytest.fixture
def synced_file(sim: Simulator, db: Path) -> Db:
    """A synced mirror in a SQLite file, for scenarios whose database part is incidental."""
    return first_synced(sim, db)


def one_value(db: Db, sql: str, **binds: object) -> object:
    """The single value of the first row ``sql`` returns (None when it returns none)."""
    rows = select_bound(db, sql, **binds)
    return rows[0][0] if rows else None


def a_ticket_space(sim: Simulator) -> str:
    truth = sim.world.truth()
    return truth.tickets[0].space_id


def test_no_change_resync_costs_four_requests_and_leaves_identical_rows(
    sim: Simulator, synced: Db
) -> None:
    before = {table: table_rows(synced, table) for table in TABLES}

    report = run_sync(sim, synced)

    assert report.ok
    assert report.mode == "incremental"
    assert report.changed_rows() == 0
    assert report.requests == 4
    assert endpoints(sim) == {
        "GET /v1/user": 1,
        "GET /v1/spaces": 1,
        "GET /v1/activity": 1,
        "GET /v1/tasks": 1,
    }
    assert {table: table_rows(synced, table) for table in TABLES} == before


def test_ticket_update_fetches_only_that_space(sim: Simulator, synced: Db, tmp_path: Path) -> None:
    space = a_ticket_space(sim)
    number = next(t.number for t in sim.world.truth().tickets if t.space_id == space)
    sim.world.update_ticket(space, number, summary="Changed ✓ summary", status="Test")

    report = run_sync(sim, synced)

    assert report.changes["tickets"] == {"inserted": 0, "updated": 1, "deleted": 0}
    ticket_requests = [r for r in sim.request_log if r.endpoint.endswith("/tickets")]
    assert {r.path.split("/")[3] for r in ticket_requests} == {space}
    assert len(ticket_requests) == 1
    row = select_bound(
        synced,
        "SELECT summary, status FROM tickets WHERE space_id = :space AND number = :number",
        space=space,
        number=number,
    )
    assert row == [("Changed ✓ summary", "Test")]
    assert_same_mirror(synced, fresh_copy(sim, tmp_path), history=False)


def test_inserted_ticket_and_task(sim: Simulator, synced: Db, tmp_path: Path) -> None:
    space = a_ticket_space(sim)
    ticket = sim.world.add_ticket(space, summary="Brand new 新しい")
    task = sim.world.add_task(
        space=space, user_id=sim.credentials.user_id, hours="2.5", description="new work"
    )
    report = run_sync(sim, synced)
    assert report.changes["tickets"]["inserted"] == 1
    assert report.changes["tasks"]["inserted"] == 1
    # time logs are fetched for the new task only (one legacy request)
    legacy = [r.path for r in sim.request_log if r.kind == "legacy"]
    assert legacy == [f"/user/time_entries/{task.id}/time_logs"]
    assert one_value(synced, "SELECT summary FROM tickets WHERE id = :id", id=ticket.id) == (
        "Brand new 新しい"
    )
    assert one_value(synced, "SELECT hours FROM tasks WHERE id = :id", id=task.id) == 2.5
    assert_same_mirror(synced, fresh_copy(sim, tmp_path), history=False)


def test_several_updates_within_one_second(sim: Simulator, synced: Db, tmp_path: Path) -> None:
    space = a_ticket_space(sim)
    first, second = [t.number for t in sim.world.truth().tickets if t.space_id == space][:2]
    sim.world.clock.freeze()
    try:
        sim.world.update_ticket(space, first, summary="first change")
        assert run_sync(sim, synced).ok
        # same second as the cursor the previous run stored
        sim.world.update_ticket(space, second, summary="second change, same second")
        sim.world.update_ticket(space, first, summary="first changed again, same second")
        assert run_sync(sim, synced).ok
    finally:
        sim.world.clock.unfreeze()
    summaries = dict(
        select_bound(
            synced,
            "SELECT number, summary FROM tickets WHERE space_id = :space AND number IN :numbers",
            space=space,
            numbers=[first, second],
        )
    )
    assert summaries == {
        first: "first changed again, same second",
        second: "second change, same second",
    }
    assert_same_mirror(synced, fresh_copy(sim, tmp_path), history=False)


def test_ticket_moved_between_milestones_and_time_zone_change(
    sim: Simulator, synced_file: Db, tmp_path: Path
) -> None:
    """Offsets are normalized before anything is stored: SQLite only."""
    truth = sim.world.truth()
    space = a_ticket_space(sim)
    milestones = [m.id for m in truth.milestones if m.space_id == space]
    ticket = next(t for t in truth.tickets if t.space_id == space and t.milestone_id is not None)
    target = next(m for m in milestones if m != ticket.milestone_id)
    sim.world.update_ticket(space, ticket.number, milestone_id=target)
    sim.world.set_time_zone(sim.credentials.user_id, "-08:00")
    sim.world.set_time_zone(space, "+05:30")

    assert run_sync(sim, synced_file).ok

    assert (
        one_value(synced_file, "SELECT milestone_id FROM tickets WHERE id = :id", id=ticket.id)
        == target
    )
    for table in ("tickets", "tasks", "milestones"):
        assert mirrored_rows(synced_file, table) == expected_rows(sim.world.truth(), table)
    assert_same_mirror(synced_file, fresh_copy(sim, tmp_path), history=False)


def test_deletions_by_activity_event(sim: Simulator, synced: Db, tmp_path: Path) -> None:
    truth = sim.world.truth()
    space = a_ticket_space(sim)
    ticket = next(t for t in truth.tickets if t.space_id == space)
    milestone = next(m for m in truth.milestones if m.space_id == space)
    assert select_bound(synced, "SELECT 1 FROM tickets WHERE id = :id", id=ticket.id)
    assert select_bound(
        synced, "SELECT 1 FROM ticket_custom_fields WHERE ticket_id = :id", id=ticket.id
    )
    sim.world.delete_ticket(space, ticket.number)
    sim.world.delete_milestone(milestone.id)

    report = run_sync(sim, synced)

    assert report.changes["tickets"]["deleted"] == 1
    assert report.changes["milestones"]["deleted"] == 1
    assert select_bound(synced, "SELECT 1 FROM tickets WHERE id = :id", id=ticket.id) == []
    assert select_bound(synced, "SELECT 1 FROM milestones WHERE id = :id", id=milestone.id) == []
    assert (
        select_bound(
            synced, "SELECT 1 FROM ticket_custom_fields WHERE ticket_id = :id", id=ticket.id
        )
        == []
    )
    assert_same_mirror(synced, fresh_copy(sim, tmp_path), history=False)


def test_deletions_without_events_need_reconciliation(
    sim: Simulator, synced: Db, tmp_path: Path
) -> None:
    truth = sim.world.truth()
    caller = sim.credentials.user_id
    task = next(
        t
        for t in truth.tasks
        if t.user_id == caller and any(log.task_id == t.id for log in truth.time_logs)
    )
    log = next(log for log in truth.time_logs if log.task_id != task.id)
    space = a_ticket_space(sim)
    field = next(f for f in truth.custom_fields if f.space_id == space)
    sim.world.delete_task(task.id)
    sim.world.delete_time_log(log.id)
    sim.world.delete_custom_field(space, field.title)

    run_sync(sim, synced)  # incremental: no events for these, nothing is due yet
    assert select_bound(synced, "SELECT 1 FROM tasks WHERE id = :id", id=task.id)

    report = run_sync(sim, synced, full=True)

    assert report.mode == "full"
    assert report.changes["tasks"]["deleted"] >= 1
    gone: dict[str, tuple[str, dict[str, object]]] = {
        "tasks": ("SELECT 1 FROM tasks WHERE id = :id", {"id": task.id}),
        "its time logs": ("SELECT 1 FROM time_logs WHERE task_id = :id", {"id": task.id}),
        "the time log": ("SELECT 1 FROM time_logs WHERE id = :id", {"id": log.id}),
        "the custom field": ("SELECT 1 FROM custom_fields WHERE id = :id", {"id": field.id}),
        "its values": (
            "SELECT 1 FROM ticket_custom_fields WHERE title = :title AND ticket_id IN "
            "(SELECT id FROM tickets WHERE space_id = :space)",
            {"title": field.title, "space": space},
        ),
    }
    for what, (sql, binds) in gone.items():
        assert select_bound(synced, sql, **binds) == [], f"{what} should be deleted"
    assert_same_mirror(synced, fresh_copy(sim, tmp_path), history=False)


def test_reconciliation_is_automatic_after_n_days(sim: Simulator, synced_file: Db) -> None:
    """When a reconciliation is due is the sync's decision: SQLite only."""
    task = sim.world.truth().tasks[0]
    sim.world.delete_task(task.id)
    report = run_sync(sim, synced_file, reconcile_every=timedelta(0))
    assert report.changes["tasks"]["deleted"] == 1


def test_renamed_custom_field(sim: Simulator, synced: Db, tmp_path: Path) -> None:
    truth = sim.world.truth()
    space = a_ticket_space(sim)
    field = next(
        f
        for f in truth.custom_fields
        if f.space_id == space and any(f.title in t.custom_fields for t in truth.tickets)
    )
    sim.world.rename_custom_field(space, field.title, "Renamed ✎ field")

    # nothing signals a rename; the daily config refresh (here: immediately) finds it
    report = run_sync(sim, synced, config_max_age=timedelta(0))

    assert report.ok
    titles = select_bound(
        synced,
        "SELECT DISTINCT title FROM ticket_custom_fields WHERE custom_field_id = :id",
        id=field.id,
    )
    assert titles == [("Renamed ✎ field",)]
    assert not any(r.endpoint.endswith("/tickets") for r in sim.request_log)  # no refetch
    assert_same_mirror(synced, fresh_copy(sim, tmp_path), history=False)


def test_renamed_custom_field_noticed_through_a_changed_ticket(
    sim: Simulator, synced_file: Db, tmp_path: Path
) -> None:
    """Noticing is the sync's logic (the rename itself is stored as above): SQLite only."""
    truth = sim.world.truth()
    space = a_ticket_space(sim)
    field = next(f for f in truth.custom_fields if f.space_id == space)
    ticket = next(t for t in truth.tickets if t.space_id == space)
    sim.world.rename_custom_field(space, field.title, "New title")
    sim.world.update_ticket(space, ticket.number, summary="touched")

    assert run_sync(sim, synced_file).ok  # the ticket carries an unknown title: fields refreshed

    unlinked = select_all(
        synced_file, "SELECT count(*) FROM ticket_custom_fields WHERE custom_field_id IS NULL"
    )
    assert unlinked == [(0,)]
    assert_same_mirror(synced_file, fresh_copy(sim, tmp_path), history=False)


def test_member_removed_and_added(sim: Simulator, synced: Db) -> None:
    truth = sim.world.truth()
    caller = sim.credentials.user_id
    role = next(r for r in truth.user_roles if r.user_id != caller)
    sim.world.remove_member(role.space_id, role.user_id)
    newcomer = sim.world.add_user(name="Zoë Nouvelle")
    sim.world.add_member(role.space_id, newcomer.id, role="member")

    report = run_sync(sim, synced)

    assert report.changes["user_roles"]["deleted"] == 1
    assert select_bound(synced, "SELECT 1 FROM user_roles WHERE id = :id", id=role.id) == []
    assert one_value(synced, "SELECT name FROM users WHERE id = :id", id=newcomer.id) == (
        "Zoë Nouvelle"
    )
    # the departed member is still known as a user (their tickets refer to them)
    assert select_bound(synced, "SELECT 1 FROM users WHERE id = :id", id=role.user_id)
    assert mirrored_rows(synced, "user_roles") == expected_rows(sim.world.truth(), "user_roles")


def test_k_changes_in_s_spaces_cost_close_to_the_minimum(sim: Simulator, synced_file: Db) -> None:
    """A count of requests: SQLite only."""
    truth = sim.world.truth()
    spaces = sorted({t.space_id for t in truth.tickets})[:2]
    for space in spaces:
        for ticket in [t for t in truth.tickets if t.space_id == space][:3]:
            sim.world.update_ticket(space, ticket.number, priority=1)

    report = run_sync(sim, synced_file)

    assert report.changes["tickets"]["updated"] == 6
    counts = endpoints(sim)
    assert counts["GET /v1/spaces/:space/tickets"] == len(spaces)  # one page per changed space
    # the tags of each changed ticket: tagging a ticket bumps it with no event of its own
    assert counts["GET /v1/spaces/:space/tickets/:number/tags"] == 6
    # the minimum: user + spaces + activity + tasks + one ticket page per changed space,
    # and the changed tickets' tags
    assert report.requests <= 4 + len(spaces) + 6 + 1


def test_updates_landing_during_a_sync(sim: Simulator, db: Path, tmp_path: Path) -> None:
    """A change made while the walk runs is fetched by the next run, never lost (the
    walk's order and cursors decide it, not the database: SQLite only)."""
    truth = sim.world.truth()
    space = a_ticket_space(sim)
    numbers = [t.number for t in truth.tickets if t.space_id == space]
    changed: list[int] = []

    class ChangeDuringWalk:
        def begin(self, key: str, label: str, total: int | None = None) -> None: ...
        def end(self, key: str) -> None: ...
        def note(self, message: str) -> None: ...

        def advance(self, key: str, items: int = 0) -> None:
            if key == f"tickets:{space}" and not changed:
                # the oldest ticket moves to the front of a list the walk already passed
                sim.world.update_ticket(space, numbers[-1], summary="changed mid-walk")
                changed.append(numbers[-1])

    from assembla_mirror.sync import SyncOptions, sync
    from tests.support import credentials_for, in_process_settings

    sync(
        SyncOptions(db_path=db, decode_processes=0),
        in_process_settings(),
        credentials_for(sim),
        progress=ChangeDuringWalk(),
        transport=sim.transport(),
        legacy_transport=sim.transport(),
    )
    assert changed
    assert run_sync(sim, db).ok
    assert (
        one_value(
            db,
            "SELECT summary FROM tickets WHERE space_id = :space AND number = :number",
            space=space,
            number=changed[0],
        )
        == "changed mid-walk"
    )
    assert_same_mirror(db, fresh_copy(sim, tmp_path), history=False)


def test_events_are_kept_beyond_assemblas_window(sim: Simulator, synced_file: Db) -> None:
    """Keeping is not deleting: SQLite only."""
    before = one_value(synced_file, "SELECT count(*) FROM events")
    assert isinstance(before, int)
    assert before > 0
    sim.world.clock.advance(timedelta(days=61).total_seconds())
    space = a_ticket_space(sim)
    sim.world.add_ticket(space, summary="after two months")
    report = run_sync(sim, synced_file)
    assert report.ok
    after = one_value(synced_file, "SELECT count(*) FROM events")
    assert isinstance(after, int)
    assert after > before  # old events kept although Assembla no longer serves them


def test_an_activity_gap_walks_every_space(sim: Simulator, synced_file: Db) -> None:
    """The gap is the sync's decision from the stored cursor: SQLite only."""
    (synced_at,) = select_all(
        synced_file, "SELECT synced_at FROM sync_state WHERE resource = 'events'"
    )[0]
    long_ago = datetime.strptime(synced_at, "%Y-%m-%d %H:%M:%S") - timedelta(days=61)
    with reading(synced_file) as conn:
        conn.execute(
            text("UPDATE sync_state SET synced_at = :at WHERE resource = 'events'"),
            {"at": long_ago.strftime("%Y-%m-%d %H:%M:%S")},
        )
        conn.commit()
    spaces_with_tickets = one_value(
        synced_file, "SELECT count(*) FROM spaces WHERE has_ticket_tool"
    )
    report = run_sync(sim, synced_file)
    assert any("gap" in note for note in report.notes)
    assert endpoints(sim)["GET /v1/spaces/:space/tickets"] == spaces_with_tickets
    assert report.changed_rows() == 0
