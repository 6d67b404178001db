"""Sync options and safety: --space, --only, comments, lock, readers, dry run, status, CLI."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from assembla_mirror.cli import cli
from assembla_mirror.errors import ConfigError, LockedError
from assembla_mirror.read.status import mirror_status
from assembla_mirror.simulator import Simulator
from assembla_mirror.sync import SyncOptions, parse_only, sync
from assembla_mirror.sync.plan import plan_sync
from tests.expected import assert_same_mirror
from tests.support import credentials_for, run_sync, settings_for


def sim_env(sim: Simulator, db: Path) -> dict[str, str]:
    return {**sim.client_environment(), "ASSEMBLA_MIRROR_DB": str(db)}


def count(db: Path, sql: str, *params: object) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql, params).fetchone()[0])


def test_space_filter_by_name_wiki_name_or_id(sim: Simulator, db: Path) -> None:
    space = sim.world.truth().spaces[0]
    report = run_sync(sim, db, spaces=(space.name.upper(),))
    assert report.spaces == [space.name]
    assert count(db, "SELECT count(DISTINCT space_id) FROM tickets") <= 1
    assert count(db, "SELECT count(*) FROM tickets WHERE space_id != ?", space.id) == 0
    assert count(db, "SELECT count(*) FROM tasks WHERE space_id != ?", space.id) == 0
    # the spaces list itself is always complete
    assert count(db, "SELECT count(*) FROM spaces") == len(sim.world.truth().spaces)
    assert run_sync(sim, db, spaces=(space.wiki_name,)).ok
    assert run_sync(sim, db, spaces=(space.id,)).ok


def test_unknown_space_is_a_clear_error(sim: Simulator, db: Path) -> None:
    with pytest.raises(ConfigError, match="no space matches 'Nope'; the caller's spaces are"):
        run_sync(sim, db, spaces=("Nope",))


def test_only_some_resources(sim: Simulator, db: Path) -> None:
    report = run_sync(sim, db, only=parse_only(["milestones,tasks"]))
    assert report.totals["milestones"] > 0
    assert report.totals["tasks"] > 0
    assert report.totals["tickets"] == 0
    assert report.totals["events"] == 0
    with pytest.raises(ConfigError, match="unknown resource 'bogus'"):
        parse_only(["tickets,bogus"])


def test_comments_are_opt_in_remembered_and_fetched_only_for_changed_tickets(
    sim: Simulator, db: Path, tmp_path: Path
) -> None:
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

    fresh = tmp_path / "fresh.db"
    assert run_sync(sim, fresh, with_comments=True).ok
    assert_same_mirror(db, fresh)
    run_sync(sim, db, with_comments=False)
    sim.clear_log()
    sim.world.add_comment(space, truth.tickets[0].number, "not fetched")
    run_sync(sim, db)
    assert sim.request_counts()["GET /v1/spaces/:space/tickets/:number/ticket_comments"] == 0


def test_a_second_sync_fails_at_once_while_readers_keep_reading(sim: Simulator, db: Path) -> None:
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
        with pytest.raises(LockedError, match="already running"):
            run_sync(sim, db)
        assert time.monotonic() - started < 2  # at once, not after the first one ends
        # a reader is not blocked by the running sync (WAL)
        with sqlite3.connect(db, timeout=0.1) as reader:
            assert reader.execute("SELECT count(*) FROM tickets").fetchone()[0] > 0
    finally:
        runner.join()
        sim.latency = 0.0
    assert not errors


def test_dry_run_plans_without_writing(sim: Simulator, db: Path) -> None:
    plan = plan_sync(SyncOptions(db_path=db), settings_for(sim), credentials_for(sim))
    assert not db.exists()  # not even created
    resources = {item.resource for item in plan.items}
    assert {"tickets", "tasks", "milestones"} <= resources
    actual = run_sync(sim, db)
    # the estimate is close to what the first sync really costs
    assert abs(plan.requests - actual.requests) <= 0.25 * actual.requests

    before = db.read_bytes()
    sim.world.update_ticket(
        sim.world.truth().tickets[0].space_id, sim.world.truth().tickets[0].number, priority=1
    )
    plan = plan_sync(SyncOptions(db_path=db), settings_for(sim), credentials_for(sim))
    assert [(i.resource, i.mode) for i in plan.items if i.resource == "tickets"] == [
        ("tickets", "incremental")
    ]
    assert plan.requests <= 6
    assert db.read_bytes() == before
    assert plan.seconds_at_limit is None  # the simulator settings have no pacing


def test_status_reports_runs_cursors_and_counts(sim: Simulator, db: Path) -> None:
    run_sync(sim, db)
    status = mirror_status(db)
    assert status.account == sim.credentials.login
    assert status.runs[0]["outcome"] == "success"
    assert status.totals["tickets"] == len(sim.world.truth().tickets)
    assert any(row["resource"] == "tickets" and row["cursor"] for row in status.cursors)
    assert status.staleness_seconds is not None
    assert status.staleness_seconds < 60


def test_cli_sync_status_and_dry_run(
    sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sim_env(sim, db).items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    dry = runner.invoke(cli, ["sync", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Estimated:" in dry.output
    assert "wrote nothing" in dry.output

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

    bad = runner.invoke(cli, ["sync", "--only", "nonsense"])
    assert bad.exit_code == 2
    assert "unknown resource" in bad.output


def test_cli_reports_auth_failure_cleanly(
    sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sim_env(sim, db).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ASSEMBLA_API_SECRET", "wrong-secret-value")
    result = CliRunner().invoke(cli, ["sync"])
    assert result.exit_code == 1
    assert "ASSEMBLA_API_KEY" in result.output
    assert "wrong-secret-value" not in result.output
    assert "Traceback" not in result.output


def test_a_mirror_of_another_account_is_refused(sim: Simulator, db: Path) -> None:
    run_sync(sim, db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE mirror_meta SET value = 'someone-else' WHERE key = 'caller_id'")
    with pytest.raises(ConfigError, match="use another --db"):
        run_sync(sim, db)


def test_sync_runs_record_failures(sim: Simulator, db: Path) -> None:
    run_sync(sim, db)
    sim.faults.enqueue("500", count=50, path_prefix="/v1/activity")
    settings = settings_for(sim, max_attempts=2)
    with pytest.raises(Exception, match="activity"):
        sync(SyncOptions(db_path=db), settings, credentials_for(sim))
    with sqlite3.connect(db) as conn:
        outcome, error = conn.execute(
            "SELECT outcome, error FROM sync_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert outcome == "failed"
    assert "/v1/activity" in error
    assert os.environ.get("ASSEMBLA_API_SECRET") is None


def test_no_credentials_is_a_clear_error_that_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    result = CliRunner().invoke(cli, ["sync", "--db", str(db)])
    assert result.exit_code == 1
    assert "no Assembla credentials: set ASSEMBLA_API_KEY and ASSEMBLA_API_SECRET" in result.output
    assert not db.exists()


def test_comment_cost_is_announced_before_any_comment_is_fetched(sim: Simulator, db: Path) -> None:
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
    from assembla_mirror.cli.sync import confirm_comment_cost

    run_sync(sim, db)
    options = SyncOptions(db_path=db, with_comments=True)
    settings = settings_for(sim).with_(rate_limit="240/20")
    for key, value in sim_env(sim, db).items():
        monkeypatch.setenv(key, value)

    @click.command()
    def ask() -> None:
        confirm_comment_cost(options, settings)

    declined = CliRunner().invoke(ask, input="n\n")
    assert declined.exit_code == 1  # aborted
    assert "one per ticket" in declined.output
    assert "at the rate limit" in declined.output
    assert count(db, "SELECT count(*) FROM ticket_comments") == 0


def test_mirror_sync_from_python(sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
