"""SQL built from user input binds its values: hostile strings through every entry point, on
both databases (Datasette's canned queries on SQLite, the only database it reads)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from datasette.app import Datasette
from sqlalchemy import inspect

from assembla_mirror import Mirror
from assembla_mirror.cli import cli
from assembla_mirror.errors import ConfigError
from assembla_mirror.simulator import Simulator
from tests.expected import Db, reading
from tests.support import run_sync_in_process

HOSTILE = [
    "x' OR '1'='1",
    "1; DROP TABLE tickets; --",
    '" OR 1=1 --',
    "') UNION SELECT raw_json FROM tickets --",
    "%' OR 1=1 OR '",
]


def fingerprint(db: Db) -> list[tuple[str, int]]:
    """Every table of the mirror with its number of rows: a dropped table or row shows."""
    with reading(db) as conn:
        tables = sorted(inspect(conn).get_table_names())
        return [
            (t, conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar_one()) for t in tables
        ]


@pytest.fixture
def intact(mirror: str) -> Iterator[None]:
    before = fingerprint(mirror)
    yield
    assert fingerprint(mirror) == before


@pytest.mark.usefixtures("intact")
@pytest.mark.parametrize("hostile", HOSTILE)
def test_object_api(mirror: str, hostile: str) -> None:
    with Mirror(mirror) as m:
        assert m.spaces(name=hostile) == []
        assert m.tickets(summary=hostile, status_name=[hostile, "New"]) == []
        assert m.tasks(space=hostile) == []
        assert m.events(space=hostile) == []
        with pytest.raises(ConfigError):
            m.tickets(**{hostile: 1})  # a hostile *name* is refused, not interpolated
        with pytest.raises(ConfigError):
            m.tasks(since=hostile)
        m.search(hostile)


@pytest.mark.usefixtures("intact")
@pytest.mark.parametrize("hostile", HOSTILE)
def test_cli_entry_points(mirror: str, hostile: str) -> None:
    runner = CliRunner()
    db = ["--db", mirror]
    for args in (
        ["report", "hours", *db, "--space", hostile],
        ["report", "tickets", *db, "--by", "status", "--space", hostile],
        ["report", "activity", *db, "--space", hostile],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert "Traceback" not in result.output
        assert "space" in result.output.lower()
    for args in (
        ["report", "hours", *db, "--from", hostile],
        ["report", "activity", *db, "--day", hostile],
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        assert "Invalid value" in result.output
    searched = runner.invoke(cli, ["search", *db, "--format", "json", hostile])
    assert searched.exit_code == 0, searched.output
    assert isinstance(json.loads(searched.stdout), list)


@pytest.mark.parametrize("hostile", HOSTILE)
def test_sync_space_selection(in_process_sim: Simulator, db: Path, hostile: str) -> None:
    # The names are matched against the account's spaces before anything is stored: the
    # database is incidental (a SQLite file).
    with pytest.raises(ConfigError, match="no space matches"):
        run_sync_in_process(in_process_sim, db, spaces=(hostile,))
    assert run_sync_in_process(in_process_sim, db).ok  # and the mirror still works
    assert fingerprint(db)


def test_datasette_canned_queries_bind_their_parameters(synced_mirror: Path) -> None:
    mirror = synced_mirror
    before = fingerprint(mirror)
    result = CliRunner().invoke(cli, ["datasette", "--no-serve", "--db", str(mirror)])
    assert result.exit_code == 0, result.output
    metadata = json.loads((mirror.parent / "assembla.metadata.json").read_text("utf-8"))
    datasette = Datasette([str(mirror)], metadata=metadata)
    asyncio.run(datasette.invoke_startup())
    queries = metadata["databases"][mirror.stem]["queries"]
    assert queries
    for name, query in queries.items():
        params = dict.fromkeys(query.get("params", []), HOSTILE[0])
        response = asyncio.run(datasette.client.get(f"/{mirror.stem}/{name}.json", params=params))
        # a hostile value is just a value: a clean answer (or a clean refusal), never SQL
        assert response.status_code in (200, 400), (name, response.text[:300])
    assert fingerprint(mirror) == before
