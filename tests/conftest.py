"""Shared test fixtures: every test runs with a clean ASSEMBLA_* environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from assembla_mirror.simulator import Simulator, World


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
def db(tmp_path: Path) -> Path:
    """Where a test's mirror lives."""
    return tmp_path / "mirror.db"
