"""Fixtures of the read-side tests: ``mirror`` is the session's shared synced mirror.

It is built once per session (``synced_account`` in ``tests/conftest.py``, which
the command-line tests share too), in-process, and is read-only: a test that
changes the mirror works on a copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mirror(synced_mirror: Path) -> Path:
    """The shared synced mirror (small world, seed 11, comments included), to read only."""
    return synced_mirror
