"""The activity read is a resumable walk: an interrupted read loses no event for good.

An interruption during the read of the stream used to leave the older events
unread forever (the next run asked only for events newer than the newest one
stored), and ``--full`` did not bring them back. These tests interrupt the read
in each way a cron run meets (SIGKILL, retries running out) and compare every
table, ``events`` and ``raw_json`` included, with a fresh sync. Each runs on both
databases: an event page and the walk's checkpoint commit together on each.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import text

from assembla_mirror.errors import ApiError
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.sync import SyncOptions, sync
from tests.expected import Db, assert_same_mirror, reading, select_all
from tests.support import credentials_for, run_sync, settings_for
from tests.sync.test_sync_kill import after_kill, kill, sync_process

ACTIVITY = "GET /v1/activity"


@pytest.fixture
def busy_world() -> World:
    """An account whose stream spans several pages of 100 events."""
    world = World.generate(seed=5, scale=Scale.parse("small,tickets_per_space=300"))
    assert len(world.state.events) > 450
    return world


def event_count(db: Db) -> int:
    """How many activity events the mirror ``db`` holds."""
    return int(select_all(db, "SELECT count(*) FROM events")[0][0])


class FailActivityAfterFirstPage:
    """Progress hook: once the first page of events is written, the stream's pages fail."""

    def __init__(self, sim: Simulator) -> None:
        self.sim, self.armed = sim, False

    def begin(self, key: str, label: str, total: int | None = None) -> None: ...
    def end(self, key: str) -> None: ...
    def note(self, message: str) -> None: ...

    def advance(self, key: str, items: int = 0) -> None:
        if key == "events" and not self.armed:
            self.armed = True
            self.sim.faults.enqueue("503", count=10_000, path_prefix="/v1/activity")


def test_retries_running_out_on_the_stream_lose_no_event(
    busy_world: World, mirror_db: str, tmp_path: Path
) -> None:
    db = mirror_db
    with Simulator(busy_world) as sim:
        sim.latency = 0.02  # the read's next page is in flight when the first is written
        with pytest.raises(ApiError, match="/v1/activity"):
            sync(
                SyncOptions(db_path=db),
                settings_for(sim, max_attempts=2),
                credentials_for(sim),
                progress=FailActivityAfterFirstPage(sim),
            )
        interrupted = event_count(db)
        sim.faults.clear()
        sim.latency = 0.0

        assert run_sync(sim, db).ok
        fresh = tmp_path / "fresh.db"
        assert run_sync(sim, fresh).ok
        assert 0 < interrupted < event_count(fresh)
        assert_same_mirror(db, fresh)


@pytest.mark.slow
def test_a_sync_killed_during_the_stream_read_resumes_it(
    busy_world: World, mirror_db: str, tmp_path: Path
) -> None:
    db = mirror_db
    with Simulator(busy_world) as sim:
        sim.latency = 0.03
        process = sync_process(sim, db)
        deadline = time.monotonic() + 60
        while sim.request_counts()[ACTIVITY] < 2 and time.monotonic() < deadline:
            assert process.poll() is None, "the sync ended before reading the stream"
            time.sleep(0.002)
        kill(process)
        sim.latency = 0.0
        after_kill(db)
        killed_with = event_count(db)

        assert run_sync(sim, db).ok
        fresh = tmp_path / "fresh.db"
        assert run_sync(sim, fresh).ok
        assert killed_with < event_count(fresh)
        assert_same_mirror(db, fresh)


def test_full_refills_the_whole_window(busy_world: World, db: Path) -> None:
    """Events lost to the old bug (older ones missing, newer ones stored) come back with --full.

    SQLite only: what --full asks for is the walk's choice; the writes it makes are
    those the tests above make on both databases."""
    with Simulator(busy_world) as sim:
        assert run_sync(sim, db).ok
        complete = event_count(db)
        with reading(db) as conn:
            middle = conn.execute(
                text("SELECT date FROM events ORDER BY date LIMIT 1 OFFSET :skip"),
                {"skip": complete // 2},
            ).scalar_one()
            conn.execute(text("DELETE FROM events WHERE date < :middle"), {"middle": middle})
            conn.commit()
        assert event_count(db) < complete

        assert run_sync(sim, db).ok  # an incremental run reads from its cursor on
        assert event_count(db) < complete
        assert run_sync(sim, db, full=True).ok
        assert event_count(db) == complete
