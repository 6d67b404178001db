"""A first sync over loopback HTTP mirrors the simulator's account exactly, quirks included,
on SQLite and on PostgreSQL.

The module syncs the account once per database and its tests only read those
mirrors; on PostgreSQL the mirror must also equal the SQLite one row for row,
``raw_json`` included, so the two databases hold the same mirror.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assembla_mirror.model.tables import TABLES
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.sync import SyncReport
from tests.conftest import BACKENDS
from tests.expected import (
    COLUMNS,
    assert_same_mirror,
    expected_custom_values,
    expected_rows,
    mirrored_custom_values,
    mirrored_rows,
    select_all,
    select_bound,
)
from tests.support import fresh_postgres_mirror, run_sync


@dataclass(frozen=True)
class FirstSync:
    """A mirror filled by one first sync, and that sync's report."""

    db: str
    report: SyncReport


@pytest.fixture(scope="module")
def served() -> Iterator[Simulator]:
    """The small account, served over loopback for the whole module (read-only)."""
    with Simulator(World.generate(seed=11, scale=Scale.preset("small"))) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def sqlite_first_sync(served: Simulator, tmp_path_factory: pytest.TempPathFactory) -> FirstSync:
    """One first sync into a SQLite file, which the module's read-only tests share."""
    db = str(tmp_path_factory.mktemp("first") / "mirror.db")
    report = run_sync(served, db)
    assert report.ok
    return FirstSync(db, report)


@pytest.fixture(scope="module")
def postgresql_first_sync(served: Simulator) -> Iterator[FirstSync]:
    """One first sync into a fresh PostgreSQL schema (skipped without a server), shared
    read-only like the SQLite one."""
    with fresh_postgres_mirror() as url:
        report = run_sync(served, url)
        assert report.ok
        yield FirstSync(url, report)


@pytest.fixture(scope="module", params=BACKENDS)
def first_sync(request: pytest.FixtureRequest) -> FirstSync:
    """The first sync on each backend (a test using it runs once per database)."""
    return request.getfixturevalue(f"{request.param}_first_sync")  # type: ignore[no-any-return]


@pytest.fixture
def synced(first_sync: FirstSync) -> str:
    """The shared first sync's mirror, to read only."""
    return first_sync.db


@pytest.fixture
def sim(served: Simulator) -> Simulator:
    """The module's simulator (its account is never changed here)."""
    return served


@pytest.mark.parametrize("table", sorted(set(COLUMNS) - {"ticket_comments"}))
def test_every_table_matches_the_truth_row_by_row(sim: Simulator, synced: str, table: str) -> None:
    truth = sim.world.truth()
    expected = expected_rows(truth, table)
    assert expected, f"the simulator's account should have {table}"
    assert mirrored_rows(synced, table) == expected


def test_postgresql_holds_the_same_mirror_as_sqlite(
    sqlite_first_sync: FirstSync, postgresql_first_sync: FirstSync
) -> None:
    """Every table, bookkeeping and events included, raw_json and all: the PostgreSQL
    mirror is the SQLite one (the truth comparisons above cover listed columns only)."""
    for table in TABLES:
        assert select_all(postgresql_first_sync.db, f"SELECT count(*) FROM {table}") == (
            select_all(sqlite_first_sync.db, f"SELECT count(*) FROM {table}")
        )
    assert_same_mirror(postgresql_first_sync.db, sqlite_first_sync.db)


def test_custom_field_values_are_normalized_by_title(sim: Simulator, synced: str) -> None:
    truth = sim.world.truth()
    assert mirrored_custom_values(synced) == expected_custom_values(truth)
    unlinked = select_all(
        synced, "SELECT count(*) FROM ticket_custom_fields WHERE custom_field_id IS NULL"
    )
    assert unlinked == [(0,)]


def test_hours_by_space_equals_the_truth(sim: Simulator, synced: str) -> None:
    truth = sim.world.truth().hours_by_space()
    mirrored = dict(
        select_all(synced, "SELECT space_id, hours FROM hours_by_space WHERE entries > 0")
    )
    assert mirrored == pytest.approx({space: round(float(h), 2) for space, h in truth.items() if h})


def test_quirks(sim: Simulator, synced: str) -> None:
    truth = sim.world.truth()
    caller = sim.credentials.user_id
    # the space without the ticket tool is mirrored, flagged, and has no tickets
    no_tool = select_all(synced, "SELECT id FROM spaces WHERE NOT has_ticket_tool")
    assert len(no_tool) == 1
    assert select_bound(
        synced, "SELECT count(*) FROM tickets WHERE space_id = :space", space=no_tool[0][0]
    ) == [(0,)]
    # in spaces the caller does not own, only the caller's own tasks are visible
    not_owned = [
        row[0]
        for row in select_bound(
            synced,
            "SELECT id FROM spaces WHERE id NOT IN "
            "(SELECT space_id FROM user_roles WHERE user_id = :caller AND role = 'owner')",
            caller=caller,
        )
    ]
    assert not_owned
    others = select_bound(
        synced,
        "SELECT count(*) FROM tasks WHERE user_id != :caller AND space_id IN :spaces",
        caller=caller,
        spaces=not_owned,
    )
    assert others == [(0,)]
    # number gaps survive: numbers are per space and not contiguous
    gaps = select_all(
        synced, "SELECT space_id, max(number) - count(*) FROM tickets GROUP BY space_id"
    )
    assert any(missing > 0 for _, missing in gaps)
    # unicode round-trips
    summaries = [row[0] for row in select_all(synced, "SELECT summary FROM tickets")]
    assert any(not text.isascii() for text in summaries)
    # mixed offsets in the raw payloads, one UTC form in the columns
    offsets = Counter(
        json.loads(raw)["updated_at"][19:]
        for (raw,) in select_all(synced, "SELECT raw_json FROM tickets")
    )
    assert len(offsets) > 1
    assert {t.space_id for t in truth.tickets}  # sanity: the truth has tickets


def test_raw_json_keeps_the_untouched_payload(sim: Simulator, synced: str) -> None:
    (raw_json,) = select_all(synced, "SELECT raw_json FROM tickets ORDER BY id LIMIT 1")[0]
    raw = json.loads(raw_json)
    assert isinstance(raw["custom_fields"], dict)
    assert raw["updated_at"][10] == "T"  # as Assembla sent it, offset and all


def test_summary_counts_and_run_record(sim: Simulator, first_sync: FirstSync) -> None:
    report = first_sync.report
    truth = sim.world.truth()
    assert report.mode == "initial"
    assert report.totals["tickets"] == len(truth.tickets)
    assert report.changes["tickets"]["inserted"] == len(truth.tickets)
    assert report.requests > 0
    run = select_bound(
        first_sync.db,
        "SELECT outcome, requests, rows_json FROM sync_runs WHERE id = :run",
        run=report.run_id,
    )[0]
    assert run[0] == "success"
    assert run[1] == report.requests
    assert json.loads(run[2])["tasks"]["inserted"] == len(truth.tasks)


def test_time_logs_are_skipped_plainly_without_legacy_credentials(sim: Simulator, db: Path) -> None:
    """About the credentials, not the database: SQLite only."""
    report = run_sync(sim, db, legacy=False)
    assert report.ok
    assert any("time logs skipped" in note and "ASSEMBLA_USERNAME" in note for note in report.notes)
    assert report.totals["time_logs"] == 0
    assert report.totals["tasks"] > 0
