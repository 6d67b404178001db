"""The read side's store functions on a small hand-made mirror (tests/read covers them on a
synced one): listings, the object API's lookups, reports' rows, schema, status, results.

Each runs on both databases (``mirror_db``): the read side's SQL is shared, and
PostgreSQL is the stricter reader (GROUP BY, types, booleans)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Connection, text

from assembla_mirror.errors import ConfigError
from assembla_mirror.store import listings, objects, reports, results, runs, schema, status
from assembla_mirror.store.database import open_db
from tests.store.test_views import fill


@pytest.fixture
def conn(mirror_db: str) -> Iterator[Connection]:
    """A connection to a hand-made mirror (either database): the views' sample and two
    events on either side of a midnight."""
    engine = open_db(mirror_db)
    with engine.begin() as connection:
        fill(connection)
        connection.execute(
            text(
                "INSERT INTO events (id, date, space_id, author_id, operation, object, title,"
                " raw_json) VALUES ('e1', '2026-03-02 23:30:00', 's1', 'u1', 'created',"
                " 'Ticket', 'Late', '{}'), ('e2', '2026-03-03 00:00:00', 's2', 'nobody',"
                " 'updated', 'Ticket', 'Next day', '{}')"
            )
        )
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_one_of_and_between_build_bound_conditions() -> None:
    assert results.one_of("s.id", "spaces", []) == ("1 = 1", {}, [])
    assert results.one_of("s.id", "spaces", ["a"]) == (
        "s.id IN :spaces",
        {"spaces": ["a"]},
        ["spaces"],
    )
    assert results.day_bounds(date(2026, 1, 31), date(2026, 2, 28)) == ("2026-01-31", "2026-03-01")
    assert results.between("t.begin_at", None, None) == ("1 = 1", {"low": None, "high": None})
    assert results.between("x", date(2026, 1, 1), None)[0] == "1 = 1 AND x >= :low"


def test_hours_rows_cover_every_entry_in_every_grouping(conn: Connection) -> None:
    by_space = reports.hours_rows(conn, "space")
    assert by_space.columns == ("space", "hours", "entries")
    assert by_space.rows[-1] == ("Nobody works here", 0.0, 0)
    totals = {
        by: round(sum(row[-2] for row in reports.hours_rows(conn, by).rows), 2)
        for by in reports.HOURS_BY
    }
    assert set(totals.values()) == {round(2.5 + 1.25 + 3.0 + 1.0 + 0.5 + 0.333 + 2.0, 2)}
    weeks = reports.hours_rows(conn, "week", since=date(2026, 3, 2), until=date(2026, 3, 8))
    assert weeks.rows == [("2026-03-02", 3.75, 2)]
    by_milestone = reports.hours_rows(conn, "milestone", space_ids=["s1"])
    milestones = {row[1]: row[4] for row in by_milestone.rows}
    assert milestones == {"Past due": 4.08, "(no ticket)": 3.0, "(milestone not in mirror)": 0.5}
    users = reports.hours_rows(conn, "user", space_ids=["s2"])
    assert users.columns == ("user", "login", "hours", "entries")
    assert {row[0] for row in users.rows} == {"Ann", "bob", "ghost"}


def test_ticket_counts_and_the_demos_summary(conn: Connection) -> None:
    milestone = reports.ticket_count_rows(conn, "milestone", space_ids=["s2"])
    assert milestone.rows == [
        ("Two", "(milestone not in mirror)", "2999-12-31", 1, 0, 1, 0.0),  # its title is NULL
        ("Two", "(milestone not in mirror)", None, 0, 1, 1, 100.0),
    ]
    assignee = reports.ticket_count_rows(conn, "assignee", space_ids=["s1"])
    assert ("One", "(unassigned)", 1, 0, 1) in assignee.rows
    assert reports.space_hours(conn)[0] == {"space_name": "One", "hours": 7.58, "entries": 5}
    assert reports.open_tickets_per_status(conn) == [
        {"status": "New", "tickets": 2},
        {"status": "Test", "tickets": 1},
    ]
    assert sorted(reports.space_references(conn))[0] == ("s1", None, "One")


def test_event_rows_take_a_range_of_instants(conn: Connection) -> None:
    start = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    end = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    rows = reports.event_rows(conn, start=start, end=end)
    assert [(row[0], row[2], row[5]) for row in rows] == [("One", "Ann", "Late")]
    assert reports.event_rows(conn, start=start, end=end, space_ids=["s2"]) == []


def test_listings_take_only_the_models_columns(conn: Connection) -> None:
    spaces = listings.table_rows(conn, "spaces", ["id", "name"])
    assert spaces.columns == ("id", "name")
    assert len(spaces.rows) == 3
    with pytest.raises(ConfigError, match="no column 'nope'"):
        listings.table_rows(conn, "spaces", ["id", "nope"])
    with pytest.raises(ConfigError, match="no table"):
        listings.table_rows(conn, "sqlite_master", ["name"])
    with pytest.raises(ConfigError, match="no view"):
        listings.view_rows(conn, "spaces")
    assert "milestone_progress" in listings.view_names(conn)
    tasks = listings.task_listing(conn, ["id"], ["s1"], date(2026, 3, 1), date(2026, 3, 8))
    assert tasks.rows == [(101, "One", "ann", "Ann", None), (102, "One", "ann", "Ann", None)]
    tickets = listings.ticket_listing(conn, ["number"], ["s2"])
    assert tickets.rows == [(1, "Two", None), (2, "Two", None)]
    assert listings.event_listing(conn, ["id"], [], date(2026, 3, 3), None).rows == [("e2",)]
    assert listings.custom_field_values(conn).columns == (
        "ticket_id", "title", "type", "value", "number", "day", "person"
    )  # fmt: skip


def test_a_persons_sql_is_bound_by_the_driver(conn: Connection) -> None:
    # ":name" on both databases; a ":name" inside a string literal is left alone.
    found = listings.run_sql(conn, "SELECT ':not_a_parameter' AS text, :n AS n", {"n": 3})
    assert found.rows == [(":not_a_parameter", 3)]


def test_object_lookups(conn: Connection) -> None:
    tasks = objects.find_rows(
        conn,
        "tasks",
        {"space_id": "s1", "ticket_id": [11, 12, 15]},
        order="-begin_at",
        span=objects.Between("begin_at", datetime(2026, 1, 1, tzinfo=UTC), None),
    )
    assert [task["id"] for task in tasks] == [102, 101, 106]
    assert isinstance(tasks[0]["begin_at"], datetime)  # typed by the model
    assert [
        row["id"] for row in objects.find_rows(conn, "tickets", {"milestone_id": None}, order="id")
    ] == [13]
    assert [user["id"] for user in objects.milestone_assignees(conn, 1, {})] == ["u1"]
    assert objects.space_members(conn, "s1", {}) == []  # no roles in this mirror
    assert objects.ticket_custom_field_values(conn, 11) == {}


def test_schema_status_and_runs(conn: Connection) -> None:
    columns = schema.schema_columns(conn)
    assert columns["spaces"][:2] == ["id", "name"]
    assert "week_start" in columns["hours_by_user_week"]
    assert not [name for name in columns if "_fts" in name]
    assert status.cursors(conn) == []
    assert runs.recent_runs(conn, 5) == []
