"""``hours_by_ticket`` and ``hours_by_milestone`` count every time entry, as ``tasks`` and
``mirror report hours`` do: time without a ticket, on a ticket the mirror does not hold,
or on a ticket without a milestone gets a labelled row instead of vanishing. On both
databases (``mirror_db``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pytest
from sqlalchemy import Connection, text

from assembla_mirror.read.reports import hours
from assembla_mirror.store.database import open_db
from tests.expected import reading
from tests.store.test_views import fill, insert

#: One more entry than test_views' sample: on a ticket (13) that has no milestone.
NO_MILESTONE_TASK = (109, "s1", "u1", 13, 0.75, "2026-03-12 08:00:00")


@pytest.fixture
def mirror(mirror_db: str) -> str:
    engine = open_db(mirror_db)
    with engine.begin() as conn:
        fill(conn)
        insert(
            conn, "tasks", "id, space_id, user_id, ticket_id, hours, begin_at", [NO_MILESTONE_TASK]
        )
    engine.dispose()
    return mirror_db


def rows(conn: Connection, sql: str) -> list[dict[str, Any]]:
    result = conn.execute(text(sql))
    return [dict(row._mapping) for row in result]


def per_space(records: Iterable[dict[str, Any]], space: str = "space_id") -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for record in records:
        totals[record[space]] += float(record["hours"] or 0)
    return {key: round(value, 2) for key, value in totals.items() if value}


@pytest.mark.parametrize("view", ["hours_by_ticket", "hours_by_milestone"])
def test_each_view_adds_up_to_the_tasks_per_space(mirror: str, view: str) -> None:
    with reading(mirror) as conn:
        tasks = rows(conn, "SELECT space_id, SUM(hours) AS hours FROM tasks GROUP BY space_id")
        found = rows(conn, f"SELECT * FROM {view}")
        entries = conn.execute(text("SELECT COUNT(*) FROM tasks")).scalar()
    assert per_space(found) == pytest.approx(per_space(tasks), abs=0.01)
    assert sum(record["entries"] for record in found) == entries


def test_hours_by_ticket_has_rows_for_time_without_a_held_ticket(mirror: str) -> None:
    with reading(mirror) as conn:
        found = rows(conn, "SELECT * FROM hours_by_ticket")
    by_ticket = {(record["space_id"], record["ticket_id"]): record for record in found}
    no_ticket = by_ticket["s1", None]
    assert (no_ticket["summary"], no_ticket["hours"], no_ticket["entries"]) == (
        "(no ticket)",
        3.0,
        1,
    )
    missing = by_ticket["s2", 12345]
    assert (missing["summary"], missing["hours"]) == ("(ticket not in mirror)", 1.0)
    # another space's ticket counts in the space its time was logged in
    assert by_ticket["s1", 15]["hours"] == 0.5


def test_hours_by_milestone_labels_what_has_no_milestone(mirror: str) -> None:
    with reading(mirror) as conn:
        found = rows(conn, "SELECT * FROM hours_by_milestone")
    by_label = {(record["space_id"], record["milestone_title"]): record for record in found}
    # a NULL title only for a milestone the mirror holds untitled (3, in the sample)
    untitled = {record["milestone_id"] for record in found if record["milestone_title"] is None}
    assert untitled == {3}
    assert by_label["s1", "(no ticket)"]["hours"] == 3.0
    assert by_label["s1", "(no ticket)"]["tickets"] == 0
    assert by_label["s1", "(no milestone)"]["hours"] == 0.75
    assert by_label["s1", "(no milestone)"]["tickets"] == 1
    assert by_label["s2", "(ticket not in mirror)"]["hours"] == 1.0
    assert by_label["s1", "(milestone not in mirror)"]["hours"] == 0.5


def grouped(records: Iterable[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], Any]:
    """hours and entries per ``keys``, summed (a report may merge what a view splits)."""
    sums: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0.0, 0])
    for record in records:
        key = tuple(record[name] for name in keys)
        sums[key][0] += float(record["hours"] or 0)
        sums[key][1] += record["entries"]
    return {key: (pytest.approx(round(h, 2), abs=0.01), n) for key, (h, n) in sums.items()}


def test_the_views_answer_as_the_hours_report(mirror: str) -> None:
    with reading(mirror) as conn:
        milestones = rows(
            conn,
            "SELECT s.name AS space, v.milestone_title AS milestone, v.hours, v.entries "
            "FROM hours_by_milestone AS v JOIN spaces AS s ON s.id = v.space_id",
        )
        tickets = rows(
            conn,
            "SELECT s.name AS space, v.number AS ticket, v.summary, v.hours, v.entries "
            "FROM hours_by_ticket AS v JOIN spaces AS s ON s.id = v.space_id",
        )
        by_milestone = hours(conn, "milestone").records()
        by_ticket = hours(conn, "ticket").records()
    assert grouped(milestones, "space", "milestone") == grouped(by_milestone, "space", "milestone")
    assert grouped(tickets, "space", "ticket", "summary") == grouped(
        by_ticket, "space", "ticket", "summary"
    )
