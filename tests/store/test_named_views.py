"""The lookup views and the named views (``store.named_views``), on both databases
(``mirror_db``): names where the tables hold codes and ids, a row for every ticket and
every time entry, and labels where a name is missing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from assembla_mirror.store.named_views import PRIORITIES, STATES
from tests.expected import reading
from tests.store.test_views import TASKS, TICKETS, filled_mirror


@pytest.fixture
def mirror(mirror_db: str) -> str:
    filled_mirror(mirror_db)
    return mirror_db


def rows(db: str, sql: str) -> list[dict[str, Any]]:
    with reading(db) as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql))]


def test_the_lookup_views_name_every_code(mirror: str) -> None:
    priorities = rows(mirror, "SELECT id, name FROM ticket_priorities ORDER BY id")
    assert [(row["id"], row["name"]) for row in priorities] == sorted(PRIORITIES.items())
    states = rows(mirror, "SELECT id, name FROM ticket_states ORDER BY id")
    assert [(row["id"], row["name"]) for row in states] == [(0, "closed"), (1, "open")]
    assert STATES == {0: "closed", 1: "open"}


def test_ticket_overview_names_a_ticket_s_state_milestone_and_people(mirror: str) -> None:
    by_id = {row["ticket_id"]: row for row in rows(mirror, "SELECT * FROM ticket_overview")}
    assert set(by_id) == {ticket[0] for ticket in TICKETS}  # every ticket, once
    first = by_id[11]
    assert (first["space"], first["number"], first["state"], first["milestone"]) == (
        "One",
        1,
        "open",
        "Past due",
    )
    assert first["assignee"] == "Ann"
    assert by_id[12]["state"] == "closed"
    assert by_id[13]["milestone"] == "(no milestone)"
    assert by_id[13]["assignee"] == "(unassigned)"
    assert by_id[14]["assignee"] == "bob"  # no name: the login
    assert by_id[15]["milestone"] == "(milestone not in mirror)"
    assert by_id[15]["assignee"] == "gone"  # not in the mirror: the id it names
    assert by_id[16]["state"] is None  # no state, no name


def test_ticket_overview_names_priority_and_reporter(mirror: str) -> None:
    with reading(mirror) as conn:
        conn.execute(text("UPDATE tickets SET priority = 2, reporter_id = 'u1' WHERE id = 11"))
        conn.execute(text("UPDATE tickets SET priority = 5, reporter_id = 'ghost' WHERE id = 12"))
        conn.commit()
    by_id = {row["ticket_id"]: row for row in rows(mirror, "SELECT * FROM ticket_overview")}
    assert (by_id[11]["priority"], by_id[11]["reporter"]) == ("High", "Ann")
    assert (by_id[12]["priority"], by_id[12]["reporter"]) == ("Lowest", "ghost")


def test_time_entries_has_every_entry_with_names_and_labels(mirror: str) -> None:
    by_id = {row["task_id"]: row for row in rows(mirror, "SELECT * FROM time_entries")}
    assert set(by_id) == {task[0] for task in TASKS}
    total = sum(float(row["hours"] or 0) for row in by_id.values())
    assert total == pytest.approx(sum(task[4] or 0 for task in TASKS))
    assert (by_id[101]["space"], by_id[101]["person"], by_id[101]["milestone"]) == (
        "One",
        "Ann",
        "Past due",
    )
    assert by_id[101]["ticket_number"] == 1
    assert str(by_id[101]["week_start"]) == "2026-03-02"
    assert by_id[103]["ticket_summary"] == "(no ticket)"
    assert by_id[103]["milestone"] == "(no ticket)"
    assert by_id[105]["milestone"] == "(ticket not in mirror)"
    assert by_id[108]["person"] == "ghost"  # a user the mirror does not hold
    assert by_id[107]["week_start"] is None  # no start, no week
