"""The mirror's Datasette plugin (``read/datasette/plugin``), in a real Datasette over the
shared synced mirror: names for ids and codes, row titles, folded column descriptions,
row limits said out loud and full CSV exports, the dashboard's configuration; and a
database that is not a mirror left exactly as Datasette shows it.

What a person sees of the same pages in a browser: tests/browser/test_datasette_names.py.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from datasette.app import Datasette
from markupsafe import escape

from assembla_mirror.read.datasette import build_metadata
from assembla_mirror.read.datasette.dashboards import DASHBOARD, dashboards
from assembla_mirror.read.datasette.queries import QUERIES
from assembla_mirror.store.database import open_existing
from assembla_mirror.store.named_views import PRIORITIES
from tests.read.use_mirror import rows

#: A row limit small enough for the shared mirror's answers to exceed it.
SMALL_LIMIT = 7


@pytest.fixture(scope="module")
def metadata(synced_mirror: Path) -> dict[str, Any]:
    engine = open_existing(synced_mirror)
    with engine.connect() as conn:
        built = build_metadata(conn, "assembla")
    engine.dispose()
    return built


def serve(paths: list[Path], metadata: dict[str, Any] | None = None, **settings: Any) -> Datasette:
    datasette = Datasette([str(path) for path in paths], metadata=metadata, settings=settings)
    asyncio.run(datasette.invoke_startup())
    return datasette


@pytest.fixture(scope="module")
def ds(synced_mirror: Path, metadata: dict[str, Any]) -> Datasette:
    return serve([synced_mirror], metadata, max_returned_rows=SMALL_LIMIT)


def get(ds: Datasette, path: str, status: int = 200, **params: str) -> httpx.Response:
    response: httpx.Response = asyncio.run(ds.client.get(path, params=params))
    assert response.status_code == status, (path, response.text[:500])
    return response


def test_the_plugin_is_installed_with_the_package(ds: Datasette) -> None:
    names = {plugin["name"] for plugin in get(ds, "/-/plugins.json").json()}
    assert {"assembla-mirror", "datasette-dashboards"} <= names


def test_a_ticket_s_ids_and_codes_show_names(ds: Datasette, synced_mirror: Path) -> None:
    ((ticket, milestone, title, priority, state, assignee, person),) = rows(
        synced_mirror,
        "SELECT k.id, k.milestone_id, m.title, k.priority, k.state, k.assigned_to_id, u.name"
        " FROM tickets AS k JOIN milestones AS m ON m.id = k.milestone_id"
        " JOIN users AS u ON u.id = k.assigned_to_id ORDER BY k.id LIMIT 1",
    )
    page = get(ds, f"/assembla/tickets/{ticket}").text
    cell = re.search(r'<td class="col-milestone_id[^"]*">(.*?)</td>', page, re.S)
    assert cell is not None
    assert f'href="/assembla/milestones/{milestone}"' in cell.group(1)
    assert f">{title}</a>" in cell.group(1)
    assert f">{person}</a>" in page
    assert f'title="{assignee}"' in page  # the id stays at hand
    assert f"{PRIORITIES[priority]} <small>({priority})</small>" in page
    assert f"{'open' if state == 1 else 'closed'} <small>({state})</small>" in page


def test_an_id_the_mirror_does_not_hold_shows_as_stored(
    tmp_path: Path, synced_mirror: Path
) -> None:
    copy = tmp_path / "assembla.db"
    with sqlite3.connect(synced_mirror) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        (ticket,) = conn.execute("SELECT id FROM tickets ORDER BY id LIMIT 1").fetchone()
        conn.execute("UPDATE tickets SET milestone_id = 987654321 WHERE id = ?", (ticket,))
    page = get(serve([copy]), f"/assembla/tickets/{ticket}").text
    cell = re.search(r'<td class="col-milestone_id[^"]*">(.*?)</td>', page, re.S)
    assert cell is not None
    assert cell.group(1).strip() == "987654321"


def test_a_row_page_is_titled_by_what_it_is(ds: Datasette, synced_mirror: Path) -> None:
    ((ticket, number, summary),) = rows(
        synced_mirror, "SELECT id, number, summary FROM tickets ORDER BY id LIMIT 1"
    )
    page = get(ds, f"/assembla/tickets/{ticket}").text
    title = f"#{number} {summary}"
    assert '<h1 class="mirror-row-title"' in page
    assert re.search(rf'class="mirror-row-title"[^>]*>{re.escape(title)}</h1>', page)
    assert f"<title>{title} (tickets)</title>" in page
    ((user, name),) = rows(synced_mirror, "SELECT id, name FROM users ORDER BY id LIMIT 1")
    assert f">{name}</h1>" in get(ds, f"/assembla/users/{user}").text


def test_column_descriptions_fold_under_one_line(ds: Datasette, metadata: dict[str, Any]) -> None:
    page = get(ds, "/assembla/tickets", _size="1").text
    columns = metadata["databases"]["assembla"]["tables"]["tickets"]["columns"]
    assert f"<summary>What the {len(columns)} columns hold</summary>" in page
    assert ".content > dl.column-descriptions { display: none; }" in page
    folded = page.index('<details class="mirror-columns">')
    assert folded < page.index('<table class="rows-and-columns">')


def test_a_canned_query_says_its_row_limit_and_exports_every_row(
    ds: Datasette, synced_mirror: Path
) -> None:
    ((closed,),) = rows(synced_mirror, "SELECT count(*) FROM tickets WHERE state = 0")
    assert closed > SMALL_LIMIT
    page = get(ds, "/assembla/tickets_closed_between").text
    assert f"more than {SMALL_LIMIT} rows: only the first {SMALL_LIMIT} are shown" in page
    link = re.search(r'class="mirror-export" href="([^"]+)"', page)
    assert link is not None
    assert link.group(1) == "/-/mirror-export/assembla/tickets_closed_between.csv"
    exported = list(csv.reader(io.StringIO(get(ds, link.group(1)).text)))
    assert exported[0][:3] == ["space", "number", "summary"]
    assert len(exported) - 1 == closed  # every row, not the page's
    datasette_csv = list(
        csv.reader(io.StringIO(get(ds, "/assembla/tickets_closed_between.csv").text))
    )
    assert len(datasette_csv) - 1 == SMALL_LIMIT  # what the plugin's link makes up for


def test_the_export_takes_the_form_s_parameters(ds: Datasette, synced_mirror: Path) -> None:
    ((space, closed),) = rows(
        synced_mirror,
        "SELECT s.name, count(*) FROM tickets AS k JOIN spaces AS s ON s.id = k.space_id"
        " WHERE k.state = 0 GROUP BY s.id ORDER BY count(*) DESC LIMIT 1",
    )
    page = get(ds, "/assembla/tickets_closed_between", space=space).text
    link = re.search(r'class="mirror-export" href="([^"]+)"', page)
    assert link is not None
    path, _, query = html.unescape(link.group(1)).partition("?")
    assert parse_qs(query) == {"space": [space]}
    exported = list(csv.reader(io.StringIO(get(ds, path, space=space).text)))
    assert len(exported) - 1 == closed
    assert {row[0] for row in exported[1:]} == {space}


def test_a_short_answer_says_the_limit_without_a_warning(ds: Datasette) -> None:
    page = get(ds, "/assembla/hours_by_space_between").text
    assert f"A page shows at most {SMALL_LIMIT} rows." in page
    assert "message-warning" not in page.split('class="mirror-row-limit', 1)[1][:40]


def test_only_canned_queries_are_exported(ds: Datasette) -> None:
    get(ds, "/-/mirror-export/assembla/no_such_query.csv", status=404)
    get(ds, "/-/mirror-export/nowhere/tickets_closed_between.csv", status=404)


def test_a_database_that_is_not_a_mirror_is_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, priority INTEGER, summary)")
        conn.execute("INSERT INTO tickets VALUES (1, 2, 'not Assembla')")
    datasette = serve([other])
    row = get(datasette, "/other/tickets/1").text
    assert "mirror-row-title" not in row
    assert "<small>(2)</small>" not in row
    assert "mirror-columns" not in get(datasette, "/other/tickets").text


def test_the_metadata_configures_the_dashboard(metadata: dict[str, Any]) -> None:
    assert metadata["plugins"]["datasette-dashboards"] == dashboards("assembla")
    charts = dashboards("assembla")[DASHBOARD]["charts"]
    assert {"hours-per-week", "open-by-status", "cumulative-flow", "burndown"} <= set(charts)


def with_filters(sql: str, filters: dict[str, str]) -> tuple[str, dict[str, str]]:
    """``sql`` as datasette-dashboards runs it: each ``[[ ... ]]`` kept when its
    parameter is set, dropped otherwise."""

    def clause(match: re.Match[str]) -> str:
        names = re.findall(r":(\w+)", match.group(1))
        return match.group(1) if all(filters.get(name) for name in names) else ""

    return re.sub(r"\[\[(.*?)\]\]", clause, sql), filters


@pytest.mark.parametrize("filtered", [False, True], ids=["unfiltered", "filtered"])
def test_every_chart_s_query_answers_within_the_row_limit(
    synced_mirror: Path, filtered: bool
) -> None:
    ((space, milestone),) = rows(
        synced_mirror,
        "SELECT s.name, m.title FROM milestones AS m JOIN spaces AS s ON s.id = m.space_id"
        " WHERE NOT COALESCE(m.is_completed, 0) ORDER BY m.due_date LIMIT 1",
    )
    filters = (
        {"space": space, "milestone": milestone, "from": "2026-01-01", "to": "2026-12-31"}
        if filtered
        else {}
    )
    dashboard = dashboards("assembla")[DASHBOARD]
    with sqlite3.connect(synced_mirror) as conn:
        for name, chart in dashboard["charts"].items():
            sql, params = with_filters(chart["query"], filters)
            answer = conn.execute(sql, params).fetchall()
            assert answer, name
            assert len(answer) <= 1000, (name, len(answer))  # Datasette's default limit
        for name, spec in dashboard["filters"].items():
            if "query" in spec:
                assert conn.execute(spec["query"]).fetchall(), name


def test_no_canned_query_is_a_write(metadata: dict[str, Any]) -> None:
    # The export runs canned queries as they are: none may change the mirror.
    assert not [name for name, query in QUERIES.items() if query.get("write")]


def test_a_team_list_value_shows_the_person(ds: Datasette, synced_mirror: Path) -> None:
    found = rows(
        synced_mirror,
        "SELECT f.ticket_id, f.value, u.name FROM ticket_custom_fields AS f"
        " JOIN custom_fields AS c ON c.id = f.custom_field_id"
        " JOIN users AS u ON u.id = f.value WHERE c.type = 'Team List' LIMIT 1",
    )
    assert found, "the shared mirror has a Team List value"
    ((ticket, user, name),) = found
    page = get(ds, "/assembla/ticket_custom_fields", ticket_id=str(ticket)).text
    assert f'href="/assembla/users/{user}" title="{user}">{name}</a>' in page
    # a text field's value is left as it is
    ((text_value,),) = rows(
        synced_mirror,
        "SELECT f.value FROM ticket_custom_fields AS f JOIN custom_fields AS c"
        " ON c.id = f.custom_field_id WHERE c.type = 'Text' AND f.value <> '' LIMIT 1",
    )
    assert f'<td class="col-value type-str">{escape(str(text_value))}</td>' in (
        get(ds, "/assembla/ticket_custom_fields", value=str(text_value)).text
    )


@pytest.mark.parametrize("name", ["tickets_closed_between", "open_tickets_by_status_and_milestone"])
def test_ticket_queries_name_the_missing_milestone(ds: Datasette, name: str) -> None:
    exported = list(
        csv.DictReader(io.StringIO(get(ds, f"/-/mirror-export/assembla/{name}.csv").text))
    )
    milestones = {row["milestone"] for row in exported}
    assert "" not in milestones
    assert "(no milestone)" in milestones


def test_plain_datasette_gets_the_mirror_s_metadata(
    synced_mirror: Path, metadata: dict[str, Any]
) -> None:
    # `datasette assembla.db` with no -m: the plugin supplies what mirror datasette writes
    plain = serve([synced_mirror])
    assert get(plain, "/-/metadata.json").json()["title"] == metadata["title"]
    database = get(plain, "/assembla.json").json()
    assert {query["name"] for query in database["queries"]} == set(QUERIES)
    facets = get(plain, "/assembla/ticket_overview.json", _size="1").json()["facet_results"]
    assert set(facets) == set(
        metadata["databases"]["assembla"]["tables"]["ticket_overview"]["facets"]
    )
    get(plain, "/-/dashboards/assembla")


def test_metadata_given_with_m_wins(synced_mirror: Path, metadata: dict[str, Any]) -> None:
    own = {
        "title": "Our team's mirror",
        "databases": {"assembla": {"tables": {"tickets": {"facets": ["status"]}}}},
    }
    served = serve([synced_mirror], own)
    assert get(served, "/-/metadata.json").json()["title"] == "Our team's mirror"
    facets = get(served, "/assembla/tickets.json", _size="1").json()["facet_results"]
    assert set(facets) == {"status"}
    # what -m leaves unsaid still comes from the plugin
    assert get(served, "/assembla/tickets_closed_between").status_code == 200
