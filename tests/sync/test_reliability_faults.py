"""Faults: a flaky API still yields the exact mirror; faults that outlast retries lose nothing.

A flaky API is the client's business (SQLite only); faults that outlast the retries
stop a run between pages, which keeps its committed pages and its run record on
both databases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assembla_mirror.errors import ApiError
from assembla_mirror.simulator import FaultConfig, Scale, Simulator, World
from assembla_mirror.sync import SyncOptions, sync
from tests.expected import COLUMNS, assert_same_mirror, expected_rows, mirrored_rows, select_bound
from tests.support import credentials_for, run_sync, settings_for


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sync_through_a_flaky_api_equals_the_truth(tmp_path: Path, seed: int) -> None:
    world = World.generate(seed=20 + seed, scale=Scale.preset("small"))
    faults = FaultConfig(
        error_500=0.025, error_503=0.025, throttle_429=0.03, drop=0.01, truncate=0.01, seed=seed
    )
    with Simulator(world, faults=faults) as sim:
        db = tmp_path / "flaky.db"
        settings = settings_for(sim, max_attempts=8)
        report = sync(SyncOptions(db_path=db), settings, credentials_for(sim))
        assert report.ok
        faulted = [record for record in sim.request_log if record.fault]
        assert len(faulted) > 10  # the faults really happened
        assert {record.fault for record in faulted} >= {"500", "503", "429"}
        truth = world.truth()
        for table in COLUMNS:
            if table != "ticket_comments":
                assert mirrored_rows(db, table) == expected_rows(truth, table), table


class FailAfterFirstPage:
    """Progress hook: once a space's first ticket page is committed, its later pages fail."""

    def __init__(self, sim: Simulator, space: str) -> None:
        self.sim, self.space, self.armed = sim, space, False

    def begin(self, key: str, label: str, total: int | None = None) -> None: ...
    def end(self, key: str) -> None: ...
    def note(self, message: str) -> None: ...

    def advance(self, key: str, items: int = 0) -> None:
        if key == f"tickets:{self.space}" and not self.armed:
            self.armed = True
            self.sim.faults.enqueue(
                "503", count=10_000, path_prefix=f"/v1/spaces/{self.space}/tickets"
            )


def test_faults_outlasting_retries_stop_clearly_and_keep_committed_pages(
    mirror_db: str, tmp_path: Path
) -> None:
    world = World.generate(seed=8, scale=Scale.parse("small,tickets_per_space=450"))
    db = mirror_db
    with Simulator(world) as sim:
        space = world.truth().tickets[0].space_id
        hook = FailAfterFirstPage(sim, space)
        sim.latency = 0.05  # the walk's next page is still in flight when page 1 is written
        settings = settings_for(sim, max_attempts=3)
        with pytest.raises(ApiError) as raised:
            sync(SyncOptions(db_path=db), settings, credentials_for(sim), progress=hook)
        message = str(raised.value)
        assert message.startswith(f"GET /v1/spaces/{space}/tickets failed after 3 attempts")
        assert "503" in message
        for secret in credentials_for(sim).secrets():
            assert secret not in message
        kept = select_bound(db, "SELECT count(*) FROM tickets WHERE space_id = :space", space=space)
        runs = select_bound(db, "SELECT outcome, error FROM sync_runs")
        assert kept[0][0] >= 100  # the committed first page (at least) is still there
        assert runs[0][0] == "failed"
        assert f"/v1/spaces/{space}/tickets" in runs[0][1]

        sim.faults.clear()
        sim.latency = 0.0
        assert run_sync(sim, db).ok
        fresh = tmp_path / "fresh.db"
        assert run_sync(sim, fresh).ok
        assert_same_mirror(db, fresh)
