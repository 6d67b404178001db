"""The read commands on a PostgreSQL mirror named by a URL that carries a password: what a
person sees in an 80-column terminal names the database with the password hidden
(``postgresql://root:***@...``) and never shows the password, in results and in errors
alike; ``mirror datasette`` refuses such a mirror, naming SQLite.

The test server trusts its users, so a URL with any password connects: the password
here is only something that must never be shown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from assembla_mirror import Mirror
from assembla_mirror.cli import cli
from assembla_mirror.errors import ConfigError
from tests.cli.test_reliability_cli import ANSI_ESCAPE, in_terminal, terminal_env
from tests.expected import reading
from tests.read.use_mirror import PostgresAccount, rows

PASSWORD = "s3cret"


def with_password(url: str, password: str = PASSWORD) -> str:
    """``url`` (a PostgreSQL URL) with ``password`` in its user part."""
    return make_url(url).set(password=password).render_as_string(hide_password=False)


def shown_as(url: str) -> str:
    """How messages must name the mirror at ``url``: its password hidden."""
    return url.replace(f":{PASSWORD}@", ":***@")


@pytest.fixture
def secret_url(synced_postgres_account: PostgresAccount) -> str:
    """The shared PostgreSQL mirror's URL, with a password in it."""
    return with_password(synced_postgres_account.url)


def test_status_names_the_mirror_with_its_password_hidden(secret_url: str) -> None:
    result = CliRunner().invoke(cli, ["status", "--db", secret_url])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:2] == [
        "Mirror of account mirror.demo",
        f"Database: {shown_as(secret_url)}",
    ]
    assert PASSWORD not in result.output


def test_a_password_given_as_a_url_parameter_is_hidden_too(
    synced_postgres_account: PostgresAccount,
) -> None:
    # libpq reads ?password=... as well as the user part of the URL
    url = synced_postgres_account.url.replace("?", f"?password={PASSWORD}&", 1)
    result = CliRunner().invoke(cli, ["status", "--db", url])
    assert result.exit_code == 0, result.output
    hidden = url.replace(f"password={PASSWORD}", "password=***")
    assert result.output.splitlines()[1] == f"Database: {hidden}"
    assert PASSWORD not in result.output


def read_commands(account: PostgresAccount) -> dict[str, list[str]]:
    """Every read command, as a person would type it, on the shared PostgreSQL mirror."""
    day = rows(account.url, "SELECT substr(max(date), 1, 10) FROM events")[0][0]
    return {
        "status": ["status", "--runs", "3"],
        "hours": ["report", "hours", "--by", "milestone"],
        "tickets": ["report", "tickets", "--by", "assignee"],
        "activity": ["report", "activity", "--day", day, "--tz", "UTC"],
        "search": ["search", "café menu", "--limit", "5"],
    }


def unwrapped(text: str) -> str:
    """``text`` without escape codes and white space: a password cut by a line break
    would still show."""
    return "".join(ANSI_ESCAPE.sub(b"", text.encode()).decode().split())


def test_status_in_an_80_column_terminal_never_shows_the_password(secret_url: str) -> None:
    # The URL in the variable, as a scheduled job or a team's shell profile sets it.
    env = terminal_env("xterm") | {"ASSEMBLA_MIRROR_DB": secret_url}
    status, shown, _ = in_terminal(["status"], env, columns=80)
    assert status == 0, shown
    assert f"Database:{shown_as(secret_url)}" in unwrapped(shown)
    assert PASSWORD not in unwrapped(shown)


@pytest.mark.parametrize("command", ["status", "hours", "tickets", "activity", "search"])
def test_read_commands_never_show_the_password(
    synced_postgres_account: PostgresAccount, secret_url: str, command: str
) -> None:
    # In-process (a terminal changes nothing the read commands print; the status test
    # above shows one): the text at 80 columns, the URL from the variable.
    args = read_commands(synced_postgres_account)[command]
    env = {"ASSEMBLA_MIRROR_DB": secret_url, "COLUMNS": "80"}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) > 3, result.output
    assert PASSWORD not in unwrapped(result.output)


def failing_urls(account: PostgresAccount) -> dict[str, tuple[str, str]]:
    """URLs a read command cannot use, with a password in each, and what the one-line
    error must say (besides naming the database with its password hidden)."""
    server = with_password(account.url.split("?")[0])
    return {
        "no mirror in the schema": (f"{server}?schema=no_mirror_here", "no mirror at"),
        "no such database": (server.rsplit("/", 1)[0] + "/no_such_db", "does not exist"),
        "no server": (server.replace(":5432/", ":1/"), "cannot reach the database server"),
    }


@pytest.mark.parametrize("case", ["no mirror in the schema", "no such database", "no server"])
def test_errors_name_the_database_without_the_password(
    synced_postgres_account: PostgresAccount, case: str
) -> None:
    url, reason = failing_urls(synced_postgres_account)[case]
    result = CliRunner().invoke(cli, ["report", "hours", "--db", url], env={"COLUMNS": "80"})
    assert result.exit_code in (1, 2), result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert reason in lines[0]
    assert shown_as(url) in lines[0]
    assert PASSWORD not in unwrapped(result.output)


def test_a_reader_creates_nothing_where_there_is_no_mirror(
    synced_postgres_account: PostgresAccount,
) -> None:
    url, _ = failing_urls(synced_postgres_account)["no mirror in the schema"]
    with pytest.raises(ConfigError, match="no mirror at") as refused:
        Mirror(url)
    assert PASSWORD not in str(refused.value)
    assert CliRunner().invoke(cli, ["search", "x", "--db", url]).exit_code == 2
    with reading(synced_postgres_account.url) as conn:
        schemas = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'no_mirror_here'"
        )
        assert schemas.scalar_one() == 0


@pytest.mark.parametrize("extra", [[], ["--no-serve"]], ids=["serve", "no-serve"])
def test_datasette_refuses_a_postgresql_mirror_naming_sqlite(
    secret_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "meta.json"
    result = CliRunner().invoke(
        cli, ["datasette", *extra, "--db", secret_url, "--metadata-out", str(target)]
    )
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: Datasette reads SQLite files only")
    assert shown_as(secret_url) in lines[0]
    assert "mirror db copy" in lines[0]  # how to get a file Datasette can read
    assert PASSWORD not in result.output
    assert list(tmp_path.iterdir()) == []  # no metadata written anywhere


#: Runs the command line with psycopg missing, as when the ``postgres`` extra was not
#: installed (an import of it fails as it would then).
WITHOUT_PSYCOPG = """
import sys
sys.modules["psycopg"] = None
from assembla_mirror.cli import cli
cli(sys.argv[1:], prog_name="mirror")
"""


@pytest.mark.parametrize("command", [["status"], ["sync", "--dry-run"]])
def test_without_the_postgres_extra_the_error_names_it(command: list[str]) -> None:
    url = f"postgresql://root:{PASSWORD}@127.0.0.1:5432/test"
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, *command, "--db", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ASSEMBLA_API_KEY": "k", "ASSEMBLA_API_SECRET": "s"},
    )
    assert result.returncode != 0
    assert "pip install -e '.[postgres]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # no traceback
    assert PASSWORD not in result.stdout + result.stderr
