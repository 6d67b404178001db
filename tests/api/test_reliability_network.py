"""A hostile network can fail a sync, never hang it or grow its memory without bound.

Each case runs a real sync against the simulator playing a hostile server on
127.0.0.1: headers or a body trickled one byte at a time, a body that never
ends, one far larger than any real answer, a dead or unusable proxy.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assembla_mirror.api.client import MAX_RETRY_AFTER, AssemblaClient
from assembla_mirror.api.settings import ClientSettings, Timeouts, parse_timeouts
from assembla_mirror.errors import ApiError, ConfigError
from assembla_mirror.simulator import FaultConfig, Scale, Simulator, World
from assembla_mirror.sync import SyncOptions, sync
from tests.support import credentials_for, run_sync, settings_for

TRICKLE = 0.3  # seconds between bytes: each read succeeds, the whole never does


@pytest.fixture
def hostile() -> Iterator[Simulator]:
    world = World.generate(seed=3, scale=Scale.preset("tiny"))
    faults = FaultConfig(trickle_seconds=TRICKLE, huge_bytes=30_000_000)
    with Simulator(world, faults=faults) as sim:
        yield sim


def last_run(db: Path) -> tuple[str, str | None]:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT outcome, error FROM sync_runs ORDER BY id DESC").fetchone()
    return row[0], row[1]


@pytest.mark.parametrize("kind", ["trickle", "trickle_headers"])
def test_a_trickling_server_fails_the_run_within_its_deadline(
    hostile: Simulator, db: Path, kind: str
) -> None:
    hostile.faults.enqueue(kind, count=100, path_prefix="/v1/spaces")
    settings = settings_for(hostile, max_attempts=2, timeouts=Timeouts(read=1.0, total=1.5))
    started = time.monotonic()
    with pytest.raises(ApiError) as raised:
        sync(SyncOptions(db_path=db), settings, credentials_for(hostile))
    elapsed = time.monotonic() - started
    message = str(raised.value)
    assert message.startswith("GET /v1/spaces failed after 2 attempts")
    assert "no complete answer within 1.5 s" in message
    assert elapsed < 2 * 1.5 + 3  # two attempts, a short backoff, some slack
    assert last_run(db) == ("failed", message)
    hostile.faults.clear()
    assert run_sync(hostile, db).ok  # the lock was released: the next run completes


def test_default_bounds_end_a_stuck_run_well_inside_a_cron_slot() -> None:
    """The longest one request can hold a run with the default settings: every attempt
    but the last is a deadline then a backoff, or a quick 429 then its longest honoured
    Retry-After; the last is a deadline. Far below a 15-minute cron interval."""
    settings = ClientSettings()
    total = settings.timeouts.total
    retries = [
        max(
            total + min(settings.backoff_cap, settings.backoff_base * 2 ** (k - 1)), MAX_RETRY_AFTER
        )
        for k in range(1, settings.max_attempts)
    ]
    assert sum(retries) + total <= 10 * 60


def test_an_endless_body_stops_at_the_size_limit(hostile: Simulator, db: Path) -> None:
    hostile.faults.enqueue("endless", count=100, path_prefix="/v1/spaces")
    settings = settings_for(hostile, max_response_bytes="2")  # MB
    started = time.monotonic()
    with pytest.raises(ApiError) as raised:
        sync(SyncOptions(db_path=db), settings, credentials_for(hostile))
    assert time.monotonic() - started < 10
    assert str(raised.value) == (
        "GET /v1/spaces failed: the answer is larger than 2 MB (the limit; raise it with "
        "ASSEMBLA_MAX_RESPONSE_MB)"
    )
    assert hostile.request_counts()["GET /v1/spaces"] == 1  # a limit is not worth retrying


def test_a_huge_body_is_refused_from_its_length_alone(hostile: Simulator) -> None:
    hostile.faults.enqueue("huge", path_prefix="/v1/spaces")
    settings = settings_for(hostile, max_response_bytes="10")
    with AssemblaClient(settings, credentials_for(hostile)) as client:
        started = time.monotonic()
        with pytest.raises(ApiError, match="larger than 10 MB"):
            client.get("/v1/spaces")
        assert time.monotonic() - started < 2  # 30 MB were announced, not read


def test_a_large_answer_under_the_limit_is_read_whole(hostile: Simulator) -> None:
    hostile.faults.enqueue("huge", path_prefix="/v1/spaces")
    with AssemblaClient(settings_for(hostile), credentials_for(hostile)) as client:
        assert len(client.get("/v1/spaces")) > 25_000  # 30 MB of 1 KB items


def test_timeouts_and_size_limit_are_configurable() -> None:
    assert parse_timeouts("90").total == 90
    custom = parse_timeouts("connect=5,read=20,pool=15,total=120")
    assert (custom.connect, custom.read, custom.pool, custom.total) == (5, 20, 15, 120)
    env = {"ASSEMBLA_TIMEOUT": "read=7", "ASSEMBLA_MAX_RESPONSE_MB": "128"}
    settings = ClientSettings.from_env(env)
    assert settings.timeouts.read == 7
    assert settings.timeouts.total == Timeouts().total
    assert settings.max_response_bytes == 128 * 1024 * 1024
    for bad in ("", "fast", "total=inf", "read=-1", "nap=3", "1e9"):
        with pytest.raises(ConfigError, match="timeout"):
            parse_timeouts(bad)
    with pytest.raises(ConfigError, match="response size limit"):
        ClientSettings.from_env({"ASSEMBLA_MAX_RESPONSE_MB": "lots"})


def test_a_dead_proxy_is_named(hostile: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxyuser:proxypass@127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with (
        AssemblaClient(settings_for(hostile, max_attempts=2), credentials_for(hostile)) as client,
        pytest.raises(ApiError) as raised,
    ):
        client.get("/v1/user")
    message = str(raised.value)
    assert "connection error through the proxy http://127.0.0.1:9 (from HTTP_PROXY)" in message
    assert "proxypass" not in message
    assert hostile.request_counts()["GET /v1/user"] == 0


def test_a_socks_proxy_without_socksio_is_a_clear_error(
    hostile: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)  # as on a machine without it
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ConfigError) as raised:
        AssemblaClient(settings_for(hostile), credentials_for(hostile))
    assert str(raised.value) == (
        "the proxy socks5://127.0.0.1:1080 (from ALL_PROXY) needs the 'socksio' package: "
        "pip install 'httpx[socks]', or unset the variable"
    )


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:abc", "invalid port 'abc'"),
        ("ftp://user:hunter2@example.com", "must not embed credentials"),
        ("http://user:hunter2@127.0.0.1:abc", "invalid port 'abc'"),
        ("https://example.com:99999", "invalid port"),
    ],
)
def test_bad_api_urls_are_clear_and_never_echo_a_password(url: str, shown: str) -> None:
    with pytest.raises(ConfigError) as raised:
        ClientSettings(api_url=url)
    assert shown in str(raised.value)
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("text", ["99999999999999999999/1", "2000000/20", "1e9/20"])
def test_absurd_rate_limits_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="rate limit"):
        ClientSettings().with_(rate_limit=text)
