"""A reconciliation deletes only what it has verified is gone, and never most of a space
on one answer.

``--full`` used to trust a ``number[]`` answer made of 100 copies of one ticket and
deleted 474 of 486 tickets. Now an answer that cannot be true deletes nothing,
and deleting more than a small share of a space asks for each ticket on its own.

What to delete is decided before the database is touched, so these run on SQLite;
a verified mass deletion, which deletes tickets and their dependent rows, also runs
on PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.sync.walks import deletion_allowance
from tests.expected import Db, expected_rows, mirrored_rows, select_bound
from tests.support import run_sync

ONE_TICKET = "GET /v1/spaces/:space/tickets/:number"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """An account with spaces of about 300 tickets, served on loopback."""
    world = World.generate(seed=31, scale=Scale.parse("small,tickets_per_space=300"))
    with Simulator(world) as simulator:
        yield simulator


@pytest.fixture
def synced(sim: Simulator, db: Path) -> Path:
    """A SQLite mirror of ``sim``, its request log cleared."""
    assert run_sync(sim, db).ok
    sim.clear_log()
    return db


def big_space(sim: Simulator) -> str:
    """The id of the space with the most tickets."""
    return max(sim.world.spaces_of(), key=lambda s: len(sim.world.state.spaces[s.id].tickets)).id


def tickets_in(db: Db, space: str) -> int:
    """How many tickets of ``space`` the mirror ``db`` holds."""
    query = "SELECT count(*) FROM tickets WHERE space_id = :space"
    return int(select_bound(db, query, space=space)[0][0])


def delete_upstream(sim: Simulator, space: str, count: int) -> None:
    """Delete the ``count`` lowest-numbered tickets of ``space`` on the server."""
    for number in sorted(sim.world.state.spaces[space].tickets)[:count]:
        sim.world.delete_ticket(space, number)


def test_an_answer_of_copies_deletes_nothing(db: Path) -> None:
    """The walk is cut short before its last few tickets, and the check of those answers
    100 copies of one ticket: the issue's case. Nothing is deleted, and the warning says why."""
    world = World.generate(seed=31, scale=Scale.parse("small,tickets_per_space=215"))
    with Simulator(world) as sim:
        assert run_sync(sim, db).ok
        space = big_space(sim)
        stored = tickets_in(db, space)
        assert 0 < stored - 200 <= deletion_allowance(stored)  # the batch check is used
        path = f"/v1/spaces/{space}/tickets"
        sim.faults.enqueue("empty", path_prefix=path, query="page=3")
        sim.faults.enqueue("copies", path_prefix=path, query="number[]")
        report = run_sync(sim, db, full=True)
        assert report.ok
        assert tickets_in(db, space) == stored
        assert any(
            f"not deleting {stored - 200} of {stored}" in warning and "100 copies" in warning
            for warning in report.warnings
        ), report.warnings
        # told the truth, the next reconciliation finds nothing to delete
        assert run_sync(sim, db, full=True).changes.get("tickets", {}).get("deleted", 0) == 0
        assert mirrored_rows(db, "tickets") == expected_rows(sim.world.truth(), "tickets")


def test_a_deletion_below_the_allowance_is_checked_in_batches(sim: Simulator, synced: Path) -> None:
    space = big_space(sim)
    stored = tickets_in(synced, space)
    delete_upstream(sim, space, 5)  # --only tickets: the delete events go unread
    report = run_sync(sim, synced, full=True, only=frozenset({"tickets"}))
    assert report.changes["tickets"]["deleted"] == 5
    assert tickets_in(synced, space) == stored - 5
    assert sim.request_counts()[ONE_TICKET] == 0


def test_a_walk_cut_short_costs_requests_not_tickets(sim: Simulator, synced: Path) -> None:
    space = big_space(sim)
    stored = tickets_in(synced, space)
    sim.faults.enqueue("empty", path_prefix=f"/v1/spaces/{space}/tickets", query="page=2")
    report = run_sync(sim, synced, full=True)
    assert report.ok
    assert tickets_in(synced, space) == stored
    unseen = stored - 100
    assert unseen > deletion_allowance(stored)
    assert sim.request_counts()[ONE_TICKET] == unseen  # each checked on its own


def test_a_real_mass_deletion_is_verified_and_applied(sim: Simulator, mirror_db: str) -> None:
    assert run_sync(sim, mirror_db).ok
    sim.clear_log()
    synced = mirror_db
    space = big_space(sim)
    stored = tickets_in(synced, space)
    gone = math.ceil(stored / 5)
    assert gone > deletion_allowance(stored)
    delete_upstream(sim, space, gone)
    report = run_sync(sim, synced, full=True, only=frozenset({"tickets"}))
    assert report.changes["tickets"]["deleted"] == gone
    assert sim.request_counts()[ONE_TICKET] == gone
    assert mirrored_rows(synced, "tickets") == expected_rows(sim.world.truth(), "tickets")
