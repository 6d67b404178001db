"""The generated Datasette metadata, served by a real Datasette over a synced mirror:
descriptions, facets, labels, sorting, full-text search and every canned query.

Datasette reads SQLite files only, so these tests use the shared SQLite mirror; that
every table, view and column is described is checked on both databases, and that
`mirror datasette` refuses a PostgreSQL mirror clearly, in tests/cli/test_cli_urls.py.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from datasette.app import Datasette
from markupsafe import escape

from assembla_mirror.cli import cli
from assembla_mirror.model.tables import Base
from assembla_mirror.read.datasette import QUERIES, missing_descriptions
from assembla_mirror.read.datasette.descriptions import COLUMNS, VIEWS
from assembla_mirror.read.datasette.metadata import TABLES, schema_columns
from assembla_mirror.store.database import open_existing
from tests.read.use_mirror import SharedMirror, has_word_starting, rows


@pytest.fixture(scope="module")
def mirror(synced_mirror: Path) -> Path:
    """The shared synced SQLite mirror (read only): the database Datasette can serve."""
    return synced_mirror


@pytest.fixture(scope="module")
def metadata(mirror: Path) -> dict[str, Any]:
    """The metadata as `mirror datasette --no-serve` writes it beside the database."""
    result = CliRunner().invoke(cli, ["datasette", "--no-serve", "--db", str(mirror)])
    assert result.exit_code == 0, result.output
    path = mirror.parent / "assembla.metadata.json"
    assert str(path) in result.output
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def ds(mirror: Path, metadata: dict[str, Any]) -> Datasette:
    """What `datasette assembla.db -m assembla.metadata.json` serves."""
    datasette = Datasette([str(mirror)], metadata=metadata)
    asyncio.run(datasette.invoke_startup())
    return datasette


def get(ds: Datasette, path: str, **params: str) -> httpx.Response:
    response: httpx.Response = asyncio.run(ds.client.get(path, params=params))
    assert response.status_code == 200, (path, response.text[:500])
    return response


def test_every_table_view_and_column_is_described(synced_on: SharedMirror) -> None:
    # On both databases: the descriptions are the documentation of the tables, views and
    # columns, which have the same names on PostgreSQL.
    engine = open_existing(synced_on.db)
    with engine.connect() as conn:
        assert missing_descriptions(conn) == []
        schema = schema_columns(conn)
    engine.dispose()
    assert set(Base.metadata.tables) | set(VIEWS) <= set(schema)
    # and nothing is described that does not exist (a renamed column, a typo)
    for table, columns in COLUMNS.items():
        assert table in schema, table
        assert set(columns) <= set(schema[table]), table
    assert set(TABLES) <= set(schema)


def test_no_canned_query_hides_a_table_or_view(synced_on: SharedMirror) -> None:
    # Datasette serves a canned query in place of a table or view of the same name.
    engine = open_existing(synced_on.db)
    with engine.connect() as conn:
        names = set(schema_columns(conn))
    engine.dispose()
    assert not names & set(QUERIES)


def test_metadata_loads_and_each_page_shows_its_descriptions(
    ds: Datasette, metadata: dict[str, Any]
) -> None:
    login = rows(
        Path(ds.databases["assembla"].path),
        "SELECT value FROM mirror_meta WHERE key = 'caller_login'",
    )[0][0]
    assert get(ds, "/-/metadata.json").json()["title"] == f"Assembla mirror of {login}"
    tables = metadata["databases"]["assembla"]["tables"]
    for table, entry in tables.items():
        page = get(ds, f"/assembla/{table}").text
        assert str(escape(entry["description"])) in page, table
        for column, description in entry["columns"].items():
            assert f"<dt>{column}</dt><dd>{escape(description)}</dd>" in page, (table, column)
    assert "Ticket comments" not in tables  # FTS internals are not described or listed
    assert not [name for name in tables if name.endswith(("_fts", "_fts_data"))]


def test_facets_and_sort_orders_apply(ds: Datasette, metadata: dict[str, Any]) -> None:
    tables = metadata["databases"]["assembla"]["tables"]
    for table, entry in tables.items():
        if "facets" not in entry:
            continue
        data = get(ds, f"/assembla/{table}.json", _shape="objects").json()
        assert set(data["facet_results"]) == set(entry["facets"]), table
        assert all(facet["results"] for facet in data["facet_results"].values()), table
        sort_desc = entry.get("sort_desc")
        if sort_desc and data["rows"]:
            values = [row[sort_desc] for row in data["rows"] if row[sort_desc] is not None]
            assert values == sorted(values, reverse=True), table
    statuses = get(ds, "/assembla/tickets.json").json()["facet_results"]["status"]["results"]
    db = Path(ds.databases["assembla"].path)
    counted = dict(rows(db, "SELECT status, count(*) FROM tickets GROUP BY 1"))
    assert {facet["value"]: facet["count"] for facet in statuses} == counted


def test_hidden_tables_and_labels(ds: Datasette, mirror: Path) -> None:
    listed = get(ds, "/assembla.json").json()["tables"]
    hidden = {table["name"] for table in listed if table["hidden"]}
    assert {"sync_state", "mirror_meta", "alembic_version", "tickets_fts"} <= hidden
    assert "tickets" not in hidden
    assert "sync_runs" not in hidden
    comments = get(ds, "/assembla/ticket_comments.json", _labels="on", _shape="objects")
    row = comments.json()["rows"][0]
    summary = rows(
        mirror, "SELECT summary FROM tickets WHERE id = :id", id=row["ticket_id"]["value"]
    )
    assert row["ticket_id"]["label"] == summary[0][0]
    tasks = get(ds, "/assembla/tasks.json", _labels="on", _shape="objects").json()["rows"]
    names = dict(rows(mirror, "SELECT id, name FROM spaces"))
    assert tasks[0]["space_id"]["label"] == names[tasks[0]["space_id"]["value"]]


@pytest.mark.parametrize("query", ["cafe", "RÉSUMÉ", "検索フォーム", "إصلاح"])
def test_table_search_uses_the_full_text_index(ds: Datasette, mirror: Path, query: str) -> None:
    found = get(ds, "/assembla/tickets.json", _search=query, _shape="objects", _size="max")
    ids = {row["id"] for row in found.json()["rows"]}
    expected = {
        ticket_id
        for ticket_id, summary, description in rows(
            mirror, "SELECT id, summary, description FROM tickets"
        )
        # the search box matches whole words (no prefix): "cafe" is not "cafeteria"
        if has_word_starting(f"{summary} {description}", query)
    }
    assert ids == expected != set()


def sample_parameters(mirror: Path) -> dict[str, str]:
    """Values for every canned query parameter, drawn from the mirror."""
    last_day = rows(mirror, "SELECT date(max(begin_at)) FROM tasks")[0][0]
    milestone = rows(
        mirror,
        "SELECT m.title FROM milestones m JOIN tickets k ON k.milestone_id = m.id "
        "WHERE m.start_date IS NOT NULL GROUP BY m.id ORDER BY count(*) DESC LIMIT 1",
    )[0][0]
    event_day = rows(mirror, "SELECT date(max(date)) FROM events")[0][0]
    return {
        "from": "2026-01-01",
        "to": last_day,
        "space": "",
        "milestone": milestone,
        "days": "7",
        "day": event_day,
        "q": "café menu",
    }


def test_every_canned_query_runs_and_returns_rows(ds: Datasette, mirror: Path) -> None:
    samples = sample_parameters(mirror)
    seen: set[str] = set()
    for name in QUERIES:
        data = get(ds, f"/assembla/{name}.json", _shape="objects", **samples).json()
        assert data.get("error") is None, name
        assert data["rows"], name
        seen.add(name)
        # blank parameters (how Datasette opens the form) run too
        blank = get(ds, f"/assembla/{name}.json", _shape="objects").json()
        assert blank.get("error") is None, name
    assert seen == set(QUERIES)
    assert set(get(ds, "/assembla.json").json()["queries"][0]) >= {"name", "sql", "title"}


def test_canned_queries_agree_with_the_data(ds: Datasette, mirror: Path) -> None:
    def query(name: str, **params: str) -> list[dict[str, Any]]:
        data = get(ds, f"/assembla/{name}.json", _shape="objects", _size="max", **params).json()
        return list(data["rows"])

    hours = query("hours_by_space_between", **{"from": "2026-03-01", "to": "2026-03-31"})
    expected = rows(
        mirror,
        "SELECT s.name, round(total(t.hours), 2) FROM spaces s LEFT JOIN tasks t "
        "ON t.space_id = s.id AND substr(t.begin_at, 1, 7) = '2026-03' GROUP BY s.id",
    )
    assert {row["space"]: row["hours"] for row in hours} == dict(expected)
    space = rows(mirror, "SELECT wiki_name FROM spaces LIMIT 1")[0][0]
    weekly = query("hours_by_person_and_week", space=space.upper())
    total = rows(
        mirror,
        "SELECT round(sum(hours), 2) FROM tasks t JOIN spaces s ON s.id = t.space_id "
        "WHERE s.wiki_name = :space",
        space=space,
    )[0][0]
    assert round(sum(row["hours"] for row in weekly), 2) == total

    milestone = sample_parameters(mirror)["milestone"]
    lines: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in query("milestone_burndown_by_day", milestone=milestone):
        lines.setdefault((row["space"], row["milestone"]), []).append(row)
    assert lines
    for (space, title), days in lines.items():
        dates = [date.fromisoformat(row["day"]) for row in days]
        assert all(b - a == timedelta(days=1) for a, b in pairwise(dates))
        assert all(0 <= row["open_tickets"] <= max(r["open_tickets"] for r in days) for row in days)
        ideal = [row["ideal_open_tickets"] for row in days if row["ideal_open_tickets"] is not None]
        assert ideal == sorted(ideal, reverse=True)  # a straight line down to the due date
        (completed,) = rows(
            mirror,
            "SELECT m.is_completed FROM milestones m JOIN spaces s ON s.id = m.space_id "
            "WHERE s.name = :space AND m.title = :title",
            space=space,
            title=title,
        )[0]
        if not completed:  # it runs through today, where the history meets the tickets
            open_now = rows(
                mirror,
                "SELECT count(*) FROM tickets k JOIN milestones m ON m.id = k.milestone_id "
                "JOIN spaces s ON s.id = m.space_id "
                "WHERE s.name = :space AND m.title = :title AND k.state = 1",
                space=space,
                title=title,
            )[0][0]
            assert days[-1]["open_tickets"] == open_now
            assert days[-1]["day"] == datetime.now(UTC).date().isoformat()

    cutoff = (datetime.now(UTC) - timedelta(days=60)).strftime("%Y-%m-%d %H:%M:%S")
    active = set(
        rows(
            mirror,
            "SELECT s.name, k.number FROM tickets k JOIN spaces s ON s.id = k.space_id "
            "JOIN tasks t ON t.ticket_id = k.id "
            "WHERE t.begin_at >= :cutoff OR t.updated_at >= :cutoff "
            "UNION SELECT s.name, k.number FROM tickets k JOIN spaces s ON s.id = k.space_id "
            "JOIN ticket_comments c ON c.ticket_id = k.id WHERE c.created_on >= :cutoff",
            cutoff=cutoff,
        )
    )
    idle = {
        (space, number)
        for space, number, state, updated_at in rows(
            mirror,
            "SELECT s.name, k.number, k.state, k.updated_at FROM tickets k "
            "JOIN spaces s ON s.id = k.space_id",
        )
        if state == 1 and updated_at < cutoff and (space, number) not in active
    }
    stale = query("stale_tickets", days="60")
    assert {(row["space"], row["number"]) for row in stale} == idle != set()
    assert all(row["idle_days"] >= 60 for row in stale)


def test_cli_writes_metadata_where_asked(mirror: Path, tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    result = CliRunner().invoke(
        cli, ["datasette", "--no-serve", "--db", str(mirror), "--metadata-out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert set(json.loads(target.read_text(encoding="utf-8"))["databases"]) == {"assembla"}


def test_missing_datasette_is_a_clear_error(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasette.cli", None)  # as if the extra were not installed
    target = tmp_path / "meta.json"
    result = CliRunner().invoke(
        cli, ["datasette", "--db", str(mirror), "--metadata-out", str(target)]
    )
    assert result.exit_code == 1
    assert "pip install -e '.[datasette]'" in result.output
    assert not target.exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_mirror_datasette_serves_over_http(mirror: Path, tmp_path: Path) -> None:
    db = tmp_path / "team.db"
    shutil.copy(mirror, db)
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assembla_mirror",
            "datasette",
            "--db",
            str(db),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                meta = httpx.get(f"{base}/-/metadata.json", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "Datasette did not start"
                time.sleep(0.2)
        assert meta.json()["databases"]["team"]["queries"].keys() == QUERIES.keys()
        hours = httpx.get(f"{base}/team/hours_by_space_between.json?_shape=array", timeout=10)
        assert {row["space"] for row in hours.json()} == {
            n for (n,) in rows(db, "SELECT name FROM spaces")
        }
        assert (tmp_path / "team.metadata.json").is_file()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_recent_comment_or_time_entry_makes_a_ticket_active(
    mirror: Path, metadata: dict[str, Any], tmp_path: Path
) -> None:
    copy = tmp_path / "assembla.db"
    shutil.copy(mirror, copy)
    datasette = Datasette([str(copy)], metadata=metadata)
    asyncio.run(datasette.invoke_startup())

    def stale() -> set[int]:
        data = get(datasette, "/assembla/stale_tickets.json", _shape="objects", _size="max")
        return {row["number"] for row in data.json()["rows"] if row["space"] == space}

    space, first, second = rows(
        copy,
        "SELECT s.name, min(k.number), max(k.number) FROM tickets k "
        "JOIN spaces s ON s.id = k.space_id WHERE k.state = 1 "
        "AND k.updated_at < datetime('now', '-60 days') GROUP BY s.id LIMIT 1",
    )[0]
    assert {first, second} <= stale()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(copy) as db:
        ticket_id = db.execute(
            "SELECT k.id FROM tickets k JOIN spaces s ON s.id = k.space_id "
            "WHERE s.name = ? AND k.number = ?",
            (space, first),
        ).fetchone()[0]
        db.execute(
            "INSERT INTO ticket_comments (id, ticket_id, comment, created_on, raw_json) "
            "VALUES (999999001, ?, 'still on it', ?, '{}')",
            (ticket_id, now),
        )
        other_id = db.execute(
            "SELECT k.id, k.space_id FROM tickets k JOIN spaces s ON s.id = k.space_id "
            "WHERE s.name = ? AND k.number = ?",
            (space, second),
        ).fetchone()
        db.execute(
            "INSERT INTO tasks (id, space_id, ticket_id, hours, begin_at, raw_json) "
            "VALUES (999999002, ?, ?, 1.5, ?, '{}')",
            (other_id[1], other_id[0], now),
        )
    assert not {first, second} & stale()


def test_canned_queries_show_their_answer_not_their_sql(ds: Datasette, mirror: Path) -> None:
    """A canned query's page opens on its form and rows; the SQL stays behind "Show SQL"
    (``hide_sql``), which still shows it on demand."""
    samples = sample_parameters(mirror)
    name = next(iter(QUERIES))
    page = get(ds, f"/assembla/{name}", **samples).text
    assert "_show_sql=1" in page  # the link that shows it (shown SQL links _hide_sql)
    assert "_hide_sql=1" not in page
    shown = get(ds, f"/assembla/{name}", _show_sql="1", **samples).text
    assert '<input type="hidden" name="_show_sql" value="1">' in shown
    assert all(entry["hide_sql"] for entry in QUERIES.values())


def test_descriptions_are_plain_text(metadata: dict[str, Any]) -> None:
    """The model's docstrings mark names up for Sphinx (double backquotes, ``:mod:``
    roles); Datasette shows text as it is, so none of that markup reaches it."""
    tables = metadata["databases"]["assembla"]["tables"]
    texts = [entry["description"] for entry in tables.values()]
    texts += [text for entry in tables.values() for text in entry["columns"].values()]
    assert any("state" in text for text in texts)
    marked = [text for text in texts if "``" in text or re.search(r":[a-z]+:`", text)]
    assert marked == []
