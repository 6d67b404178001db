"""Failures a cron user meets end in one clear line (and a run record), never a traceback.

A database locked by another program, a full disk, several first syncs started
at once on a new database, a dry run over an odd stream, a bad ``--api-url`` or
``--db``, a database server that cannot be reached: each is run for real
(subprocesses, real SQLite files, the real PostgreSQL server, the simulator) and
must give one message on stderr and a non-zero exit, leaving the mirror
consistent for the next run. What is about a SQLite file (its locks, the file
size limit, file names) runs on SQLite; PostgreSQL has its own counterparts.
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
from sqlalchemy.engine import make_url

from assembla_mirror.cli import cli
from assembla_mirror.errors import StorageError
from assembla_mirror.simulator import RawJson, Simulator
from assembla_mirror.store import database
from tests.expected import Db, assert_same_mirror, reading, select_all
from tests.support import postgres_server_url, run_lock_held_elsewhere, run_sync
from tests.sync.test_sync_kill import integrity


@pytest.fixture
def env(sim: Simulator) -> dict[str, str]:
    """The environment a cron job would give ``mirror sync`` for the simulator."""
    return sim.client_environment()


def mirror(
    env: dict[str, str], *args: str, preexec_fn: Callable[[], None] | None = None
) -> subprocess.Popen[bytes]:
    """A ``mirror`` command in its own process, stderr captured."""
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
    """A ``mirror`` command run in this process (so monkeypatched settings apply)."""
    return CliRunner().invoke(cli, list(args), env=env)


def last_run(db: Db) -> tuple[str, str | None]:
    """The outcome and error of the mirror's last recorded run."""
    outcome, error = select_all(db, "SELECT outcome, error FROM sync_runs ORDER BY id DESC")[0]
    return outcome, error


def test_a_database_locked_by_another_program(
    sim: Simulator, db: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite only: another program's write transaction locks the file (PostgreSQL's
    counterpart is the next test)."""
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


def test_tables_locked_by_another_session_on_postgresql(
    sim: Simulator, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's counterpart of a locked file: another session (a migration, a long
    statement in psql) holds a lock on a mirrored table. The sync waits the busy
    timeout, then stops with one message naming the database, records the failure,
    and the next run completes."""
    from tests.support import fresh_postgres_mirror

    with fresh_postgres_mirror() as url:
        assert run_sync(sim, url).ok
        space = sim.world.spaces_of()[0].id
        ticket = next(iter(sim.world.state.spaces[space].tickets.values()))
        sim.world.update_ticket(space, ticket.number, summary="changed while locked")
        monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 200)
        with reading(url) as holder:
            holder.exec_driver_sql("LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE")
            result = invoke(env, "sync", "--db", url, "--quiet")
            holder.rollback()
        assert result.exit_code == 1, result.output
        assert isinstance(result.exception, SystemExit)
        assert "locked" in result.output
        assert str(database.database_target(url)) in result.output
        outcome, error = last_run(url)
        assert outcome == "failed"
        assert error is not None
        assert "locked" in error
        assert run_sync(sim, url).ok


def test_a_second_sync_is_refused_at_once_with_one_line(
    sim: Simulator, mirror_db: str, env: dict[str, str]
) -> None:
    """While another process holds the run lock (a file lock, or PostgreSQL's advisory
    lock), ``mirror sync`` stops at once with one line, asking Assembla nothing."""
    with run_lock_held_elsewhere(mirror_db):
        process = mirror(env, "sync", "--db", mirror_db, "--quiet")
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    line = one_clear_line(stderr)
    assert "already running" in line
    assert str(database.database_target(mirror_db)) in line
    assert sum(sim.request_counts().values()) == 0


def test_a_full_disk_stops_the_run_with_one_line(
    sim: Simulator, db: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """The file-size limit of the process makes every write past it fail, as a full disk does.

    SQLite only: a PostgreSQL server writes its own files, which no limit of the
    client's process reaches (its full disk is described from its SQLSTATE)."""

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


def test_three_first_syncs_at_once_on_a_new_database(
    sim: Simulator, mirror_db: str, env: dict[str, str], tmp_path: Path
) -> None:
    """One creates the mirror; the others are refused by the run lock (or, started after
    it ended, sync incrementally): never two creating the tables at once."""
    db = mirror_db
    processes = [mirror(env, "sync", "--db", db, "--quiet") for _ in range(3)]
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
    mirror_db: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)  # as on a machine without it
    result = invoke({**env, "ALL_PROXY": "socks5://127.0.0.1:1080"}, "sync", "--db", mirror_db)
    assert result.exit_code == 2
    assert "socksio" in result.output
    outcome, error = last_run(mirror_db)
    assert outcome == "failed"
    assert error is not None
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


#: A test's password, in URLs that cannot log in.
PASSWORD = "s3cret-Pa55"


def unusable_server_url(failure: str) -> str:
    """A URL with :data:`PASSWORD` that cannot be used: the test server on port 1 (nothing
    listens), or a database it does not have; skips without a server for the latter."""
    if failure == "unreachable port":
        return f"postgresql://root:{PASSWORD}@127.0.0.1:1/test"
    server = postgres_server_url()
    if server is None:
        from tests.support import POSTGRES_SKIP_REASON

        pytest.skip(POSTGRES_SKIP_REASON)
    url = make_url(server).set(password=PASSWORD, database="no_such_db")
    return url.render_as_string(hide_password=False)


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        ("unreachable port", "cannot reach the database server"),
        ("unknown database", 'database "no_such_db" does not exist'),
    ],
)
@pytest.mark.parametrize("command", [["sync", "--quiet"], ["sync", "--dry-run"], ["status"]])
def test_an_unusable_postgresql_server_is_one_clear_line_without_the_password(
    env: dict[str, str], failure: str, shown: str, command: list[str]
) -> None:
    url = unusable_server_url(failure)
    process = mirror(env, *command, "--db", url)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (1, 2)
    line = one_clear_line(stderr)
    assert shown in line
    assert str(database.database_target(url)) in line  # the URL, its password hidden
    assert PASSWORD not in stderr.decode()


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
    """SQLite only: about file names (a URL is told apart by its ``://``)."""
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
