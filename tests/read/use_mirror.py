"""A simulator account synced (with comments) into a real SQLite file, for the tests of the
mirror in use: reports, search, Datasette, pandas. Each test module syncs once."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from pathlib import Path
from typing import Any

from assembla_mirror.simulator import Scale, Simulator, World
from tests.support import run_sync


def synced_mirror(directory: Path, name: str = "assembla.db") -> Path:
    """Sync the small simulator world, comments included, into ``directory/name``."""
    world = World.generate(seed=11, scale=Scale.preset("small"))
    path = directory / name
    with Simulator(world) as sim:
        report = run_sync(sim, path, with_comments=True)
    assert report.ok
    return path


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
