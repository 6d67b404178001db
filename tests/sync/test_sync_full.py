"""A first sync over loopback HTTP mirrors the simulator's account exactly, quirks included."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from assembla_mirror.simulator import Scale, Simulator, World
from tests.expected import (
    COLUMNS,
    expected_custom_values,
    expected_rows,
    mirrored_custom_values,
    mirrored_rows,
    table_rows,
)
from tests.support import run_sync


@pytest.fixture(scope="module")
def served() -> Iterator[Simulator]:
    """The small account, served over loopback for the whole module (read-only)."""
    with Simulator(World.generate(seed=11, scale=Scale.preset("small"))) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def first_sync(served: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One first sync of it, which the module's read-only tests share."""
    db = tmp_path_factory.mktemp("first") / "mirror.db"
    assert run_sync(served, db).ok
    return db


@pytest.fixture
def synced(first_sync: Path, tmp_path: Path) -> Path:
    """A copy of the first sync's mirror (a test may sync it again)."""
    copy = tmp_path / "mirror.db"
    with closing(sqlite3.connect(first_sync)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)  # WAL included
    return copy


@pytest.fixture
def sim(served: Simulator) -> Simulator:
    """The module's simulator (its account is never changed here)."""
    return served


@pytest.mark.parametrize("table", sorted(set(COLUMNS) - {"ticket_comments"}))
def test_every_table_matches_the_truth_row_by_row(sim: Simulator, synced: Path, table: str) -> None:
    truth = sim.world.truth()
    expected = expected_rows(truth, table)
    assert expected, f"the simulator's account should have {table}"
    assert mirrored_rows(synced, table) == expected


def test_custom_field_values_are_normalized_by_title(sim: Simulator, synced: Path) -> None:
    truth = sim.world.truth()
    assert mirrored_custom_values(synced) == expected_custom_values(truth)
    with sqlite3.connect(synced) as conn:
        unlinked = conn.execute(
            "SELECT count(*) FROM ticket_custom_fields WHERE custom_field_id IS NULL"
        ).fetchone()
    assert unlinked == (0,)


def test_hours_by_space_equals_the_truth(sim: Simulator, synced: Path) -> None:
    truth = sim.world.truth().hours_by_space()
    with sqlite3.connect(synced) as conn:
        mirrored = dict(
            conn.execute("SELECT space_id, hours FROM hours_by_space WHERE entries > 0")
        )
    assert mirrored == pytest.approx({space: round(float(h), 2) for space, h in truth.items() if h})


def test_quirks(sim: Simulator, synced: Path) -> None:
    truth = sim.world.truth()
    caller = sim.credentials.user_id
    with sqlite3.connect(synced) as conn:
        # the space without the ticket tool is mirrored, flagged, and has no tickets
        no_tool = conn.execute("SELECT id FROM spaces WHERE has_ticket_tool = 0").fetchall()
        assert len(no_tool) == 1
        assert conn.execute(
            "SELECT count(*) FROM tickets WHERE space_id = ?", no_tool[0]
        ).fetchone() == (0,)
        # in spaces the caller does not own, only the caller's own tasks are visible
        not_owned = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM spaces WHERE id NOT IN "
                "(SELECT space_id FROM user_roles WHERE user_id = ? AND role = 'owner')",
                (caller,),
            )
        ]
        assert not_owned
        others = conn.execute(
            f"SELECT count(*) FROM tasks WHERE user_id != ? AND space_id IN "
            f"({','.join('?' * len(not_owned))})",
            (caller, *not_owned),
        ).fetchone()
        assert others == (0,)
        # number gaps survive: numbers are per space and not contiguous
        gaps = conn.execute(
            "SELECT space_id, max(number) - count(*) FROM tickets GROUP BY space_id"
        ).fetchall()
        assert any(missing > 0 for _, missing in gaps)
        # unicode round-trips
        summaries = [row[0] for row in conn.execute("SELECT summary FROM tickets")]
    assert any(not text.isascii() for text in summaries)
    # mixed offsets in the raw payloads, one UTC form in the columns
    offsets = Counter(
        json.loads(row[0])["updated_at"][19:]
        for row in sqlite3.connect(synced).execute("SELECT raw_json FROM tickets")
    )
    assert len(offsets) > 1
    assert {t.space_id for t in truth.tickets}  # sanity: the truth has tickets


def test_raw_json_keeps_the_untouched_payload(sim: Simulator, synced: Path) -> None:
    with sqlite3.connect(synced) as conn:
        raw = json.loads(conn.execute("SELECT raw_json FROM tickets LIMIT 1").fetchone()[0])
    assert isinstance(raw["custom_fields"], dict)
    assert raw["updated_at"][10] == "T"  # as Assembla sent it, offset and all


def test_a_second_sync_leaves_identical_rows(sim: Simulator, synced: Path) -> None:
    tables = ("spaces", "users", "tickets", "ticket_custom_fields", "tasks", "time_logs", "events")
    before = {table: table_rows(synced, table) for table in tables}
    report = run_sync(sim, synced)
    assert report.ok
    assert report.changed_rows() == 0
    assert {table: table_rows(synced, table) for table in tables} == before


def test_summary_counts_and_run_record(sim: Simulator, db: Path) -> None:
    report = run_sync(sim, db)
    truth = sim.world.truth()
    assert report.totals["tickets"] == len(truth.tickets)
    assert report.changes["tickets"]["inserted"] == len(truth.tickets)
    assert report.requests > 0
    with sqlite3.connect(db) as conn:
        run = conn.execute("SELECT outcome, requests, rows_json FROM sync_runs").fetchone()
    assert run[0] == "success"
    assert run[1] == report.requests
    assert json.loads(run[2])["tasks"]["inserted"] == len(truth.tasks)


def test_time_logs_are_skipped_plainly_without_legacy_credentials(sim: Simulator, db: Path) -> None:
    report = run_sync(sim, db, legacy=False)
    assert report.ok
    assert any("time logs skipped" in note and "ASSEMBLA_USERNAME" in note for note in report.notes)
    assert report.totals["time_logs"] == 0
    assert report.totals["tasks"] > 0
