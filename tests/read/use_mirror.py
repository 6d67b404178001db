"""The synced mirror shared by the tests of the mirror in use (reports, search, Datasette,
pandas, the object API, the command line), and helpers that read it independently of the
package.

The small simulator world, comments included, is synced once per test session,
in-process (no socket), by the ``synced_account`` fixture of ``tests/conftest.py``;
``synced_mirror`` (``mirror`` in ``tests/read``) is its path. Tests only read it; a
test that changes the mirror works on a copy (:meth:`SyncedAccount.copy_to`), and a
test that writes to the shared file fails.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assembla_mirror.simulator import Scale, Simulator, World
from tests.support import run_sync_in_process

#: The seed of the shared account's world.
SEED = 11


def content_digest(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class SyncedAccount:
    """A simulator account and the mirror it was synced into.

    ``simulator`` was never started: it answered the sync in-process, and its
    ``world`` is the truth the mirror came from. ``digest`` is the mirror file's
    SHA-256 right after the sync.
    """

    simulator: Simulator
    path: Path
    digest: str

    @property
    def world(self) -> World:
        """The simulated account the mirror holds."""
        return self.simulator.world

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

    def copy_to(self, directory: Path, name: str | None = None) -> Path:
        """A private copy of the mirror in ``directory`` (same file name unless ``name``)."""
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / (name or self.path.name)
        shutil.copyfile(self.path, target)
        return target


def sync_small_account(directory: Path, name: str = "assembla.db") -> SyncedAccount:
    """Sync the small simulator world (seed :data:`SEED`), comments included, into
    ``directory/name`` in-process."""
    simulator = Simulator(World.generate(seed=SEED, scale=Scale.preset("small")))
    path = directory / name
    report = run_sync_in_process(simulator, path, with_comments=True)
    assert report.ok, report
    return SyncedAccount(simulator, path, content_digest(path))


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read with the standard library, independently of the package."""
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def fold(text: str | None) -> str:
    """Case and accents folded, as the FTS tokenizer (remove_diacritics 2) folds them."""
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def has_word_starting(text: str | None, prefix: str) -> bool:
    """Whether a word of ``text`` starts with ``prefix`` (both folded)."""
    return re.search(r"(?<!\w)" + re.escape(fold(prefix)), fold(text)) is not None
