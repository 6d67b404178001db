"""Bad input: each case is stored faithfully or refused by name, and no mirrored row suffers.

Each test first mirrors good data, then has the simulator serve one record with
bad values (``World.corrupt``) and bumps it so the next sync must fetch it. What
reaches the database (a refused record's run record, huge text, NUL and lone
surrogates, a body that is not JSON) runs on both databases; what is refused
while a record is read, before any database sees it, runs on SQLite.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from assembla_mirror.errors import ResponseFormatError
from assembla_mirror.simulator import Simulator
from assembla_mirror.simulator.entities import MISSING
from assembla_mirror.sync import SyncOptions, SyncReport, sync
from tests.expected import Db, select_all, select_bound
from tests.support import credentials_for, in_process_settings
from tests.support import run_sync_in_process as run_sync
from tests.sync.test_sync_kill import integrity


def row(db: Db, sql: str, **binds: Any) -> tuple[Any, ...]:
    """The first row of ``sql`` (named binds: ``WHERE id = :id``) on the mirror ``db``."""
    found = select_bound(db, sql, **binds)
    assert found, sql
    return found[0]


@pytest.fixture
def sim(in_process_sim: Simulator) -> Simulator:
    """The small account, answering in-process (these are about records, not the wire)."""
    return in_process_sim


@pytest.fixture
def synced(sim: Simulator, db: Db) -> Db:
    """The account mirrored into a SQLite file (for what no database sees)."""
    assert run_sync(sim, db).ok
    return db


@pytest.fixture
def mirrored(sim: Simulator, mirror_db: str) -> Db:
    """The account mirrored, on each database in turn."""
    assert run_sync(sim, mirror_db).ok
    return mirror_db


def corrupt_ticket(sim: Simulator, **fields: Any) -> tuple[str, int, int]:
    """Serve a ticket with ``fields`` and bump it; returns (space, number, id)."""
    ticket = sim.world.truth().tickets[0]
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), **fields)
    sim.world.update_ticket(
        ticket.space_id, ticket.number, priority=5 if ticket.priority != 5 else 4
    )
    return ticket.space_id, ticket.number, ticket.id


def corrupt_task(sim: Simulator, **fields: Any) -> int:
    """Serve one of the caller's tasks with ``fields`` and bump it; returns its id."""
    task = next(t for t in sim.world.truth().tasks if t.user_id == sim.credentials.user_id)
    sim.world.corrupt("task", task.id, **fields)
    sim.world.update_task(task.id, description="bumped")
    return task.id


def refused(report: SyncReport, entity: str, record: Any, field: str) -> None:
    """The run succeeded and its warnings name the record and field it could not store."""
    assert report.ok
    assert any(
        entity in warning and str(record) in warning and repr(field) in warning
        for warning in report.warnings
    ), report.warnings


def test_hours_that_are_not_a_number(sim: Simulator, mirrored: Db) -> None:
    """Refused by name, the stored row untouched, and the warning kept in the run record."""
    synced = mirrored
    task_id = corrupt_task(sim, hours="abc")
    before = row(synced, "SELECT * FROM tasks WHERE id = :id", id=task_id)
    report = run_sync(sim, synced)
    refused(report, "task", task_id, "hours")
    assert row(synced, "SELECT * FROM tasks WHERE id = :id", id=task_id) == before  # untouched
    warnings = json.loads(row(synced, "SELECT warnings_json FROM sync_runs ORDER BY id DESC")[0])
    assert any("'hours'" in warning for warning in warnings)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("updated_at", "yesterday"),
        ("created_on", "2024-13-45T99:00:00Z"),
        ("updated_at", "2024-05-01T10:00:00"),
    ],
    ids=["unparsable", "impossible", "no-offset"],
)
def test_dates_that_cannot_be_placed(sim: Simulator, synced: Db, field: str, value: str) -> None:
    _space, _number, ticket_id = corrupt_ticket(sim, **{field: value})
    before = row(synced, "SELECT * FROM tickets WHERE id = :id", id=ticket_id)
    report = run_sync(sim, synced)
    refused(report, "ticket", ticket_id, field)
    assert row(synced, "SELECT * FROM tickets WHERE id = :id", id=ticket_id) == before


def test_missing_required_field(sim: Simulator, synced: Db) -> None:
    _space, _number, ticket_id = corrupt_ticket(sim, number=MISSING)
    before = row(synced, "SELECT * FROM tickets WHERE id = :id", id=ticket_id)
    report = run_sync(sim, synced)
    refused(report, "ticket", ticket_id, "number")
    assert row(synced, "SELECT * FROM tickets WHERE id = :id", id=ticket_id) == before


def test_integer_where_a_string_id_belongs_is_kept_as_text(sim: Simulator, mirrored: Db) -> None:
    synced = mirrored
    _space, _number, ticket_id = corrupt_ticket(sim, reporter_id=12345)
    report = run_sync(sim, synced)
    assert report.ok
    assert row(synced, "SELECT reporter_id FROM tickets WHERE id = :id", id=ticket_id) == ("12345",)


def test_unknown_new_fields_are_kept_in_raw_json(sim: Simulator, synced: Db) -> None:
    extra = {"labels": ["a", "b"], "sla": {"hours": 4}}
    _space, _number, ticket_id = corrupt_ticket(sim, brand_new_field=extra)
    assert run_sync(sim, synced).ok
    raw = json.loads(row(synced, "SELECT raw_json FROM tickets WHERE id = :id", id=ticket_id)[0])
    assert raw["brand_new_field"] == extra


def test_enormous_strings_are_stored_whole(sim: Simulator, mirrored: Db) -> None:
    synced = mirrored
    huge = "Ünïcode ✓ " * 400_000  # about 4 MB
    _space, _number, ticket_id = corrupt_ticket(sim, description=huge)
    assert run_sync(sim, synced).ok
    assert row(synced, "SELECT description FROM tickets WHERE id = :id", id=ticket_id) == (huge,)


def test_nul_and_lone_surrogates(sim: Simulator, mirrored: Db) -> None:
    synced = mirrored
    summary = "before\x00after \ud83d lone high, \udc00 lone low ✓"
    _space, _number, ticket_id = corrupt_ticket(sim, summary=summary)
    assert run_sync(sim, synced).ok
    stored, raw = row(synced, "SELECT summary, raw_json FROM tickets WHERE id = :id", id=ticket_id)
    # NUL and lone surrogates are marked as U+FFFD on every backend (PostgreSQL text
    # cannot hold NUL, and a mirror reads the same wherever it lives)
    assert stored == "before\ufffdafter \ufffd lone high, \ufffd lone low ✓"
    assert json.loads(raw)["summary"] == summary  # the payload keeps them, escaped


def test_wrong_shape_of_custom_fields_keeps_the_ticket(sim: Simulator, synced: Db) -> None:
    _space, _number, ticket_id = corrupt_ticket(sim, custom_fields=["not", "an", "object"])
    report = run_sync(sim, synced)
    assert report.ok
    assert any(str(ticket_id) in w and "custom" in w for w in report.warnings)
    assert row(synced, "SELECT count(*) FROM tickets WHERE id = :id", id=ticket_id) == (1,)


@pytest.mark.parametrize("kind", ["bad_json", "html"])
def test_a_body_that_is_not_json(sim: Simulator, mirrored: Db, kind: str) -> None:
    synced = mirrored
    totals = "SELECT count(*), sum(length(raw_json)) FROM tickets"
    before = select_all(synced, totals)
    # a passing glitch is retried and the run succeeds
    sim.faults.enqueue(kind, count=1, path_prefix="/v1/spaces")
    assert run_sync(sim, synced).ok
    # a persistent one stops the run with one clear error; nothing mirrored is lost
    sim.faults.enqueue(kind, count=100, path_prefix="/v1/spaces")
    with pytest.raises(ResponseFormatError) as raised:
        sync(
            SyncOptions(db_path=synced, decode_processes=0),
            in_process_settings(max_attempts=3),
            credentials_for(sim),
            transport=sim.transport(),
        )
    assert "GET /v1/spaces" in str(raised.value)
    assert select_all(synced, totals) == before
    assert integrity(synced) == "ok"
