"""The Datasette search canned query asks what `mirror search` asks: every word, in any
order, each as a word's beginning; not a phrase."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from datasette.app import Datasette

from assembla_mirror.read.datasette.queries import FTS_QUERY
from assembla_mirror.store.fts5 import match_query
from tests.read.test_use_datasette import ds, get, metadata, mirror
from tests.read.test_use_search import hit_keys, search

__all__ = ["ds", "metadata", "mirror"]  # the fixtures of tests/read/test_use_datasette.py


@pytest.mark.parametrize(
    "q", ["login safari", "  menu\tcafé \n", 'NEAR(cafe "menu")', "summary:cafe", "one", ""]
)
def test_the_query_is_built_from_the_words_as_mirror_search_builds_it(q: str) -> None:
    with sqlite3.connect(":memory:") as conn:
        (built,) = conn.execute(f"WITH RECURSIVE {FTS_QUERY} SELECT query FROM fts", {"q": q})
    conn.close()
    assert built[0] == (match_query(q.split()) or '""')


def canned_search(ds: Datasette, q: str) -> list[dict[str, Any]]:
    data = get(
        ds, "/assembla/search_tickets_and_comments.json", _shape="objects", _size="max", q=q
    ).json()
    assert data.get("error") is None
    found: list[dict[str, Any]] = data["rows"]
    return found


@pytest.mark.parametrize("q", ["menu café", "MENU cafe", "cafe menu"])
def test_words_in_any_order_find_what_mirror_search_finds(
    ds: Datasette, mirror: Path, q: str
) -> None:
    found = canned_search(ds, q)
    assert len(found) < 100  # under the canned query's limit: the whole answer
    assert hit_keys(found) == hit_keys(search(mirror, q, "--limit", "1000")) != set()
    assert hit_keys(found) == hit_keys(canned_search(ds, " ".join(reversed(q.split()))))
