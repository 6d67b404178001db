"""assembla_mirror.read.frames: real pandas DataFrames from a synced mirror, with the dtypes the
data means and numbers equal to what the mirror holds, from either database."""

from __future__ import annotations

import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect

from assembla_mirror import Mirror
from assembla_mirror.errors import ConfigError, MirrorError
from assembla_mirror.model.tables import Base
from assembla_mirror.read import frames
from tests.expected import reading
from tests.read.use_mirror import rows

UTC_NS = "datetime64[ns, UTC]"
#: Every column of a frame gets one of these (never pandas' guess: object, int64, str).
TYPED = {UTC_NS, "datetime64[ns]", "float64", "boolean", "Int64", "category", "string"}


def test_tickets_have_proper_dtypes(mirror: str) -> None:
    tickets = frames.tickets(mirror)
    dtypes = tickets.dtypes.astype(str).to_dict()
    assert dtypes["created_on"] == dtypes["updated_at"] == dtypes["completed_date"] == UTC_NS
    assert dtypes["due_date"] == "datetime64[ns]"
    assert dtypes["estimate"] == dtypes["total_invested_hours"] == "float64"
    assert dtypes["is_story"] == "boolean"
    assert dtypes["priority"] == dtypes["number"] == dtypes["milestone_id"] == "Int64"
    assert dtypes["status"] == "category"
    assert dtypes["summary"] == dtypes["space_name"] == dtypes["milestone_title"] == "string"
    assert "raw_json" not in tickets.columns
    assert len(tickets) == rows(mirror, "SELECT count(*) FROM tickets")[0][0]
    first = rows(mirror, "SELECT id, created_on, summary FROM tickets ORDER BY id LIMIT 1")[0]
    row = tickets.set_index("id").loc[first[0]]
    assert row["created_on"] == pd.Timestamp(
        datetime.strptime(first[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    )
    assert row["summary"] == first[2]


def test_tasks_hours_per_space_equal_the_mirror(mirror: str) -> None:
    tasks = frames.tasks(mirror)
    assert str(tasks["hours"].dtype) == "float64"
    assert str(tasks["begin_at"].dtype) == UTC_NS
    assert str(tasks["billed"].dtype) == "boolean"
    per_space: dict[str, float] = defaultdict(float)
    for name, hours in rows(
        mirror, "SELECT s.name, t.hours FROM tasks t JOIN spaces s ON s.id = t.space_id"
    ):
        per_space[name] += hours
    got = tasks.groupby("space_name")["hours"].sum().round(2).to_dict()
    assert got == {name: round(total, 2) for name, total in per_space.items()}

    ready = frames.hours_by_space(mirror)
    assert ready.dtypes.astype(str).to_dict() == {
        "space": "string",
        "hours": "float64",
        "entries": "Int64",
    }
    assert dict(zip(ready["space"], ready["hours"], strict=True)) == {
        name: round(total, 2) for name, total in per_space.items()
    }


def test_filters_on_space_and_days(mirror: str) -> None:
    space_id, wiki = rows(mirror, "SELECT id, wiki_name FROM spaces ORDER BY id")[0]
    window = frames.tasks(mirror, space=wiki, since="2026-04-01", until="2026-06-30")
    logged = rows(
        mirror,
        "SELECT hours FROM tasks WHERE space_id = :id "
        "AND substr(begin_at, 1, 10) BETWEEN '2026-04-01' AND '2026-06-30'",
        id=space_id,
    )
    assert logged
    expected = (len(logged), round(sum(hours for (hours,) in logged), 2))
    assert (len(window), round(window["hours"].sum(), 2)) == expected
    assert set(window["space_id"]) <= {space_id}
    events = frames.events(mirror, since="2026-11-01")
    assert str(events["date"].dtype) == UTC_NS
    assert str(events["object"].dtype) == "category"
    assert (events["date"] >= pd.Timestamp("2026-11-01", tz="UTC")).all()
    assert (
        len(events) == rows(mirror, "SELECT count(*) FROM events WHERE date >= '2026-11-01'")[0][0]
    )


def test_every_table_and_view_is_typed(mirror: str) -> None:
    for name in Base.metadata.tables:
        frame = frames.table(name, mirror)
        untyped = [column for column, dtype in frame.dtypes.items() if str(dtype) not in TYPED]
        assert not untyped, (name, untyped)
        assert len(frame) == rows(mirror, f'SELECT count(*) FROM "{name}"')[0][0]
    with reading(mirror) as conn:
        views = inspect(conn).get_view_names()
    assert "milestone_progress" in views
    for name in views:
        frame = frames.view(name, mirror)
        untyped = [column for column, dtype in frame.dtypes.items() if str(dtype) not in TYPED]
        assert not untyped, (name, untyped)
    progress = frames.view("milestone_progress", mirror)
    assert str(progress["due_date"].dtype) == "datetime64[ns]"
    assert str(progress["overdue"].dtype) == "boolean"
    assert str(progress["percent_closed"].dtype) == "float64"
    assert "raw_json" in frames.table("users", mirror, raw_json=True).columns


def test_weekly_hours_and_custom_fields(mirror: str) -> None:
    weekly = frames.hours(mirror, by="week")
    assert str(weekly["week"].dtype) == "datetime64[ns]"
    assert (weekly["week"].dt.day_of_week == 0).all()  # Mondays
    logged = rows(mirror, "SELECT hours FROM tasks")
    assert round(weekly["hours"].sum(), 2) == round(sum(hours for (hours,) in logged), 2)
    wide = frames.custom_fields(mirror)
    ticket_id, title, value = rows(
        mirror,
        "SELECT v.ticket_id, v.title, v.value FROM ticket_custom_fields AS v "
        "JOIN custom_fields AS f ON f.id = v.custom_field_id "
        "WHERE v.value <> '' AND f.type IN ('Text', 'List') ORDER BY v.ticket_id, v.title LIMIT 1",
    )[0]
    assert wide.loc[ticket_id, title] == value
    # typed by the field (tests/read/test_typed_custom_fields.py has the details)
    numeric = rows(mirror, "SELECT DISTINCT title FROM custom_fields WHERE type = 'Numeric'")
    assert numeric
    assert {str(wide[title].dtype) for (title,) in numeric if title in wide} == {"float64"}
    assert (
        len(wide)
        == rows(mirror, "SELECT count(DISTINCT ticket_id) FROM ticket_custom_fields")[0][0]
    )


def test_query_types_known_names_and_binds_parameters(mirror: str) -> None:
    late = frames.query(
        "SELECT title, due_date, is_completed FROM milestones WHERE due_date < :day",
        mirror,
        {"day": "2026-11-01"},
    )
    assert str(late["due_date"].dtype) == "datetime64[ns]"
    assert str(late["is_completed"].dtype) == "boolean"
    assert (
        len(late)
        == rows(mirror, "SELECT count(*) FROM milestones WHERE due_date < '2026-11-01'")[0][0]
    )
    custom = frames.query(
        "SELECT max(begin_at) AS last FROM tasks", mirror, dtypes={"last": "datetime"}
    )
    assert str(custom["last"].dtype) == UTC_NS
    # only a :name outside quotes is a parameter; a % is the SQL's own (psycopg reads
    # both its own way: the statement must reach PostgreSQL as written here)
    literal = frames.query(
        "SELECT '100%' AS done, ':day' AS \"not:a_parameter\", count(*) AS late "
        "FROM milestones WHERE due_date < :day -- until :day, 100%",
        mirror,
        {"day": "2026-11-01"},
    )
    assert literal.to_dict("records") == [
        {"done": "100%", "not:a_parameter": ":day", "late": len(late)}
    ]


def test_an_open_mirror_works_as_source(mirror: str) -> None:
    with Mirror(mirror) as m:
        assert len(frames.tickets(m, space=m.spaces()[0].name)) == len(m.spaces()[0].tickets())


def test_clear_errors(mirror: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no table 'ticket'"):
        frames.table("ticket", mirror)
    with pytest.raises(ConfigError, match="no view 'hours'"):
        frames.view("hours", mirror)
    with pytest.raises(ConfigError, match="no mirror at"):
        frames.tickets(tmp_path / "missing.db")
    with pytest.raises(ConfigError, match="as a date"):
        frames.tasks(mirror, since="last week")
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if the extra were not installed
    with pytest.raises(MirrorError, match=r"pip install -e '\.\[pandas\]'"):
        frames.tickets(mirror)
