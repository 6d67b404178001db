"""Secrets never reach the database, logs, progress output, errors, tracebacks or dry runs.

The Assembla credentials on SQLite (the file's bytes are searched too), and the
password of a PostgreSQL URL: it connects (the test server trusts any password),
and must then appear in no output, log, error, run record, status or dry run.
"""

from __future__ import annotations

import io
import logging
import sqlite3
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from assembla_mirror.api.auth import exchange_pin
from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.cli import cli
from assembla_mirror.cli.display import TerminalProgress
from assembla_mirror.errors import ConfigError, MirrorError
from assembla_mirror.simulator import Simulator
from assembla_mirror.store.target import database_target
from assembla_mirror.sync import SyncOptions, sync
from assembla_mirror.sync.plan import plan_sync
from tests.expected import Db, select_all
from tests.support import credentials_for, fresh_postgres_mirror, settings_for


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Which of ``secrets`` appear in ``text``."""
    return [secret for secret in secrets if secret and secret in text]


def file_text(path: Path) -> str:
    """The bytes of a SQLite mirror and its WAL, as text to search."""
    parts = []
    for suffix in ("", "-wal"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            parts.append(candidate.read_bytes().decode("latin-1"))
    return "\n".join(parts)


def oauth_credentials(sim: Simulator) -> Credentials:
    """OAuth credentials for ``sim``, from a PIN exchanged for tokens."""
    creds = sim.credentials
    grant = exchange_pin(sim.api_url, creds.client_id, creds.client_secret, sim.issue_pin())
    return Credentials(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        username=creds.username,
        password=creds.password,
    )


class ExpireTokensMidRun(TerminalProgress):
    """A real terminal display that also expires every access token once, mid-run."""

    def __init__(self, sim: Simulator, stream: io.StringIO) -> None:
        super().__init__(stream)
        self.sim, self.done = sim, False

    def advance(self, key: str, items: int = 0) -> None:
        super().advance(key, items)
        if not self.done and key.startswith("tickets"):
            self.done = True
            self.sim.expire_access_tokens()


def test_no_secret_anywhere_after_syncs_failures_and_dry_runs(
    sim: Simulator, db: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    outputs: list[str] = []

    # 1. key/secret sync with a live progress display
    key_creds = credentials_for(sim)
    display = io.StringIO()
    sync(SyncOptions(db_path=db), settings_for(sim), key_creds, progress=TerminalProgress(display))
    outputs.append(display.getvalue())

    # 2. OAuth sync whose access token expires mid-run (a transparent refresh)
    token_creds = oauth_credentials(sim)
    display = io.StringIO()
    hook = ExpireTokensMidRun(sim, display)
    report = sync(SyncOptions(db_path=db, full=True), settings_for(sim), token_creds, progress=hook)
    assert hook.done
    assert report.ok
    outputs.append(display.getvalue())

    # 3. failures: wrong secret, and retries exhausted; messages and whole tracebacks
    wrong = Credentials(api_key=key_creds.api_key, api_secret="not-the-secret-0123456789")
    for settings, creds in (
        (settings_for(sim), wrong),
        (settings_for(sim, max_attempts=2), key_creds),
    ):
        if creds is key_creds:
            sim.faults.enqueue("503", count=100)
        with pytest.raises(MirrorError) as raised:
            sync(SyncOptions(db_path=db), settings, creds)
        sim.faults.clear()
        outputs.append(str(raised.value))
        outputs.append("".join(traceback.format_exception(raised.value)))

    # 4. dry run and the CLI (sync, status, dry run, get) with credentials in the environment
    plan = plan_sync(SyncOptions(db_path=db), settings_for(sim), key_creds)
    outputs.append(repr(plan))
    sim_creds = sim.credentials
    for key, value in {
        "ASSEMBLA_API_URL": sim.api_url,
        "ASSEMBLA_LEGACY_URL": sim.legacy_url,
        "ASSEMBLA_API_KEY": sim_creds.api_key,
        "ASSEMBLA_API_SECRET": sim_creds.api_secret,
        "ASSEMBLA_USERNAME": sim_creds.username,
        "ASSEMBLA_PASSWORD": sim_creds.password,
        "ASSEMBLA_RATE_LIMIT": "off",
        "ASSEMBLA_MIRROR_DB": str(db),
    }.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    for args in (["sync"], ["sync", "--dry-run"], ["status"], ["get", "/v1/spaces"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    outputs.append(repr(key_creds) + repr(token_creds) + str(report))

    secrets = [*key_creds.secrets(), *token_creds.secrets(), "not-the-secret-0123456789"]
    assert len(secrets) >= 6
    everything = "\n".join(outputs) + "\n".join(r.getMessage() for r in caplog.records)
    assert leaks(everything, secrets) == []
    with sqlite3.connect(db) as conn:
        runs = "\n".join(str(row) for row in conn.execute("SELECT * FROM sync_runs"))
        meta = "\n".join(str(row) for row in conn.execute("SELECT * FROM mirror_meta"))
    assert leaks(runs + meta, secrets) == []
    assert leaks(file_text(db), secrets) == []


#: The made-up password of the PostgreSQL URLs below (the test server trusts any).
DB_PASSWORD = "s3cret-db-Pa55"


def with_password(url: str) -> str:
    """``url`` with :data:`DB_PASSWORD` as its user's password."""
    return make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def bookkeeping_text(db: Db) -> str:
    """Every row the mirror keeps about itself and its runs, as text to search."""
    return "\n".join(
        str(row)
        for table in ("sync_runs", "mirror_meta", "sync_state")
        for row in select_all(db, f"SELECT * FROM {table}")
    )


def test_the_database_password_appears_nowhere(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Syncs (first, failed, incremental), a dry run and ``mirror status``, with the
    password in ``--db`` and in ``ASSEMBLA_MIRROR_DB``: the URL is shown with ``***``."""
    caplog.set_level(logging.DEBUG)
    with fresh_postgres_mirror() as plain_url:
        url = with_password(plain_url)
        shown = str(database_target(url))
        assert DB_PASSWORD in url
        assert "***" in shown
        creds = sim.credentials
        env = {
            "ASSEMBLA_API_URL": sim.api_url,
            "ASSEMBLA_LEGACY_URL": sim.legacy_url,
            "ASSEMBLA_API_KEY": creds.api_key,
            "ASSEMBLA_API_SECRET": creds.api_secret,
            "ASSEMBLA_RATE_LIMIT": "off",
        }
        runner = CliRunner()
        outputs: list[str] = []

        def mirror(*args: str, expect: int = 0, **more: str) -> None:
            result = runner.invoke(cli, list(args), env={**env, **more})
            assert result.exit_code == expect, result.output
            outputs.append(result.output)
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                outputs.append("".join(traceback.format_exception(result.exception)))

        mirror("sync", "--db", url)
        # a run that fails: Assembla refuses the secret; the error goes to sync_runs
        mirror("sync", "--db", url, expect=1, ASSEMBLA_API_SECRET="not-the-secret-0123456789")
        mirror("sync", ASSEMBLA_MIRROR_DB=url)
        mirror("sync", "--dry-run", "--db", url)
        mirror("status", ASSEMBLA_MIRROR_DB=url)
        mirror("status", "--db", url)

        runs = select_all(plain_url, "SELECT outcome, error FROM sync_runs ORDER BY id")
        assert [outcome for outcome, _ in runs] == ["success", "failed", "success"]
        everything = "\n".join(outputs) + "\n".join(r.getMessage() for r in caplog.records)
        assert shown in everything  # the database is named, with its password hidden
        assert leaks(everything, [DB_PASSWORD]) == []
        assert leaks(bookkeeping_text(plain_url), [DB_PASSWORD]) == []


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigError, match="plain http:// to a non-loopback host"):
        ClientSettings(api_url="http://api.assembla.com")
    with pytest.raises(ConfigError, match="plain http://"):
        ClientSettings(legacy_url="http://www.assembla.com")
    with pytest.raises(ConfigError, match="must not embed credentials"):
        ClientSettings(api_url="https://user:pass@api.assembla.com")
    assert ClientSettings(api_url="http://127.0.0.1:8080").api_url == "http://127.0.0.1:8080"
    assert ClientSettings(api_url="http://[::1]:8080").api_url == "http://[::1]:8080"


def test_cli_refuses_plain_http_without_leaking(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ASSEMBLA_API_KEY", "key-value-1234567890")
    monkeypatch.setenv("ASSEMBLA_API_SECRET", "secret-value-1234567890")
    result = CliRunner().invoke(
        cli, ["sync", "--db", str(tmp_path / "m.db"), "--api-url", "http://evil.example.com"]
    )
    assert result.exit_code == 2
    assert "plain http://" in result.output
    assert "secret-value-1234567890" not in result.output
    assert not (tmp_path / "m.db").exists()


def test_credentials_are_never_options() -> None:
    for command in cli.commands.values():
        for param in getattr(command, "params", []):
            names = " ".join(getattr(param, "opts", []))
            for word in ("secret", "password", "token", "api-key"):
                assert word not in names, f"{command.name} takes a credential on argv: {names}"
