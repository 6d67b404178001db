"""Sync options and safety: --space, --only, comments, lock, readers, dry run, status, CLI.

What the options and safeguards do with the database (which rows a filtered or
comment-enabled sync stores, the run lock and its readers, a dry run writing
nothing, run records, status) is shown on SQLite and on PostgreSQL
(``mirror_db``); on PostgreSQL the URL carries a made-up password (the test
server trusts every connection), which must appear nowhere: output, plan,
errors, ``sync_runs``. Tests about credentials, prompts and request counts
stay on SQLite (``db``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from assembla_mirror.cli import cli
from assembla_mirror.errors import ConfigError, LockedError
from assembla_mirror.read.status import mirror_status
from assembla_mirror.simulator import Simulator
from assembla_mirror.store.target import database_target
from assembla_mirror.sync import SyncOptions, parse_only, sync
from assembla_mirror.sync.plan import plan_sync
from tests.expected import Db, assert_same_mirror, reading, select_all, select_bound
from tests.support import credentials_for, postgres_server_url, run_sync, settings_for

#: The made-up password put in PostgreSQL URLs (the server ignores it: trust auth).
SECRET = "s3cret"


def sim_env(sim: Simulator, db: Db) -> dict[str, str]:
    return {**sim.client_environment(), "ASSEMBLA_MIRROR_DB": str(db)}


def count(db: Db, sql: str, **binds: object) -> int:
    """The single number ``sql`` (named binds) returns on the mirror ``db``."""
    return int(select_bound(db, sql, **binds)[0][0])


def with_made_up_password(db: str) -> str:
    """``db`` with :data:`SECRET` as its password when it is a PostgreSQL URL."""
    if "://" not in db:
        return db
    return make_url(db).set(password=SECRET).render_as_string(hide_password=False)


def is_postgresql(db: Db) -> bool:
    return database_target(db).backend == "postgresql"


def shown_as(db: str) -> str:
    """How ``db`` is named to the user; a PostgreSQL URL's password shown as ``***``."""
    shown = str(database_target(db))
    if is_postgresql(db):
        assert SECRET in db  # the test does give a password ...
        assert shown.startswith("postgresql://root:***@127.0.0.1")  # ... which is hidden
    return shown


def assert_secret_nowhere(db: Db, *texts: object) -> None:
    """The password appears neither in ``texts`` nor in any column of ``sync_runs``."""
    for shown in texts:
        assert SECRET not in str(shown)
    for run in select_all(db, "SELECT * FROM sync_runs"):
        assert SECRET not in repr(run)


def database_absent(db: Db) -> bool:
    """Whether nothing was created for ``db``: no file, or no schema on the server."""
    target = database_target(db)
    if target.file is not None:
        return not target.file.exists()
    server = postgres_server_url()
    assert server is not None
    return not select_bound(
        server,
        "SELECT 1 FROM information_schema.schemata WHERE schema_name = :schema",
        schema=target.schema,
    )


def stored_state(db: Db) -> object:
    """Everything the database holds: a SQLite file's bytes; on PostgreSQL every row of
    every table of the mirror's schema (bookkeeping included)."""
    if database_target(db).file is not None:
        return Path(db).read_bytes()
    with reading(db) as conn:
        return {
            table: sorted(
                repr(tuple(row)) for row in conn.exec_driver_sql(f'SELECT * FROM "{table}"')
            )
            for table in inspect(conn).get_table_names()
        }


def read_without_waiting(db: Db) -> int:
    """The number of tickets, read by a reader that gives up after 0.1 s of waiting for
    a lock (SQLite's busy timeout; PostgreSQL's lock_timeout)."""
    if not is_postgresql(db):
        with sqlite3.connect(db, timeout=0.1) as reader:
            return int(reader.execute("SELECT count(*) FROM tickets").fetchone()[0])
    with reading(db) as conn:
        conn.exec_driver_sql("SET lock_timeout = '100ms'")
        return int(conn.execute(text("SELECT count(*) FROM tickets")).scalar_one())


def test_space_filter_by_name_wiki_name_or_id(sim: Simulator, mirror_db: str) -> None:
    db = mirror_db
    space = sim.world.truth().spaces[0]
    report = run_sync(sim, db, spaces=(space.name.upper(),))
    assert report.spaces == [space.name]
    assert count(db, "SELECT count(*) FROM tickets") > 0
    assert count(db, "SELECT count(*) FROM tickets WHERE space_id != :space", space=space.id) == 0
    assert count(db, "SELECT count(*) FROM tasks WHERE space_id != :space", space=space.id) == 0
    # the spaces list itself is always complete
    assert count(db, "SELECT count(*) FROM spaces") == len(sim.world.truth().spaces)
    assert run_sync(sim, db, spaces=(space.wiki_name,)).spaces == [space.name]
    assert run_sync(sim, db, spaces=(space.id,)).spaces == [space.name]


def test_unknown_space_is_a_clear_error(sim: Simulator, db: Path) -> None:
    """Refused before anything is written: SQLite only."""
    with pytest.raises(ConfigError, match="no space matches 'Nope'; the caller's spaces are"):
        run_sync(sim, db, spaces=("Nope",))


def test_only_some_resources(sim: Simulator, mirror_db: str) -> None:
    report = run_sync(sim, mirror_db, only=parse_only(["milestones,tasks"]))
    assert report.totals["milestones"] > 0
    assert report.totals["tasks"] > 0
    assert report.totals["tickets"] == 0
    assert report.totals["events"] == 0
    assert count(mirror_db, "SELECT count(*) FROM milestones") == report.totals["milestones"]
    assert count(mirror_db, "SELECT count(*) FROM tickets") == 0
    with pytest.raises(ConfigError, match="unknown resource 'bogus'"):
        parse_only(["tickets,bogus"])


def test_comments_are_opt_in_remembered_and_fetched_only_for_changed_tickets(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    db = mirror_db
    run_sync(sim, db)
    assert count(db, "SELECT count(*) FROM ticket_comments") == 0
    sim.clear_log()

    report = run_sync(sim, db, with_comments=True)  # first fill: one request per ticket
    truth = sim.world.truth()
    tickets = len(truth.tickets)
    assert sim.request_counts()["GET /v1/spaces/:space/tickets/:number/ticket_comments"] >= tickets
    assert report.totals["ticket_comments"] == len(truth.comments) > 0

    space = truth.tickets[0].space_id
    sim.world.add_comment(space, truth.tickets[0].number, "Ünïcode comment ✓")
    sim.clear_log()
    report = run_sync(sim, db)  # remembered without the flag
    assert sim.request_counts()["GET /v1/spaces/:space/tickets/:number/ticket_comments"] == 1
    assert report.changes["ticket_comments"]["inserted"] == 1

    fresh = tmp_path / "fresh.db"  # a SQLite file on both runs: the same mirror either way
    assert run_sync(sim, fresh, with_comments=True).ok
    assert_same_mirror(db, fresh)
    run_sync(sim, db, with_comments=False)
    sim.clear_log()
    sim.world.add_comment(space, truth.tickets[0].number, "not fetched")
    run_sync(sim, db)
    assert sim.request_counts()["GET /v1/spaces/:space/tickets/:number/ticket_comments"] == 0


def test_a_second_sync_fails_at_once_while_readers_keep_reading(
    sim: Simulator, mirror_db: str
) -> None:
    db = with_made_up_password(mirror_db)
    run_sync(sim, db)
    sim.world.clock.advance(1)
    for ticket in sim.world.truth().tickets[:30]:
        sim.world.update_ticket(ticket.space_id, ticket.number, summary="slow change")
    sim.latency = 0.05
    errors: list[BaseException] = []

    def first() -> None:
        try:
            run_sync(sim, db, full=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    runner = threading.Thread(target=first)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while count(db, "SELECT count(*) FROM sync_runs WHERE outcome = 'running'") == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(LockedError, match="already running") as refused:
            run_sync(sim, db)
        assert time.monotonic() - started < 2  # at once, not after the first one ends
        assert shown_as(db) in str(refused.value)
        assert SECRET not in str(refused.value)
        # a reader is not blocked by the running sync (WAL on SQLite, MVCC on PostgreSQL)
        assert read_without_waiting(db) > 0
    finally:
        runner.join()
        sim.latency = 0.0
    assert not errors


def test_dry_run_plans_without_writing(sim: Simulator, mirror_db: str) -> None:
    db = with_made_up_password(mirror_db)
    plan = plan_sync(SyncOptions(db_path=db), settings_for(sim), credentials_for(sim))
    assert database_absent(db)  # not even created
    assert plan.database == shown_as(db)  # on PostgreSQL: user:***@host
    assert SECRET not in repr(plan)
    resources = {item.resource for item in plan.items}
    assert {"tickets", "tasks", "milestones"} <= resources
    actual = run_sync(sim, db)
    # the estimate is close to what the first sync really costs
    assert abs(plan.requests - actual.requests) <= 0.25 * actual.requests

    before = stored_state(db)
    sim.world.update_ticket(
        sim.world.truth().tickets[0].space_id, sim.world.truth().tickets[0].number, priority=1
    )
    plan = plan_sync(SyncOptions(db_path=db), settings_for(sim), credentials_for(sim))
    assert [(i.resource, i.mode) for i in plan.items if i.resource == "tickets"] == [
        ("tickets", "incremental")
    ]
    assert plan.requests <= 6
    assert stored_state(db) == before
    assert plan.seconds_at_limit is None  # the simulator settings have no pacing
    assert_secret_nowhere(db, repr(plan), actual.warnings, actual.notes)


def test_status_reports_runs_cursors_and_counts(sim: Simulator, mirror_db: str) -> None:
    db = with_made_up_password(mirror_db)
    run_sync(sim, db)
    status = mirror_status(db)
    assert status.database == shown_as(db)
    assert status.account == sim.credentials.login
    assert status.runs[0]["outcome"] == "success"
    assert status.totals["tickets"] == len(sim.world.truth().tickets)
    assert any(row["resource"] == "tickets" and row["cursor"] for row in status.cursors)
    assert status.staleness_seconds is not None
    assert 0 <= status.staleness_seconds < 60
    assert SECRET not in repr(status)


def test_cli_sync_status_and_dry_run(
    sim: Simulator, mirror_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = with_made_up_password(mirror_db)  # given in ASSEMBLA_MIRROR_DB
    for key, value in sim_env(sim, db).items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    dry = runner.invoke(cli, ["sync", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Estimated:" in dry.output
    assert f"wrote nothing to {shown_as(db)}." in dry.output
    assert database_absent(db)

    result = runner.invoke(cli, ["sync"])
    assert result.exit_code == 0, result.output
    assert "Synced 4 space(s)" in result.output
    assert "tickets" in result.output

    quiet = runner.invoke(cli, ["sync", "--quiet"])
    assert quiet.exit_code == 0
    assert quiet.output == ""

    status = runner.invoke(cli, ["status"])
    assert status.exit_code == 0
    assert "Last successful sync" in status.output
    assert shown_as(db) in status.output

    bad = runner.invoke(cli, ["sync", "--only", "nonsense"])
    assert bad.exit_code == 2
    assert "unknown resource" in bad.output
    assert_secret_nowhere(db, dry.output, result.output, status.output, bad.output)


def test_cli_reports_auth_failure_cleanly(
    sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """About Assembla's credentials: SQLite only."""
    for key, value in sim_env(sim, db).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ASSEMBLA_API_SECRET", "wrong-secret-value")
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1
    assert "ASSEMBLA_API_KEY" in result.output
    assert "wrong-secret-value" not in result.output
    assert "Traceback" not in result.output


def test_a_mirror_of_another_account_is_refused(sim: Simulator, db: Path) -> None:
    """The check reads one stored value, the same on both databases: SQLite only."""
    run_sync(sim, db)
    with reading(db) as conn:
        conn.execute(text("UPDATE mirror_meta SET value = 'someone-else' WHERE key = 'caller_id'"))
        conn.commit()
    with pytest.raises(ConfigError, match="use another --db"):
        run_sync(sim, db)


def test_sync_runs_record_failures(sim: Simulator, mirror_db: str) -> None:
    db = with_made_up_password(mirror_db)
    run_sync(sim, db)
    sim.faults.enqueue("500", count=50, path_prefix="/v1/activity")
    settings = settings_for(sim, max_attempts=2)
    with pytest.raises(Exception, match="activity") as failure:
        sync(SyncOptions(db_path=db), settings, credentials_for(sim))
    outcome, error = select_all(
        db, "SELECT outcome, error FROM sync_runs ORDER BY id DESC LIMIT 1"
    )[0]
    assert outcome == "failed"
    assert "/v1/activity" in error
    assert os.environ.get("ASSEMBLA_API_SECRET") is None
    assert_secret_nowhere(db, failure.value)


def test_no_credentials_is_a_clear_error_that_creates_nothing(mirror_db: str) -> None:
    db = with_made_up_password(mirror_db)
    result = CliRunner().invoke(cli, ["sync", "--db", db])
    assert result.exit_code == 1
    assert "no Assembla credentials: set ASSEMBLA_API_KEY and ASSEMBLA_API_SECRET" in result.output
    assert SECRET not in result.output
    assert database_absent(db)


def test_comment_cost_is_announced_before_any_comment_is_fetched(sim: Simulator, db: Path) -> None:
    """The order of a note and requests: SQLite only."""
    run_sync(sim, db)
    seen_at_note: list[int] = []

    class Recorder:
        def begin(self, key: str, label: str, total: int | None = None) -> None: ...
        def advance(self, key: str, items: int = 0) -> None: ...
        def end(self, key: str) -> None: ...

        def note(self, message: str) -> None:
            if message.startswith("comments:"):
                counts = sim.request_counts()
                seen_at_note.append(counts["GET /v1/spaces/:space/tickets/:number/ticket_comments"])

    options = SyncOptions(db_path=db, with_comments=True)
    report = sync(options, settings_for(sim), credentials_for(sim), progress=Recorder())
    tickets = report.totals["tickets"]
    assert seen_at_note == [0]
    assert any(f"{tickets:,} for the tickets already mirrored" in note for note in report.notes)


def test_cli_asks_before_paying_for_comments(
    sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prompt: SQLite only."""
    from assembla_mirror.cli.sync import confirm_fill_cost

    run_sync(sim, db)
    options = SyncOptions(db_path=db, with_comments=True)
    settings = settings_for(sim).with_(rate_limit="240/20")
    for key, value in sim_env(sim, db).items():
        monkeypatch.setenv(key, value)

    @click.command()
    def ask() -> None:
        confirm_fill_cost(options, settings, ["comments"])

    declined = CliRunner().invoke(ask, input="n\n")
    assert declined.exit_code == 1  # aborted
    assert "one per ticket" in declined.output
    assert "at the rate limit" in declined.output
    assert count(db, "SELECT count(*) FROM ticket_comments") == 0


def test_mirror_sync_from_python(sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``Mirror.sync`` runs the same sync as above: SQLite only."""
    from assembla_mirror import Mirror

    for key, value in sim_env(sim, db).items():
        monkeypatch.setenv(key, value)
    run_sync(sim, db)
    space = sim.world.truth().tickets[0].space_id
    number = sim.world.truth().tickets[0].number
    sim.world.update_ticket(space, number, summary="changed, then synced from Python")
    with Mirror(db) as m:
        report = m.sync()
        assert report.ok
        assert report.changes["tickets"]["updated"] == 1
        mirrored = m.space(id=space)
        assert mirrored is not None
        ticket = mirrored.ticket(number=number)
        assert ticket is not None
        assert ticket.summary == "changed, then synced from Python"
