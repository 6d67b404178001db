"""Fixtures for the simulator's own tests: worlds, running simulators and HTTP clients.

``small_sim`` is shared by a whole module and must only be read; tests that
change the world use ``tiny_sim`` (a fresh account per test).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from assembla_mirror.simulator import Scale, Simulator, World

from .helpers import connect


@pytest.fixture(scope="module")
def small_world() -> World:
    """The four-space account (read-only: shared by the module)."""
    return World.generate(seed=5, scale=Scale.preset("small"))


@pytest.fixture(scope="module")
def small_sim(small_world: World) -> Iterator[Simulator]:
    """A simulator serving ``small_world`` (read-only: shared by the module)."""
    with Simulator(small_world) as sim:
        yield sim


@pytest.fixture
def small(small_sim: Simulator) -> Iterator[httpx.Client]:
    """An authenticated client of ``small_sim`` (the primary caller)."""
    with connect(small_sim) as client:
        yield client


@pytest.fixture
def tiny_sim() -> Iterator[Simulator]:
    """A simulator over a fresh three-space account that a test may change."""
    world = World.generate(seed=3, scale=Scale.parse("tiny,spaces=3"))
    with Simulator(world) as sim:
        yield sim


@pytest.fixture
def tiny(tiny_sim: Simulator) -> Iterator[httpx.Client]:
    """An authenticated client of ``tiny_sim`` (the primary caller)."""
    with connect(tiny_sim) as client:
        yield client
