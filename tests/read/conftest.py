"""Fixtures of the read-side tests: ``mirror`` is the session's shared synced mirror, on
each backend.

It is built once per session and backend (``synced_on`` in ``tests/conftest.py``,
which the command-line tests share too), in-process, and is read-only: a test
that changes the mirror works on a copy, or in a transaction it rolls back.
"""

from __future__ import annotations

import pytest

from tests.read.use_mirror import SharedMirror


@pytest.fixture(scope="session")
def mirror(synced_on: SharedMirror) -> str:
    """The shared synced mirror (small world, seed 11, comments included), to read only:
    a SQLite file's path, then a PostgreSQL schema's URL."""
    return synced_on.db
