"""A sync killed with SIGKILL at any point leaves a consistent file the next run completes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assembla_mirror.simulator import Scale, Simulator, World
from tests.expected import assert_same_mirror
from tests.support import run_sync


def sync_process(sim: Simulator, db: Path) -> subprocess.Popen[bytes]:
    """``mirror sync`` in its own process, credentials in its environment (never argv)."""
    env = {**os.environ, **sim.client_environment()}
    return subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", "sync", "--db", str(db), "--quiet"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_after(sim: Simulator, process: subprocess.Popen[bytes], requests: int) -> bool:
    """SIGKILL ``process`` once the simulator has served ``requests``; False if it ended first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if len(sim.request_log) >= requests:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.kill()
    raise AssertionError("the sync neither progressed nor ended")


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [3, 8, 20, 45, 90])
def test_killed_sync_resumes_to_the_same_mirror(
    sim: Simulator, db: Path, tmp_path: Path, kill_at: int
) -> None:
    sim.latency = 0.005  # slow enough to land the kill inside the run
    process = sync_process(sim, db)
    killed = kill_after(sim, process, kill_at)
    sim.latency = 0.0
    assert killed, "the sync finished before the kill point; lower kill_at"
    if db.exists():
        assert integrity(db) == "ok"

    sim.clear_log()
    report = run_sync(sim, db)

    assert report.ok
    assert integrity(db) == "ok"
    with sqlite3.connect(db) as conn:
        outcomes = [row[0] for row in conn.execute("SELECT outcome FROM sync_runs ORDER BY id")]
    assert outcomes[-1] == "success"
    if len(outcomes) > 1:
        assert outcomes[0] == "interrupted"
    fresh = tmp_path / "fresh.db"
    assert run_sync(sim, fresh).ok
    assert_same_mirror(db, fresh)


@pytest.mark.slow
def test_resume_does_not_redo_finished_pages(sim: Simulator, db: Path, tmp_path: Path) -> None:
    full = tmp_path / "full.db"
    assert run_sync(sim, full).ok
    pages_full = sim.request_counts()["GET /v1/spaces/:space/tickets"]
    sim.clear_log()

    sim.latency = 0.005
    process = sync_process(sim, db)
    # kill once some ticket pages are in
    deadline = time.monotonic() + 60
    while sim.request_counts()["GET /v1/spaces/:space/tickets"] < 3 and time.monotonic() < deadline:
        assert process.poll() is None
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    sim.latency = 0.0
    fetched_before_kill = sim.request_counts()["GET /v1/spaces/:space/tickets"]
    sim.clear_log()

    assert run_sync(sim, db).ok
    pages_resumed = sim.request_counts()["GET /v1/spaces/:space/tickets"]
    # each interrupted walk re-reads at most one page plus one top-up page
    assert pages_resumed <= pages_full - fetched_before_kill + 2 * 4
    assert_same_mirror(db, full)


@pytest.mark.slow
def test_twenty_random_kills_of_a_large_sync_converge(tmp_path: Path) -> None:
    """Kill a large sync at 20 seeded random points (each resumed run is killed again)."""
    world = World.generate(
        seed=99, scale=Scale.parse("small,tickets_per_space=700,tasks_per_space=400")
    )
    rng = random.Random(2024)
    db = tmp_path / "killed.db"
    with Simulator(world) as sim:
        sim.latency = 0.002
        kills = 0
        for _ in range(20):
            sim.clear_log()
            process = sync_process(sim, db)
            if not kill_after(sim, process, rng.randint(2, 30)):
                break  # this run finished before its kill point: the job is done
            kills += 1
            assert integrity(db) == "ok" if db.exists() else True
        assert kills == 20
        sim.latency = 0.0
        assert run_sync(sim, db).ok
        assert integrity(db) == "ok"
        fresh = tmp_path / "fresh.db"
        assert run_sync(sim, fresh).ok
        assert_same_mirror(db, fresh)
