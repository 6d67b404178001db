"""Helpers for tests that sync a simulator account (imported by test modules).

Two ways to reach the simulator: over loopback HTTP (:func:`run_sync`, the
simulator must be running) and in-process (:func:`run_sync_in_process`, no
socket: ``Simulator.transport()`` answers through the same request handling).
Tests about the network, faults on the wire, rate limits or kills use the
first; tests that only need a synced mirror use the second, which is faster.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.errors import LockedError
from assembla_mirror.simulator import IN_PROCESS_URL, Simulator
from assembla_mirror.store.backends import dialect_for
from assembla_mirror.store.target import database_target
from assembla_mirror.sync import SyncOptions, SyncReport, sync


def client_settings(api_url: str, legacy_url: str, **changes: object) -> ClientSettings:
    """Settings for a simulator at these URLs: no pacing, tiny backoff for fast retries."""
    base = ClientSettings(
        api_url=api_url,
        legacy_url=legacy_url,
        rate_limit=None,
        backoff_base=0.01,
        backoff_cap=0.05,
    )
    return base.with_(**changes) if changes else base


def settings_for(sim: Simulator, **changes: object) -> ClientSettings:
    """Client settings pointing at a running simulator's loopback URLs (see
    :func:`client_settings`)."""
    return client_settings(sim.api_url, sim.legacy_url, **changes)


def in_process_settings(**changes: object) -> ClientSettings:
    """Client settings for the in-process path (pass ``sim.transport()`` with them)."""
    return client_settings(IN_PROCESS_URL, IN_PROCESS_URL, **changes)


def credentials_for(sim: Simulator, *, legacy: bool = True) -> Credentials:
    """The simulator's primary caller as key/secret credentials (plus legacy login)."""
    creds = sim.credentials
    return Credentials(
        api_key=creds.api_key,
        api_secret=creds.api_secret,
        username=creds.username if legacy else None,
        password=creds.password if legacy else None,
    )


def run_sync(
    sim: Simulator, db: str | Path, *, legacy: bool = True, **options: object
) -> SyncReport:
    """One sync of the running ``sim`` into ``db`` over loopback HTTP, with the given
    :class:`SyncOptions` fields.

    Pages are decoded in this process unless ``decode_processes`` says otherwise:
    starting a worker costs each sync a third of a second, and the worker is
    tested where it matters (tests/pages, and the kill tests' ``mirror sync``
    processes, which choose as a real run does).
    """
    options.setdefault("decode_processes", 0)
    return sync(
        SyncOptions(db_path=db, **options),  # type: ignore[arg-type]
        settings_for(sim),
        credentials_for(sim, legacy=legacy),
    )


def run_sync_in_process(
    sim: Simulator, db: str | Path, *, legacy: bool = True, **options: object
) -> SyncReport:
    """Like :func:`run_sync`, through ``sim.transport()``: no socket, ``sim`` need not run.

    Pages are decoded in this process unless ``decode_processes`` says otherwise: a
    test that only needs a mirror gains nothing from starting a worker process.
    """
    options.setdefault("decode_processes", 0)
    return sync(
        SyncOptions(db_path=db, **options),  # type: ignore[arg-type]
        in_process_settings(),
        credentials_for(sim, legacy=legacy),
        transport=sim.transport(),
        legacy_transport=sim.transport(),
    )


def _hold_run_lock(path: str, ready: Any) -> None:
    target = database_target(path)
    with dialect_for(target).run_lock(target):
        ready.set()
        signal.pause()


@contextmanager
def run_lock_held_elsewhere(path: str | Path) -> Iterator[None]:
    """Another process holds the run lock of the mirror at ``path`` (a file, or a
    PostgreSQL URL) until the block ends, when it is killed (SIGKILL: the kernel, or the
    server, must release its lock)."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_run_lock, args=(str(path), ready))
    holder.start()
    try:
        assert ready.wait(30), "the lock holder did not start"
        yield
    finally:
        assert holder.pid is not None
        os.kill(holder.pid, signal.SIGKILL)
        holder.join()


def wait_for_run_lock(path: str | Path, seconds: float = 10.0) -> None:
    """Wait until the run lock of the mirror at ``path`` can be taken (and release it);
    raise the last :class:`LockedError` when it cannot be within ``seconds``.

    A file lock is free as soon as its holder is dead; a PostgreSQL server ends a
    killed client's session (and its advisory lock) a moment after the socket
    closes, not at the same instant.
    """
    target = database_target(path)
    deadline = time.monotonic() + seconds
    while True:
        try:
            with dialect_for(target).run_lock(target):
                return
        except LockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- PostgreSQL ------------------------------------------------------------------------

#: The variable naming the PostgreSQL server the suite's PostgreSQL half runs against.
POSTGRES_URL_VARIABLE = "MIRROR_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = (
    f"PostgreSQL half skipped: set {POSTGRES_URL_VARIABLE} "
    "(e.g. postgresql://root@127.0.0.1:5432/test) to run it"
)


def postgres_server_url() -> str | None:
    """The URL of the test server's database (no schema), when the suite has one."""
    return os.environ.get(POSTGRES_URL_VARIABLE) or None


def _admin_engine(url: str) -> Engine:
    server = make_url(url).set(drivername="postgresql+psycopg")
    return create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextmanager
def fresh_postgres_mirror() -> Iterator[str]:
    """The URL of a new, empty schema of the test server (``?schema=t_...``), dropped with
    everything in it when the block ends; skips the test when there is no server."""
    url = postgres_server_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(url)
    try:
        separator = "&" if "?" in url else "?"
        yield f"{url}{separator}schema={schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()
