"""``mirror status --format json`` and ``--max-age``: status for scripts and monitoring.

On SQLite and on PostgreSQL (``mirror_db``; the URL carries a made-up password the
test server ignores, which must appear nowhere in the output).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from assembla_mirror.cli import cli
from assembla_mirror.cli.base import parse_duration
from assembla_mirror.cli.display import format_age
from assembla_mirror.read.status import mirror_status
from assembla_mirror.simulator import Simulator
from assembla_mirror.store.database import create_engine_for
from assembla_mirror.store.runs import RUNS_TABLE
from assembla_mirror.store.target import database_target
from tests.expected import select_all
from tests.support import run_sync_in_process

#: The made-up password put in PostgreSQL URLs (the server ignores it: trust auth).
SECRET = "s3cret"
#: The keys of the JSON object, documented in the README.
KEYS = {
    "database", "account", "last_success", "staleness_seconds", "max_age_seconds", "stale",
    "switches", "files_dir", "files", "runs", "cursors", "totals",
}  # fmt: skip


def with_made_up_password(db: str) -> str:
    """``db`` with :data:`SECRET` as its password when it is a PostgreSQL URL."""
    if "://" not in db:
        return db
    return make_url(db).set(password=SECRET).render_as_string(hide_password=False)


@pytest.fixture
def synced(in_process_sim: Simulator, mirror_db: str) -> str:
    """A mirror of the small account, comments included, synced a moment ago."""
    db = with_made_up_password(mirror_db)
    assert run_sync_in_process(in_process_sim, db, with_comments=True).ok
    return db


def status(db: str, *args: str, columns: int = 80) -> Result:
    return CliRunner().invoke(cli, ["status", "--db", db, *args], env={"COLUMNS": str(columns)})


def assert_no_secret(*results: Result) -> None:
    for result in results:
        assert SECRET not in result.stdout
        assert SECRET not in result.stderr


def started_hours_ago(db: str, delta: timedelta) -> None:
    """Every run of ``db`` started ``delta`` ago (stored naive, in UTC)."""
    moment = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - delta
    engine = create_engine_for(db)
    try:
        with engine.begin() as conn:
            conn.execute(RUNS_TABLE.update().values(started_at=moment))
    finally:
        engine.dispose()


def test_json_has_the_mirror_under_stable_keys(synced: str, in_process_sim: Simulator) -> None:
    result = status(synced, "--format", "json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    shown = json.loads(result.stdout)
    assert set(shown) == KEYS
    assert shown["database"] == str(database_target(synced))
    if "://" in synced:
        assert shown["database"].startswith("postgresql://root:***@")
    assert shown["account"] == in_process_sim.credentials.login
    assert shown["switches"] == {"comments": True, "associations": False, "files": False}
    assert shown["files_dir"] is None
    last = datetime.fromisoformat(shown["last_success"])
    assert last.utcoffset() == timedelta(0)
    assert 0 <= shown["staleness_seconds"] < 120
    assert shown["stale"] is None
    assert shown["max_age_seconds"] is None

    totals = {
        table: select_all(synced, f"SELECT COUNT(*) FROM {table}")[0][0]
        for table in shown["totals"]
    }
    assert shown["totals"] == totals
    assert shown["totals"]["tickets"] == len(in_process_sim.world.truth().tickets) > 0
    assert shown["files"]["listed"] == totals["attachments"]
    assert set(shown["files"]) == {
        "listed", "listed_bytes", "downloaded", "downloaded_bytes", "contents", "pending",
        "pending_bytes",
    }  # fmt: skip

    (run,) = shown["runs"]
    assert run["outcome"] == "success"
    assert datetime.fromisoformat(run["started_at"]) == last
    assert datetime.fromisoformat(run["finished_at"]) >= last
    assert run["rows"]["tickets"]
    assert any(row["resource"] == "tickets" and row["cursor"] for row in shown["cursors"])
    assert {row["resource"] for row in shown["cursors"]} == {
        row[0] for row in select_all(synced, "SELECT resource FROM sync_state")
    }
    # The same as the library's, whose values the text shows.
    library = mirror_status(synced, runs=5).as_dict()
    assert {k: v for k, v in library.items() if k != "staleness_seconds"} == {
        k: v for k, v in shown.items() if k != "staleness_seconds"
    }
    assert_no_secret(result)


def test_max_age_passes_a_fresh_mirror(synced: str) -> None:
    fresh = status(synced, "--format", "json", "--max-age", "1h")
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stderr == ""
    shown = json.loads(fresh.stdout)
    assert shown["stale"] is False
    assert shown["max_age_seconds"] == 3600
    text = status(synced, "--max-age", "30")  # minutes
    assert text.exit_code == 0, text.output
    assert text.stderr == ""
    assert_no_secret(fresh, text)


def test_max_age_fails_a_stale_mirror_after_printing(synced: str) -> None:
    started_hours_ago(synced, timedelta(hours=3, minutes=12))
    line = "stale: last successful sync 3h 12m ago, more than 2h\n"

    result = status(synced, "--format", "json", "--max-age", "2h")
    assert result.exit_code == 2
    assert result.stderr == line
    shown = json.loads(result.stdout)
    assert shown["stale"] is True
    assert shown["max_age_seconds"] == 7200
    assert 3 * 3600 + 12 * 60 <= shown["staleness_seconds"] < 3 * 3600 + 14 * 60

    text = status(synced, "--max-age", "120m")
    assert text.exit_code == 2
    assert text.stderr == line
    assert "Last successful sync:" in text.stdout
    assert "(3h12m ago)" in text.stdout

    # Younger than the limit: fine.
    assert status(synced, "--max-age", "1d").exit_code == 0
    assert status(synced, "--max-age", "193m").exit_code == 0
    assert_no_secret(result, text)


def test_max_age_fails_a_mirror_never_synced_successfully(synced: str) -> None:
    engine = create_engine_for(synced)
    try:
        with engine.begin() as conn:
            conn.execute(RUNS_TABLE.update().values(outcome="failed", error="boom"))
    finally:
        engine.dispose()
    result = status(synced, "--format", "json", "--max-age", "1d")
    assert result.exit_code == 2
    assert result.stderr == "stale: never synced successfully\n"
    shown = json.loads(result.stdout)
    assert shown["last_success"] is None
    assert shown["staleness_seconds"] is None
    assert shown["stale"] is True
    assert shown["runs"][0]["outcome"] == "failed"
    assert shown["runs"][0]["error"] == "boom"

    text = status(synced, "--max-age", "45s")
    assert text.exit_code == 2
    assert text.stderr == "stale: never synced successfully\n"
    assert "Last successful sync: never" in text.stdout
    # Without --max-age, status reports and succeeds.
    assert status(synced).exit_code == 0
    assert_no_secret(result, text)


@pytest.mark.parametrize("bad", ["", "2x", "-5m", "1.5h", "h", "2 hours", "9" * 30, "36501d"])
def test_bad_durations_are_usage_errors(synced: str, bad: str) -> None:
    result = status(synced, "--max-age", bad)
    assert result.exit_code == 2
    assert "Invalid value for '--max-age'" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_bad_format_is_a_usage_error(synced: str) -> None:
    result = status(synced, "--format", "yaml")
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr


def ago_removed(text: str) -> str:
    """``text`` without the age (it may tick between two commands)."""
    return re.sub(r"\([0-9hms]+ ago\)", "(... ago)", text)


def test_text_format_is_unchanged(synced: str) -> None:
    default = status(synced)
    assert default.exit_code == 0, default.output
    assert default.stderr == ""
    lines = default.stdout.splitlines()
    assert lines[0] == "Mirror of account " + lines[0].split()[-1]
    assert lines[1] == f"Database: {database_target(synced)}"
    assert re.fullmatch(
        r"Last successful sync: \d{4}-\d\d-\d\d \d\d:\d\d UTC \(\d+s ago\)", lines[2]
    )
    assert lines[3] == "Comments mirrored: yes"
    assert lines[4] == "Also mirrored: no associations, no files"
    for args in (
        ["--format", "text"],
        ["--max-age", "1d"],
        ["--format", "text", "--max-age", "2h"],
    ):
        same = status(synced, *args)
        assert same.exit_code == 0
        assert ago_removed(same.stdout) == ago_removed(default.stdout)
    # The terminal's width changes nothing in the text.
    assert ago_removed(status(synced, columns=200).stdout) == ago_removed(default.stdout)
    assert_no_secret(default)


def test_help_fits_80_columns() -> None:
    result = CliRunner().invoke(cli, ["status", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "--format [text|json]" in result.stdout
    assert "--max-age DURATION" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45s", 45), ("90m", 5400), ("2h", 7200), ("1d", 86400), ("30", 1800), ("0s", 0),
     (" 2H ", 7200), ("5 m", 300)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0, "0s"), (45, "45s"), (125, "2m 5s"), (7200, "2h"), (11525, "3h 12m"), (5400, "1h 30m"),
     (86400, "1d"), (97200, "1d 3h"), (86460, "1d")],
)  # fmt: skip
def test_format_age(seconds: int, shown: str) -> None:
    assert format_age(seconds) == shown
