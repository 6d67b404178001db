"""Failures a cron user meets end in one clear line (and a run record), never a traceback.

A database locked by another program, a full disk, several first syncs started
at once on a new file, a dry run over an odd stream, a bad ``--api-url`` or
``--db``: each is run for real (subprocesses, real SQLite files, the simulator)
and must give one message on stderr and a non-zero exit, leaving the mirror
consistent for the next run.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from assembla_mirror.cli import cli
from assembla_mirror.errors import StorageError
from assembla_mirror.simulator import RawJson, Simulator
from assembla_mirror.store import database
from tests.expected import assert_same_mirror
from tests.support import run_sync


@pytest.fixture
def env(sim: Simulator) -> dict[str, str]:
    """The environment a cron job would give ``mirror sync`` for the simulator."""
    return sim.client_environment()


def mirror(
    env: dict[str, str], *args: str, preexec_fn: Callable[[], None] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "assembla_mirror", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=preexec_fn,
    )


def one_clear_line(stderr: bytes) -> str:
    """The single message line of a failed command (no traceback)."""
    text = stderr.decode()
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def integrity(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_a_database_locked_by_another_program(
    sim: Simulator, db: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run_sync(sim, db).ok
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = invoke(env, "sync", "--db", str(db), "--quiet")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "locked" in result.output
    assert str(db) in result.output
    assert run_sync(sim, db).ok


def test_a_full_disk_stops_the_run_with_one_line(
    sim: Simulator, db: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """The file-size limit of the process makes every write past it fail, as a full disk does."""

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, resource.RLIM_INFINITY))

    process = mirror(env, "sync", "--db", str(db), "--quiet", preexec_fn=limited)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    line = one_clear_line(stderr)
    assert str(db) in line
    assert "full" in line or "size limit" in line
    assert integrity(db) == "ok"
    assert run_sync(sim, db).ok  # the next run completes it
    fresh = tmp_path / "fresh.db"
    assert run_sync(sim, fresh).ok
    assert_same_mirror(db, fresh)


def test_three_first_syncs_at_once_on_a_new_file(
    sim: Simulator, db: Path, env: dict[str, str], tmp_path: Path
) -> None:
    processes = [mirror(env, "sync", "--db", str(db), "--quiet") for _ in range(3)]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else b"") for p in processes]
    assert [code for code, _ in outcomes].count(0) >= 1
    for code, stderr in outcomes:
        if code != 0:
            assert code == 1
            assert "already running" in one_clear_line(stderr)
    assert integrity(db) == "ok"
    fresh = tmp_path / "fresh.db"
    assert run_sync(sim, fresh).ok
    assert_same_mirror(db, fresh)


def test_a_dry_run_over_an_event_date_beyond_year_9999(
    sim: Simulator, db: Path, env: dict[str, str]
) -> None:
    assert run_sync(sim, db).ok
    space = sim.world.spaces_of()[0].id
    event = sim.world.inject_event(space, date=datetime.now(UTC))
    sim.world.corrupt("event", event, date="9999-12-31T23:59:59-01:00")
    result = invoke(env, "sync", "--db", str(db), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Estimated:" in result.output
    report = run_sync(sim, db)
    assert report.ok
    assert any("skipped event" in warning and "'date'" in warning for warning in report.warnings)


def test_a_proxy_that_cannot_be_used_is_recorded(
    sim: Simulator, db: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)  # as on a machine without it
    result = invoke({**env, "ALL_PROXY": "socks5://127.0.0.1:1080"}, "sync", "--db", str(db))
    assert result.exit_code == 2
    assert "socksio" in result.output
    with sqlite3.connect(db) as conn:
        outcome, error = conn.execute("SELECT outcome, error FROM sync_runs").fetchone()
    assert outcome == "failed"
    assert "socksio" in error


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["--api-url", "http://127.0.0.1:abc"], "invalid port 'abc'"),
        (["--db", ":memory:"], ":memory: would keep the mirror nowhere"),
        (["--db", "/dev/null"], "not a file"),
        (["--rate-limit", "99999999999999999999/1"], "rate limit"),
        (["--db", "no/such/dir/m.db"], "does not exist"),
    ],
)
def test_unusable_command_line_values_are_one_clear_line(
    env: dict[str, str], args: list[str], shown: str
) -> None:
    process = mirror(env, "sync", *args)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (1, 2)
    assert shown in one_clear_line(stderr)


def test_storage_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    error = database.describe_database_error(sqlite3.OperationalError("database is locked"), path)
    assert isinstance(error, StorageError)
    assert str(path) in str(error)


def test_mirror_get_all_prints_a_record_nested_too_deeply_as_received(
    sim: Simulator, env: dict[str, str]
) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    ticket = next(iter(sim.world.state.spaces[sim.world.spaces_of()[0].id].tickets.values()))
    sim.world.corrupt("ticket", (ticket.space_id, ticket.number), custom_fields=RawJson(deep))
    path = f"/v1/spaces/{ticket.space_id}/tickets"
    process = subprocess.run(
        [sys.executable, "-m", "assembla_mirror", "get", path, "-p", "report=0", "--all"],
        env={**os.environ, **env},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    assert "nested too deeply to pretty-print" in one_clear_line(process.stderr)
    assert deep.encode() in process.stdout
    assert process.stdout.count(b'"summary":') >= 2  # the other tickets, pretty-printed


@pytest.mark.parametrize("name", ["weird?name.db", "pct%20name.db", "hash#name.db"])
def test_a_db_path_is_taken_literally(
    sim: Simulator, env: dict[str, str], tmp_path: Path, name: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "assembla_mirror", "sync", "--db", name, "--quiet"],
        env={**os.environ, **env},
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(name + "-")) == [name]
    assert integrity(tmp_path / name) == "ok"
