"""Streams declared once: the engine, ``--only`` and the dry run all read the declarations.

What a stream stores goes through the same writes on every database (shown on
both in test_sync_full and test_sync_incremental); these run on SQLite only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assembla_mirror.model import convert as n
from assembla_mirror.model.tables import TABLES
from assembla_mirror.simulator import Simulator
from assembla_mirror.sync import RESOURCES, SyncOptions
from assembla_mirror.sync.declare import Parent, Stream, WholeList
from assembla_mirror.sync.plan import plan_sync
from assembla_mirror.sync.streams import STREAMS
from tests.expected import select_bound
from tests.support import credentials_for, run_sync, settings_for


def test_every_declared_stream_is_a_resource_and_writes_a_mirrored_table() -> None:
    assert tuple(STREAMS) == RESOURCES
    assert {stream.spec.table for stream in STREAMS.values()} <= set(TABLES)
    for name, stream in STREAMS.items():
        assert stream.name == name


def test_adding_a_resource_is_a_declaration(
    sim: Simulator, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream declared here, and nowhere else, is synced, checkpointed and planned."""
    upcoming = Stream(
        "upcoming_milestones",
        n.MILESTONES,
        Parent.SPACE,
        WholeList("{space}/milestones/upcoming", keeps_missing=True),
    )
    monkeypatch.setitem(STREAMS, upcoming.name, upcoming)
    spaces = len(sim.world.spaces_of())

    plan = plan_sync(SyncOptions(db_path=db), settings_for(sim), credentials_for(sim))
    assert [item.resource for item in plan.items].count(upcoming.name) == spaces

    assert run_sync(sim, db).ok
    asked = sim.request_counts()["GET /v1/spaces/:space/milestones/upcoming"]
    assert asked == spaces
    states = select_bound(
        db,
        "SELECT count(*) FROM sync_state WHERE resource = :resource AND synced_at IS NOT NULL",
        resource=upcoming.name,
    )
    assert states == [(spaces,)]
    sim.clear_log()
    assert run_sync(sim, db).ok  # not due again within the day: no request
    assert sim.request_counts()["GET /v1/spaces/:space/milestones/upcoming"] == 0


def test_the_dry_run_asks_every_declared_stream(sim: Simulator, db: Path) -> None:
    options = SyncOptions(db_path=db, with_comments=True, with_associations=True, with_files=True)
    plan = plan_sync(options, settings_for(sim), credentials_for(sim))
    planned = {item.resource for item in plan.items} - {"caller and spaces"}
    assert planned == set(RESOURCES)
