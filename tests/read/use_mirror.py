"""The synced mirror shared by the tests of the mirror in use (reports, search, Datasette,
pandas, the object API, the command line), and helpers that read it independently of the
package's read code.

The small simulator world, comments included, is synced once per test session,
in-process (no socket), into a SQLite file by the ``synced_account`` fixture of
``tests/conftest.py`` and, when the suite has a PostgreSQL server, into a schema of
it by ``synced_postgres_account``. ``synced_on`` is either, one test run per
backend (``mirror`` in ``tests/read``). Tests only read them; a test that changes
the mirror works on a copy (:meth:`SyncedAccount.copy_to`), and a test that writes
to a shared mirror fails: for the file its size, modification time and log show
a write; for the schema, a digest of every table's rows (:func:`rows_digest`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from assembla_mirror.simulator import Scale, Simulator, World
from tests.expected import Db, reading, select_bound
from tests.support import run_sync_in_process

#: The seed of the shared account's world.
SEED = 11


def content_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows_digest(db: Db) -> str:
    """A digest of every row of every table of the mirror ``db``, and of the names of its
    tables and views: any write to the mirror changes it.

    PostgreSQL only (the server makes it: one md5 per row, sorted, per table), so that
    checking the shared schema after each test costs one round trip, not a download.
    """
    with reading(db) as conn:
        inspector = inspect(conn)
        tables = sorted(inspector.get_table_names())
        views = sorted(inspector.get_view_names())
        parts = " UNION ALL ".join(
            f"SELECT '{name}' AS name, md5(coalesce(string_agg(md5(t::text), '' "
            f"ORDER BY md5(t::text)), '')) AS digest FROM \"{name}\" AS t"
            for name in tables
        )
        digests = [tuple(row) for row in conn.exec_driver_sql(f"{parts} ORDER BY name")]
    return hashlib.sha256(repr((tables, views, digests)).encode()).hexdigest()


@dataclass(frozen=True)
class _Synced:
    """What both shared mirrors have: the simulator whose account they hold."""

    simulator: Simulator

    @property
    def world(self) -> World:
        """The simulated account the mirror holds."""
        return self.simulator.world


@dataclass(frozen=True)
class SyncedAccount(_Synced):
    """A simulator account and the SQLite mirror it was synced into.

    ``simulator`` was never started: it answered the sync in-process, and its
    ``world`` is the truth the mirror came from. ``digest`` is the mirror file's
    SHA-256 right after the sync.
    """

    path: Path
    digest: str
    backend = "sqlite"

    @property
    def db(self) -> str:
        """The mirror as commands take it (``--db``)."""
        return str(self.path)

    def file_state(self) -> tuple[int, int, int]:
        """``(size, modification time, write-ahead log size)`` of the mirror: any write
        changes it.

        The mirror is in WAL mode: a commit appends to ``<name>-wal`` and reaches the
        file itself only at a checkpoint, which may wait until the writer's connection
        is garbage-collected, long after the test. Readers never append to the log.
        """
        stat = self.path.stat()
        log = self.path.with_name(self.path.name + "-wal")
        return stat.st_size, stat.st_mtime_ns, log.stat().st_size if log.exists() else 0

    def state(self) -> object:
        """What changes when the mirror is written to (see :meth:`file_state`)."""
        return self.file_state()

    def copy_to(self, directory: Path, name: str | None = None) -> Path:
        """A private copy of the mirror in ``directory`` (same file name unless ``name``)."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / (name or self.path.name)
        shutil.copyfile(self.path, target)
        return target


@dataclass(frozen=True)
class PostgresAccount(_Synced):
    """The same simulator account synced into a schema of the test server (``url`` names
    it with ``?schema=``); ``digest`` is its :func:`rows_digest` right after the sync."""

    url: str
    digest: str
    backend = "postgresql"

    @property
    def db(self) -> str:
        """The mirror as commands take it (``--db``)."""
        return self.url

    def state(self) -> object:
        """What changes when the mirror is written to: the digest of its rows."""
        return rows_digest(self.url)


#: The shared synced mirror on either backend.
SharedMirror = SyncedAccount | PostgresAccount


def small_account_simulator() -> Simulator:
    """The simulator of the small world (seed :data:`SEED`), never started."""
    return Simulator(World.generate(seed=SEED, scale=Scale.preset("small")))


def sync_small_account(directory: Path, name: str = "assembla.db") -> SyncedAccount:
    """Sync the small simulator world (seed :data:`SEED`), comments included, into
    ``directory/name`` in-process."""
    simulator = small_account_simulator()
    path = directory / name
    report = run_sync_in_process(simulator, path, with_comments=True)
    assert report.ok, report
    return SyncedAccount(simulator, path, content_digest(path))


def sync_into_postgres(simulator: Simulator, url: str) -> PostgresAccount:
    """Sync ``simulator``'s account, comments included, into the empty schema at ``url``
    in-process (the same simulator as the SQLite mirror's: the same rows)."""
    report = run_sync_in_process(simulator, url, with_comments=True)
    assert report.ok, report
    return PostgresAccount(simulator, url, rows_digest(url))


def rows(db: Db, sql: str, **binds: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (plain SQL both databases read; named binds, ``WHERE id = :id``) on
    the mirror ``db``, read without the package's read code."""
    return select_bound(db, sql, **binds)


def fold(text: str | None) -> str:
    """Case and accents folded, as the FTS tokenizer (remove_diacritics 2) folds them."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def has_word_starting(text: str | None, prefix: str) -> bool:
    """Whether a word of ``text`` starts with ``prefix`` (both folded)."""
    return re.search(r"(?<!\w)" + re.escape(fold(prefix)), fold(text)) is not None
