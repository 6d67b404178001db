"""Shared test fixtures: a clean ASSEMBLA_* environment for every test, simulators (over
loopback HTTP or in-process), and the synced mirror the read-side tests share.

The shared mirror lives here rather than in ``tests/read/conftest.py`` because the
command-line tests in ``tests/cli`` read it too, and a fixture defined in a
directory's conftest is invisible outside that directory.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from assembla_mirror.simulator import Simulator, World
    from tests.read.use_mirror import PostgresAccount, SharedMirror, SyncedAccount


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Drop the developer's ASSEMBLA_* variables and point the credentials file into tmp."""
    for key in list(os.environ):
        if key.startswith("ASSEMBLA_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSEMBLA_MIRROR_CONFIG", str(tmp_path / "config" / "credentials.json"))


@pytest.fixture
def small_world() -> World:
    """A fresh four-space account with every quirk, lists crossing the 100-item page size."""
    from assembla_mirror.simulator import Scale, World

    return World.generate(seed=11, scale=Scale.preset("small"))


@pytest.fixture
def sim(small_world: World) -> Iterator[Simulator]:
    """The simulator serving ``small_world`` on 127.0.0.1."""
    from assembla_mirror.simulator import Simulator

    with Simulator(small_world) as simulator:
        yield simulator


@pytest.fixture
def in_process_sim(small_world: World) -> Simulator:
    """A simulator of ``small_world`` that answers in-process only (never started: no
    socket); reach it with ``tests.support.run_sync_in_process`` or ``sim.transport()``."""
    from assembla_mirror.simulator import Simulator

    return Simulator(small_world)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Where a test's mirror lives (a SQLite file)."""
    return tmp_path / "mirror.db"


#: The databases a mirror can live in; a test using ``mirror_db`` runs once on each.
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this run of the test uses (see ``mirror_db``)."""
    return str(request.param)


@pytest.fixture
def mirror_db(backend: str, tmp_path: Path) -> Iterator[str]:
    """Where a test's mirror lives, on each backend: a SQLite file's path, then the URL of
    a fresh PostgreSQL schema (dropped afterwards). The PostgreSQL run is skipped, with
    its reason shown, unless ``MIRROR_TEST_POSTGRES_URL`` names a server."""
    if backend == "sqlite":
        yield str(tmp_path / "mirror.db")
        return
    from tests.support import fresh_postgres_mirror

    with fresh_postgres_mirror() as url:
        yield url


# -- the shared synced mirror ----------------------------------------------------------------


@pytest.fixture(scope="session")
def synced_account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncedAccount]:
    """The small account (seed 11), comments included, synced once for the whole session.

    Read-only: every test that uses it is checked to leave the file as it found it
    (see :func:`shared_mirror_is_left_alone`), and the session ends by checking its bytes.
    """
    from tests.read.use_mirror import content_digest, sync_small_account

    account = sync_small_account(tmp_path_factory.mktemp("synced"))
    yield account
    gc.collect()  # close forgotten connections: their checkpoints write the file itself
    assert content_digest(account.path) == account.digest, "the shared mirror was changed"


@pytest.fixture(scope="session")
def synced_mirror(synced_account: SyncedAccount) -> Path:
    """The shared synced mirror's path, to read only: a test that changes the mirror
    works on a copy (``synced_account.copy_to(tmp_path)``)."""
    return synced_account.path


@pytest.fixture(scope="session")
def synced_postgres_account(synced_account: SyncedAccount) -> Iterator[PostgresAccount]:
    """The same account synced once per session into a schema of the test server, from
    the same simulator (so it holds the same rows), dropped at the end of the session.

    Read-only like the file: every test that uses it is checked to leave the digest of
    its rows as it found it, and so is the session's end. Skipped, with the reason
    shown, when the suite has no PostgreSQL server.
    """
    from tests.read.use_mirror import rows_digest, sync_into_postgres
    from tests.support import fresh_postgres_mirror

    with fresh_postgres_mirror() as url:
        account = sync_into_postgres(synced_account.simulator, url)
        yield account
        assert rows_digest(url) == account.digest, "the shared PostgreSQL mirror was changed"


@pytest.fixture(scope="session", params=BACKENDS)
def synced_on(request: pytest.FixtureRequest) -> SharedMirror:
    """The shared synced mirror on each backend: a test using it runs once on the SQLite
    file and once on the PostgreSQL schema (skipped, with its reason, without a server)."""
    if request.param == "sqlite":
        account: SharedMirror = request.getfixturevalue("synced_account")
    else:
        account = request.getfixturevalue("synced_postgres_account")
    return account


@pytest.fixture(autouse=True)
def shared_mirror_is_left_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that wrote to a shared mirror (it should have taken a copy)."""
    shared = [
        name
        for name in ("synced_account", "synced_postgres_account", "synced_on")
        if name in request.fixturenames
    ]
    if not shared:
        yield
        return
    # synced_on is one of the other two: check each mirror once
    accounts: list[SharedMirror] = list(
        {id(value): value for value in map(request.getfixturevalue, shared)}.values()
    )
    before = [account.state() for account in accounts]
    yield
    for account, state in zip(accounts, before, strict=True):
        assert account.state() == state, (
            f"{request.node.nodeid} changed the shared mirror {account.db}; "
            "a test that writes works on a copy (synced_account.copy_to(tmp_path)) "
            "or rolls its transaction back"
        )


@pytest.fixture(scope="module", params=BACKENDS)
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The small hand-made history mirror of tests/read/history_mirror.py on each
    database (read only)."""
    from tests.read.history_mirror import history_mirror_on

    with history_mirror_on(str(request.param), tmp_path_factory.mktemp("history")) as db:
        yield db
