"""A sync killed with SIGKILL at any point leaves a consistent mirror the next run completes.

The kills hit real ``mirror sync`` processes (``--db`` a SQLite file, or a
PostgreSQL URL): each page and its checkpoint commit in one transaction on
both databases, so whatever instant the kill lands on, the next run resumes
and ends with the mirror a fresh sync makes. On PostgreSQL the killed run's
advisory lock must also be released by the server, and a reader is never
blocked by a sync that writes; and the server may be the one to cut a run short
(a restart, an administrator ending its sessions): one clear line, the failure
recorded, and the next run resumes.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.store.target import database_target
from tests.expected import Db, assert_same_mirror, reading, select_all
from tests.support import (
    fresh_postgres_mirror,
    postgres_server_url,
    run_sync,
    wait_for_run_lock,
)


def sync_process(sim: Simulator, db: Db, *options: str) -> subprocess.Popen[bytes]:
    """``mirror sync`` in its own process, credentials in its environment (never argv)."""
    env = {**os.environ, **sim.client_environment()}
    return subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", "sync", "--db", str(db), "--quiet", *options],
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
            kill(process)
            return True
        time.sleep(0.002)
    process.kill()
    raise AssertionError("the sync neither progressed nor ended")


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL ``process`` and reap it."""
    process.send_signal(signal.SIGKILL)
    process.wait()
    if process.stderr is not None:
        process.stderr.close()


def is_file(db: Db) -> bool:
    """Whether ``db`` names a SQLite file (else a PostgreSQL URL)."""
    return "://" not in str(db)


def integrity(db: Db) -> str:
    """``PRAGMA integrity_check`` of a SQLite file ("ok" when sound). On PostgreSQL the
    server keeps its files sound itself; what a kill may break there is the mirror's
    content, which the tests compare with a fresh sync, so this is "ok" there."""
    if not is_file(db):
        return "ok"
    # Closed at once: a connection left open would lose its POSIX locks when this process
    # next closes another descriptor of the file (``wait_for_run_lock`` does), and a
    # sync would then take it for gone, with the WAL under it.
    with closing(sqlite3.connect(db)) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def mirror_exists(db: Db) -> bool:
    """Whether the killed run got as far as creating the mirror (a file, or its tables)."""
    if is_file(db):
        return Path(db).exists()
    return bool(
        select_all(
            db,
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_name = 'sync_runs'",
        )
    )


def after_kill(db: Db) -> None:
    """What must hold the moment a sync was killed: a sound database, and the run lock
    free again (a PostgreSQL server ends the killed session, and with it its advisory
    lock, a moment after the socket closes; ``wait_for_run_lock`` allows it 10 s)."""
    if mirror_exists(db):
        assert integrity(db) == "ok"
    wait_for_run_lock(db)


@pytest.mark.slow
def test_a_sync_killed_while_reading_comments_resumes_to_the_same_history(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    # Comments and the changes they record commit together: whatever the kill leaves,
    # the next run ends with the history a fresh sync with comments records.
    sim.latency = 0.005
    process = sync_process(sim, mirror_db, "--with", "comments", "--yes")
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        read = sum(r.endpoint.endswith("/ticket_comments") for r in sim.request_log)
        if read >= 40:
            kill(process)
            break
        time.sleep(0.002)
    sim.latency = 0.0
    assert process.returncode == -signal.SIGKILL, "the sync ended before the kill point"
    after_kill(mirror_db)

    assert run_sync(sim, mirror_db).ok  # comments are remembered
    fresh = tmp_path / "fresh.db"
    assert run_sync(sim, fresh, with_comments=True).ok
    assert select_all(fresh, "SELECT count(*) FROM ticket_changes") != [(0,)]
    assert_same_mirror(mirror_db, fresh)


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", [3, 8, 20, 45, 90])
def test_killed_sync_resumes_to_the_same_mirror(
    sim: Simulator, mirror_db: str, tmp_path: Path, kill_at: int
) -> None:
    sim.latency = 0.005  # slow enough to land the kill inside the run
    process = sync_process(sim, mirror_db)
    killed = kill_after(sim, process, kill_at)
    sim.latency = 0.0
    assert killed, "the sync finished before the kill point; lower kill_at"
    after_kill(mirror_db)

    sim.clear_log()
    report = run_sync(sim, mirror_db)

    assert report.ok
    assert integrity(mirror_db) == "ok"
    outcomes = [
        row[0] for row in select_all(mirror_db, "SELECT outcome FROM sync_runs ORDER BY id")
    ]
    assert outcomes[-1] == "success"
    if len(outcomes) > 1:
        assert outcomes[0] == "interrupted"
    fresh = tmp_path / "fresh.db"
    assert run_sync(sim, fresh).ok
    assert_same_mirror(mirror_db, fresh)


@pytest.mark.slow
def test_resume_does_not_redo_finished_pages(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    full = tmp_path / "full.db"
    assert run_sync(sim, full).ok
    pages_full = sim.request_counts()["GET /v1/spaces/:space/tickets"]
    sim.clear_log()

    sim.latency = 0.005
    process = sync_process(sim, mirror_db)
    # kill once some ticket pages are in
    deadline = time.monotonic() + 60
    while sim.request_counts()["GET /v1/spaces/:space/tickets"] < 3 and time.monotonic() < deadline:
        assert process.poll() is None
        time.sleep(0.002)
    kill(process)
    sim.latency = 0.0
    fetched_before_kill = sim.request_counts()["GET /v1/spaces/:space/tickets"]
    after_kill(mirror_db)
    sim.clear_log()

    assert run_sync(sim, mirror_db).ok
    pages_resumed = sim.request_counts()["GET /v1/spaces/:space/tickets"]
    # each interrupted walk re-reads at most one page plus one top-up page
    assert pages_resumed <= pages_full - fetched_before_kill + 2 * 4
    assert_same_mirror(mirror_db, full)


@pytest.mark.slow
def test_twenty_random_kills_of_a_large_sync_converge(mirror_db: str, tmp_path: Path) -> None:
    """Kill a large sync at 20 seeded random points (each resumed run is killed again)."""
    world = World.generate(
        seed=99, scale=Scale.parse("small,tickets_per_space=700,tasks_per_space=400")
    )
    rng = random.Random(2024)
    with Simulator(world) as sim:
        sim.latency = 0.002
        kills = 0
        for _ in range(20):
            sim.clear_log()
            process = sync_process(sim, mirror_db)
            if not kill_after(sim, process, rng.randint(2, 30)):
                break  # this run finished before its kill point: the job is done
            kills += 1
            after_kill(mirror_db)
        assert kills == 20
        sim.latency = 0.0
        assert run_sync(sim, mirror_db).ok
        assert integrity(mirror_db) == "ok"
        fresh = tmp_path / "fresh.db"
        assert run_sync(sim, fresh).ok
        assert_same_mirror(mirror_db, fresh)


@pytest.mark.slow
def test_a_reader_is_never_blocked_by_a_running_sync(sim: Simulator, mirror_db: str) -> None:
    """While a ``mirror sync`` process writes page after page, every read of the mirror
    answers at once (SQLite's WAL, PostgreSQL's MVCC: a team's dashboards keep working)."""
    assert run_sync(sim, mirror_db).ok  # a mirror to read (and a run to redo with --full)
    sim.latency = 0.01
    process = subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", "sync", "--db", mirror_db, "--quiet", "--full"],
        env={**os.environ, **sim.client_environment()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        reads, slowest = 0, 0.0
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            started = time.monotonic()
            rows = select_all(
                mirror_db, "SELECT count(*) FROM tickets UNION ALL SELECT count(*) FROM sync_runs"
            )
            slowest = max(slowest, time.monotonic() - started)
            reads += 1
            assert rows[0][0] > 0
            time.sleep(0.02)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            kill(process)
    sim.latency = 0.0
    assert process.returncode == 0, stderr.decode()
    assert reads >= 5, "the sync ended before the reads could overlap it"
    assert slowest < 2.0, f"a read waited {slowest:.1f} s for the sync"


def server_connections_of(pid: int, server_port: int) -> list[int]:
    """The local ports of the TCP connections process ``pid`` has open to ``server_port``
    (Linux: its socket descriptors, matched in ``/proc/PID/net/tcp``)."""
    sockets = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(descriptor)
        except OSError:
            continue  # closed since the listing
        if link.startswith("socket:["):
            sockets.add(link[len("socket:[") : -1])
    ports = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in sockets and int(remote.rsplit(":", 1)[1], 16) == server_port:
                ports.append(int(local.rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux's /proc")
def test_a_sync_whose_server_sessions_end_stops_clearly_and_resumes(
    sim: Simulator, tmp_path: Path
) -> None:
    """PostgreSQL only: the server ends every session of a running ``mirror sync`` (as a
    restart does). The sync stops with one line naming the database, not a traceback
    (the run lock's session is gone too, and releasing it must not fail over that),
    records the failure, and the next run completes the mirror."""
    with fresh_postgres_mirror() as url:
        server = postgres_server_url()
        assert server is not None
        sim.latency = 0.01
        process = sync_process(sim, url)
        deadline = time.monotonic() + 60
        while len(sim.request_log) < 30 and time.monotonic() < deadline:
            assert process.poll() is None, "the sync ended before its sessions could be ended"
            time.sleep(0.005)
        ports = server_connections_of(process.pid, make_url(server).port or 5432)
        assert len(ports) >= 2  # the run lock's session, and the sync's
        with reading(server) as admin:
            ended = admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE client_port = ANY(:ports) AND client_addr = '127.0.0.1'"
                ),
                {"ports": ports},
            ).all()
        assert [row[0] for row in ended] == [True] * len(ports)
        _, stderr = process.communicate(timeout=60)
        sim.latency = 0.0

        assert process.returncode == 1
        message = stderr.decode()
        assert "Traceback" not in message, message
        lines = [line for line in message.splitlines() if line.strip()]
        assert len(lines) == 1, message
        assert "cannot reach the database server" in lines[0]
        assert str(database_target(url)) in lines[0]
        outcome, error = select_all(url, "SELECT outcome, error FROM sync_runs")[-1]
        assert outcome == "failed"
        assert "cannot reach the database server" in error

        wait_for_run_lock(url)
        assert run_sync(sim, url).ok
        fresh = tmp_path / "fresh.db"
        assert run_sync(sim, fresh).ok
        assert_same_mirror(url, fresh)
