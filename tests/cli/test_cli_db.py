"""``mirror db copy`` through click's CliRunner (and a pseudo-terminal for its progress):
the summary, the copy in use (``mirror search``, ``mirror status``), refusals, ``--quiet``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.engine import make_url

from assembla_mirror.cli import cli
from tests.cli.test_reliability_cli import ANSI_ESCAPE, in_terminal, terminal_env
from tests.read.use_mirror import SyncedAccount, rows
from tests.support import fresh_postgres_mirror


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def assert_refused(result: Result, *fragments: str) -> None:
    """Status 1 and one line, ``Error: ...`` naming ``fragments``; no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def same_status(text: str) -> str:
    """``mirror status`` without how long ago the last sync was (seconds pass between two)."""
    return re.sub(r"\([^()]* ago\)", "(... ago)", text)


@pytest.fixture
def source(synced_account: SyncedAccount) -> str:
    """The shared synced mirror (a copy only reads it)."""
    return str(synced_account.path)


def test_the_summary_names_both_ends_and_counts_rows_per_table(source: str, tmp_path: Path) -> None:
    destination = str(tmp_path / "copy.db")

    result = invoke("db", "copy", source, destination)

    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # piped: no progress display
    lines = result.stdout.splitlines()
    tickets = rows(Path(source), "SELECT count(*) FROM tickets")[0][0]
    comments = rows(Path(source), "SELECT count(*) FROM ticket_comments")[0][0]
    assert re.fullmatch(
        rf"Copied {re.escape(source)} to {re.escape(destination)} in [\d.]+ s: [\d,]+ rows\.",
        lines[0],
    )
    assert re.search(rf"^tickets +{tickets:,}$", result.stdout, re.MULTILINE)
    assert re.search(rf"^ticket_comments +{comments:,}$", result.stdout, re.MULTILINE)
    assert "search_pending" not in result.stdout
    assert f"Search index rebuilt: {tickets + comments:,} tickets and comments." in lines
    assert lines[-1] == "Checkpoints copied: the next sync of the copy is incremental."


def test_the_copy_searches_and_reports_its_runs_like_the_source(
    source: str, tmp_path: Path
) -> None:
    destination = str(tmp_path / "copy.db")
    assert invoke("db", "copy", source, destination).exit_code == 0

    summary = rows(Path(source), "SELECT summary FROM tickets ORDER BY id LIMIT 3")
    for (text,) in summary:
        word = text.split()[0]
        on_source = invoke("search", word, "--db", source)
        on_copy = invoke("search", word, "--db", destination)
        assert on_source.exit_code == 0, on_source.output
        assert on_copy.stdout == on_source.stdout
        assert on_copy.stdout.count("\n") > 2  # found something

    on_source = invoke("status", "--db", source)
    on_copy = invoke("status", "--db", destination)
    assert on_copy.exit_code == 0, on_copy.output
    assert same_status(on_copy.stdout.replace(destination, source)) == same_status(on_source.stdout)
    assert "success" in on_copy.stdout


def test_quiet_prints_nothing_and_copies(source: str, tmp_path: Path) -> None:
    destination = tmp_path / "copy.db"
    result = invoke("db", "copy", "--quiet", source, str(destination))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert rows(destination, "SELECT count(*) FROM tickets") == rows(
        Path(source), "SELECT count(*) FROM tickets"
    )


def test_urls_are_taken_as_for_db(source: str, tmp_path: Path) -> None:
    destination = tmp_path / "copy.db"
    result = invoke("db", "copy", f"sqlite:///{source}", f"sqlite:///{destination}")
    assert result.exit_code == 0, result.output
    assert rows(destination, "SELECT count(*) FROM spaces") == [(4,)]


def test_a_destination_holding_a_mirror_is_refused_in_one_line(source: str, tmp_path: Path) -> None:
    destination = tmp_path / "copy.db"
    assert invoke("db", "copy", source, str(destination)).exit_code == 0
    before = rows(destination, "SELECT id, started_at FROM sync_runs")

    result = invoke("db", "copy", source, str(destination))

    assert_refused(result, str(destination), "already holds a mirror", "left untouched")
    assert rows(destination, "SELECT id, started_at FROM sync_runs") == before


def test_a_missing_source_is_refused_in_one_line(tmp_path: Path) -> None:
    missing, destination = tmp_path / "typo.db", tmp_path / "copy.db"
    result = invoke("db", "copy", str(missing), str(destination))
    assert_refused(result, f"no mirror at {missing}")
    assert not destination.exists()


def test_copying_a_mirror_onto_itself_is_refused_in_one_line(source: str) -> None:
    result = invoke("db", "copy", source, f"sqlite:///{source}")
    assert_refused(result, "the same database")


def test_an_unusable_url_is_refused_in_one_line(source: str) -> None:
    result = invoke("db", "copy", source, "mysql://someone:hunter2@db/mirror")
    assert_refused(result, "cannot use a mysql database")
    assert "hunter2" not in result.output


@pytest.mark.parametrize("term", ["xterm", "dumb"])
def test_progress_shows_on_a_terminal(source: str, tmp_path: Path, term: str) -> None:
    destination = str(tmp_path / "copy.db")
    status, shown, _ = in_terminal(["db", "copy", source, destination], terminal_env(term))
    assert status == 0, shown
    tickets = rows(Path(source), "SELECT count(*) FROM tickets")[0][0]
    if term == "dumb":
        assert "\x1b" not in shown
        assert f"done: tickets, {tickets:,} rows" in shown
        assert "done: search index" in shown
    else:
        screen = ANSI_ESCAPE.sub(b"", shown.encode()).decode()
        assert re.search(rf"✓ tickets +{tickets:,} rows +100\.0% of {tickets:,}", screen)
    assert "Copied " in shown


def test_a_database_password_never_shows(source: str, tmp_path: Path) -> None:
    with fresh_postgres_mirror() as url:
        parsed = make_url(url)
        password = parsed.password or "s3cret-Pw"  # a trusting server ignores it
        server = parsed.set(password=password).render_as_string(hide_password=False)

        there = invoke("db", "copy", source, server)
        again = invoke("db", "copy", source, server)
        back = invoke("db", "copy", server, str(tmp_path / "back.db"))

    assert there.exit_code == 0, there.output
    assert ":***@" in there.stdout.splitlines()[0]
    assert_refused(again, ":***@", "already holds a mirror")
    assert back.exit_code == 0, back.output
    assert back.stdout.startswith("Copied postgresql://")
    for result in (there, again, back):
        assert password not in result.output


def test_an_unreachable_destination_is_named_in_one_line(source: str) -> None:
    # Nothing listens on port 1: the connection is refused at once, no server needed.
    destination = "postgresql://someone:hunter2@127.0.0.1:1/mirrors"
    result = invoke("db", "copy", source, destination)
    assert_refused(result, "postgresql://someone:***@127.0.0.1:1/mirrors")
    assert source not in result.output
    assert "hunter2" not in result.output
