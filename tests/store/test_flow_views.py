"""The flow views over tickets' history, on both databases, against rows worked out by hand.

One space ``s1`` with statuses New, Accepted, Test (open) and Fixed, Invalid
(closed); a second space ``s2`` with no statuses at all. Tickets of January 2024:

* #1 never changed (New);
* #2 New, Accepted, Fixed, reopened to Accepted and moved on to Test in the same
  second (the changes' ids order them), Fixed again; moved from milestone 8 to 7,
  its estimate raised from 1.5 to 4;
* #3 first in Triage, a status the space does not list, for 18 seconds, then
  Accepted for 47.995 hours (rounds up to 48.0), now Waiting (not listed either);
* #4 deleted on 2024-01-07 (in ``deleted_tickets``), estimated 3 on 2024-01-03;
* #5 New for twelve hours, then Invalid;
* #6 New, Fixed, then a change recorded as Duplicate while the ticket says Invalid
  (the current stay is the ticket's status); its first estimate is not a number;
* s2's #1 never changed; and one change of a ticket the mirror never had.

The views reach today: rows are checked up to a fixed day, and the last day is today.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text

from assembla_mirror.store.database import open_db
from assembla_mirror.store.flow import (
    FLOW_COLUMN_DESCRIPTIONS,
    FLOW_VIEW_DESCRIPTIONS,
    flow_view_definitions,
)
from assembla_mirror.store.flow_parts import integer_value, real_value
from assembla_mirror.store.sqlite import SQLITE
from tests.expected import reading, select_all
from tests.store.test_views import insert

STATUSES = [  # id, space, name, state
    (1, "s1", "New", 1),
    (2, "s1", "Accepted", 1),
    (3, "s1", "Test", 1),
    (4, "s1", "Fixed", 0),
    (5, "s1", "Invalid", 0),
]
MILESTONES = [  # id, space, title, start_date, is_completed, completed_date
    (7, "s1", "Sprint", "2023-12-31", False, None),
    (8, "s1", "Done", None, True, "2024-01-06"),
    (9, "s2", "Empty", "2024-01-10", None, None),
]
TICKETS = [  # id, space, number, summary, status, state, milestone, estimate, created_on
    (101, "s1", 1, "Untouched", "New", 1, 7, 2.0, "2024-01-01 08:00:00"),
    (102, "s1", 2, "Reopened", "Fixed", 0, 7, 4.0, "2024-01-02 09:00:00"),
    (103, "s1", 3, "Unlisted", "Waiting", 1, None, None, "2024-01-03 10:00:00"),
    (105, "s1", 5, "Invalid", "Invalid", 0, None, None, "2024-01-05 06:00:00"),
    (106, "s1", 6, "Closed twice", "Invalid", 0, 8, 5.5, "2024-01-01 00:00:00"),
    (201, "s2", 1, "Elsewhere", "Open", 1, None, None, "2024-01-04 00:00:00"),
]
DELETED = [  # id, space, number, summary, status, state, milestone, created_on, deleted_at
    (104, "s1", 4, "Deleted", "Accepted", 1, 7, "2024-01-02 00:00:00", "2024-01-07 00:00:00"),
]
CHANGES = [  # ticket, changed_at, field, old, new (ids in this order)
    (102, "2024-01-03 09:00:00", "status", "New", "Accepted"),
    (102, "2024-01-04 21:00:00", "status", "Accepted", "Fixed"),
    (102, "2024-01-06 09:00:00", "status", "Fixed", "Accepted"),
    (102, "2024-01-06 09:00:00", "status", "Accepted", "Test"),
    (102, "2024-01-08 12:30:00", "status", "Test", "Fixed"),
    (102, "2024-01-02 12:00:00", "milestone_id", "", "8"),
    (102, "2024-01-05 08:00:00", "milestone_id", "8", "7"),
    (102, "2024-01-03 15:00:00", "estimate", "1.5", "4"),
    (103, "2024-01-03 10:00:18", "status", "Triage", "Accepted"),
    (103, "2024-01-05 10:00:00", "status", "Accepted", "Waiting"),
    (104, "2024-01-04 00:00:00", "status", "New", "Accepted"),
    (104, "2024-01-03 12:00:00", "estimate", "", "3"),
    (104, "2024-01-03 13:00:00", "summary", "Old", "Deleted"),
    (105, "2024-01-05 18:00:00", "status", "New", "Invalid"),
    (106, "2024-01-03 00:00:00", "status", "Fixed", "Duplicate"),  # later, yet listed first
    (106, "2024-01-02 00:00:00", "status", "New", "Fixed"),
    (106, "2024-01-02 06:00:00", "estimate", "about 5", "5.5"),
    (999, "2024-01-02 00:00:00", "status", "New", "Fixed"),  # a ticket never mirrored
]
DELETED_KEYS = (
    "id",
    "space",
    "number",
    "summary",
    "status",
    "state",
    "milestone",
    "created",
    "deleted",
)
CHANGE_KEYS = ("ticket", "at", "field", "old", "new")
#: The last day checked day by day (the views go on to today).
LAST_CHECKED = "2024-01-09"


@pytest.fixture
def history(mirror_db: str) -> str:
    """A mirror holding the tickets and changes above, on each database."""
    engine = open_db(mirror_db)
    with engine.begin() as conn:
        insert(conn, "spaces", "id, name", [("s1", "One"), ("s2", "Two")])
        insert(conn, "ticket_statuses", "id, space_id, name, state", STATUSES)
        insert(
            conn,
            "milestones",
            "id, space_id, title, start_date, is_completed, completed_date",
            MILESTONES,
        )
        insert(
            conn,
            "tickets",
            "id, space_id, number, summary, status, state, milestone_id, estimate, created_on",
            TICKETS,
        )
        conn.execute(
            text(
                "INSERT INTO deleted_tickets (id, space_id, number, summary, status, state, "
                "milestone_id, created_on, deleted_at, last_record_json) VALUES (:id, :space, "
                ":number, :summary, :status, :state, :milestone, :created, :deleted, '{}')"
            ),
            [dict(zip(DELETED_KEYS, row, strict=True)) for row in DELETED],
        )
        conn.execute(
            text(
                "INSERT INTO ticket_changes (id, ticket_id, space_id, changed_at, field, "
                "old_value, new_value, source) VALUES (:id, :ticket, :space, :at, :field, "
                ":old, :new, 'comment')"
            ),
            [
                {"id": number, "space": "s1", **dict(zip(CHANGE_KEYS, row, strict=True))}
                for number, row in enumerate(CHANGES, start=1)
            ],
        )
    engine.dispose()
    return mirror_db


def rows(db: str, sql: str) -> list[tuple[Any, ...]]:
    return select_all(db, sql)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def days_through_today(first: str) -> int:
    return (date.fromisoformat(today()) - date.fromisoformat(first)).days + 1


def test_ticket_status_intervals(history: str) -> None:
    found = rows(history, "SELECT * FROM ticket_status_intervals ORDER BY ticket_id, stay")
    assert found == [
        (101, "s1", 1, 1, "New", 1, "2024-01-01 08:00:00", None, None, 0),
        (102, "s1", 2, 1, "New", 1, "2024-01-02 09:00:00", "2024-01-03 09:00:00", 24.0, 0),
        (102, "s1", 2, 2, "Accepted", 1, "2024-01-03 09:00:00", "2024-01-04 21:00:00", 36.0, 0),
        (102, "s1", 2, 3, "Fixed", 0, "2024-01-04 21:00:00", "2024-01-06 09:00:00", 36.0, 0),
        (102, "s1", 2, 4, "Accepted", 1, "2024-01-06 09:00:00", "2024-01-06 09:00:00", 0.0, 0),
        (102, "s1", 2, 5, "Test", 1, "2024-01-06 09:00:00", "2024-01-08 12:30:00", 51.5, 0),
        (102, "s1", 2, 6, "Fixed", 0, "2024-01-08 12:30:00", None, None, 0),
        (103, "s1", 3, 1, "Triage", None, "2024-01-03 10:00:00", "2024-01-03 10:00:18", 0.01, 0),
        (103, "s1", 3, 2, "Accepted", 1, "2024-01-03 10:00:18", "2024-01-05 10:00:00", 48.0, 0),
        (103, "s1", 3, 3, "Waiting", 1, "2024-01-05 10:00:00", None, None, 0),
        (104, "s1", 4, 1, "New", 1, "2024-01-02 00:00:00", "2024-01-04 00:00:00", 48.0, 1),
        (104, "s1", 4, 2, "Accepted", 1, "2024-01-04 00:00:00", "2024-01-07 00:00:00", 72.0, 1),
        (105, "s1", 5, 1, "New", 1, "2024-01-05 06:00:00", "2024-01-05 18:00:00", 12.0, 0),
        (105, "s1", 5, 2, "Invalid", 0, "2024-01-05 18:00:00", None, None, 0),
        (106, "s1", 6, 1, "New", 1, "2024-01-01 00:00:00", "2024-01-02 00:00:00", 24.0, 0),
        (106, "s1", 6, 2, "Fixed", 0, "2024-01-02 00:00:00", "2024-01-03 00:00:00", 24.0, 0),
        (106, "s1", 6, 3, "Invalid", 0, "2024-01-03 00:00:00", None, None, 0),
        (201, "s2", 1, 1, "Open", 1, "2024-01-04 00:00:00", None, None, 0),
    ]


def test_time_in_status(history: str) -> None:
    found = rows(history, "SELECT * FROM time_in_status ORDER BY ticket_id, status")
    assert found == [
        (101, "s1", 1, "New", 1, 1, None, 1),
        (102, "s1", 2, "Accepted", 1, 2, 36.0, 0),
        (102, "s1", 2, "Fixed", 0, 2, 36.0, 1),
        (102, "s1", 2, "New", 1, 1, 24.0, 0),
        (102, "s1", 2, "Test", 1, 1, 51.5, 0),
        (103, "s1", 3, "Accepted", 1, 1, 48.0, 0),
        (103, "s1", 3, "Triage", None, 1, 0.01, 0),
        (103, "s1", 3, "Waiting", 1, 1, None, 1),
        (104, "s1", 4, "Accepted", 1, 1, 72.0, 0),  # deleted: in no status now
        (104, "s1", 4, "New", 1, 1, 48.0, 0),
        (105, "s1", 5, "Invalid", 0, 1, None, 1),
        (105, "s1", 5, "New", 1, 1, 12.0, 0),
        (106, "s1", 6, "Fixed", 0, 1, 24.0, 0),
        (106, "s1", 6, "Invalid", 0, 1, None, 1),
        (106, "s1", 6, "New", 1, 1, 24.0, 0),
        (201, "s2", 1, "Open", 1, 1, None, 1),
    ]


def test_time_in_status_by_space(history: str) -> None:
    # Per ticket, seconds in the status over its ended stays, then interpolated ranks:
    # New 43200, 86400, 86400, 172800: median at 1.5 -> 86400, p85 at 2.55 -> 133920 s.
    # Accepted 129600 (#2: 36 h + 0), 172782 (#3), 259200 (#4): p85 at 1.7 -> 233274.6 s.
    # Fixed 86400, 129600: median 108000 s, p85 123120 s.
    found = rows(history, "SELECT * FROM time_in_status_by_space ORDER BY space_id, status")
    assert found == [
        ("s1", "One", "Accepted", 1, 3, 48.0, 64.8, 52.0),
        ("s1", "One", "Fixed", 0, 2, 30.0, 34.2, 30.0),
        ("s1", "One", "New", 1, 4, 24.0, 37.2, 27.0),
        ("s1", "One", "Test", 1, 1, 51.5, 51.5, 51.5),
        ("s1", "One", "Triage", None, 1, 0.01, 0.01, 0.01),
    ]


def test_ticket_flow(history: str) -> None:
    found = rows(history, "SELECT * FROM ticket_flow ORDER BY ticket_id")
    created = {row[0]: row[8] for row in TICKETS} | {DELETED[0][0]: DELETED[0][7]}
    assert [row[6] for row in found] == [created[row[0]] for row in found]
    assert [row[:6] + row[7:] for row in found] == [
        (101, "s1", 1, "Untouched", "New", 1, None, None, None, None, 0, 0),
        (
            102,
            "s1",
            2,
            "Reopened",
            "Fixed",
            0,
            "2024-01-03 09:00:00",
            "2024-01-08 12:30:00",
            147.5,
            123.5,
            1,
            0,
        ),
        (103, "s1", 3, "Unlisted", "Waiting", 1, "2024-01-03 10:00:18", None, None, None, 0, 0),
        (104, "s1", 4, "Deleted", "Accepted", 1, "2024-01-04 00:00:00", None, None, None, 0, 1),
        (
            105,
            "s1",
            5,
            "Invalid",
            "Invalid",
            0,
            "2024-01-05 18:00:00",
            "2024-01-05 18:00:00",
            12.0,
            0.0,
            0,
            0,
        ),
        # closed when it entered Fixed: moving on to another closed status is no closing
        (
            106,
            "s1",
            6,
            "Closed twice",
            "Invalid",
            0,
            "2024-01-02 00:00:00",
            "2024-01-02 00:00:00",
            24.0,
            0.0,
            0,
            0,
        ),
        (201, "s2", 1, "Elsewhere", "Open", 1, None, None, None, None, 0, 0),
    ]


#: Subjects per s1 status at the end of each day (all other statuses: 0).
FLOW = {
    "2024-01-01": {"New": 2},
    "2024-01-02": {"New": 3, "Fixed": 1},
    "2024-01-03": {"New": 2, "Accepted": 2, "Invalid": 1},
    "2024-01-04": {"New": 1, "Accepted": 2, "Fixed": 1, "Invalid": 1},
    "2024-01-05": {"New": 1, "Accepted": 1, "Fixed": 1, "Waiting": 1, "Invalid": 2},
    "2024-01-06": {"New": 1, "Accepted": 1, "Test": 1, "Waiting": 1, "Invalid": 2},
    "2024-01-07": {"New": 1, "Test": 1, "Waiting": 1, "Invalid": 2},
    "2024-01-08": {"New": 1, "Fixed": 1, "Waiting": 1, "Invalid": 2},
    "2024-01-09": {"New": 1, "Fixed": 1, "Waiting": 1, "Invalid": 2},
}
S1_STATUSES = ["Accepted", "Fixed", "Invalid", "New", "Test", "Triage", "Waiting"]


def test_cumulative_flow(history: str) -> None:
    found = rows(
        history,
        "SELECT space_id, day, status, tickets FROM cumulative_flow "
        f"WHERE day <= '{LAST_CHECKED}' ORDER BY space_id, day, status",
    )
    expected = [
        ("s1", day, status, FLOW[day].get(status, 0)) for day in FLOW for status in S1_STATUSES
    ]
    expected += [("s2", f"2024-01-0{day}", "Open", 1) for day in range(4, 10)]  # from the 4th
    assert found == expected
    spans = rows(
        history,
        "SELECT space_id, status, MIN(day), MAX(day), COUNT(*), MIN(tickets), MAX(tickets) "
        "FROM cumulative_flow WHERE day > '2024-01-08' GROUP BY space_id, status "
        "ORDER BY space_id, status",
    )
    # every day through today, and nothing changes after the 8th
    days = days_through_today("2024-01-09")
    assert spans == [
        *[
            ("s1", status, "2024-01-09", today(), days, count, count)
            for status in S1_STATUSES
            for count in [FLOW["2024-01-09"].get(status, 0)]
        ],
        ("s2", "Open", "2024-01-09", today(), days, 1, 1),
    ]


def test_milestone_burndown(history: str) -> None:
    found = rows(
        history,
        "SELECT milestone_id, space_id, day, open_tickets, open_estimate FROM milestone_burndown "
        f"WHERE day <= '{LAST_CHECKED}' ORDER BY milestone_id, day",
    )
    sprint = [  # from its start date, before any ticket
        ("2023-12-31", 0, 0.0),
        ("2024-01-01", 1, 2.0),  # 1
        ("2024-01-02", 2, 2.0),  # 1, 4 (not estimated yet)
        ("2024-01-03", 2, 5.0),  # 1, 4 (3)
        ("2024-01-04", 2, 5.0),
        ("2024-01-05", 2, 5.0),  # 2 joined, but Fixed
        ("2024-01-06", 3, 9.0),  # 2 in Test (4)
        ("2024-01-07", 2, 6.0),  # 4 deleted
        ("2024-01-08", 1, 2.0),  # 2 Fixed
        ("2024-01-09", 1, 2.0),
    ]
    done = [  # through its completed date
        ("2024-01-01", 1, 0.0),  # 6, its estimate not a number
        ("2024-01-02", 1, 1.5),  # 6 Fixed; 2 joined, estimated 1.5
        ("2024-01-03", 1, 4.0),
        ("2024-01-04", 0, 0.0),
        ("2024-01-05", 0, 0.0),
        ("2024-01-06", 0, 0.0),
    ]
    assert found == [
        *[(7, "s1", *row) for row in sprint],
        *[(8, "s1", *row) for row in done],
    ]
    spans = rows(
        history,
        "SELECT milestone_id, MIN(day), MAX(day), COUNT(*), MIN(open_tickets), "
        "MAX(open_tickets), MIN(open_estimate), MAX(open_estimate) FROM milestone_burndown "
        "WHERE day > '2024-01-08' GROUP BY milestone_id ORDER BY milestone_id",
    )
    assert spans == [
        (7, "2024-01-09", today(), days_through_today("2024-01-09"), 1, 1, 2.0, 2.0),
        (9, "2024-01-10", today(), days_through_today("2024-01-10"), 0, 0, 0.0, 0.0),
    ]


def test_a_filter_on_one_space_or_milestone_answers_the_same(history: str) -> None:
    for view, column, value in [
        ("ticket_status_intervals", "space_id", "s2"),
        ("time_in_status", "space_id", "s2"),
        ("time_in_status_by_space", "space_id", "s1"),
        ("ticket_flow", "space_id", "s2"),
        ("cumulative_flow", "space_id", "s2"),
        ("milestone_burndown", "milestone_id", 8),
    ]:
        with reading(history) as conn:
            result = conn.exec_driver_sql(f"SELECT * FROM {view}")
            at = list(result.keys()).index(column)
            everything = [tuple(row) for row in result]
            filtered = conn.execute(
                text(f"SELECT * FROM {view} WHERE {column} = :value"), {"value": value}
            ).all()
        assert filtered, view
        assert sorted(map(tuple, filtered), key=repr) == sorted(
            (row for row in everything if row[at] == value), key=repr
        ), view


#: Texts as a change may record them, and the numbers the views read in them.
VALUES = [  # text, as an integer (a milestone id), as a float (an estimate)
    ("", None, None),
    ("8", 8, 8.0),
    ("00012", 12, 12.0),
    ("8.0", None, 8.0),
    ("-0.5", None, -0.5),
    (".5", None, 0.5),
    ("5.", None, 5.0),
    ("+5", None, 5.0),
    ("+-5", None, None),
    ("5+", None, None),
    ("1.2.3", None, None),
    (".", None, None),
    (" 8", None, None),
    ("1e3", None, None),
    ("about 5", None, None),
    ("1234567890123456789", None, 1.2345678901234568e18),  # too long for an id
]


def test_text_values_read_as_numbers_alike(mirror_db: str) -> None:
    # what a cast accepts differs (PostgreSQL refuses "abc", SQLite reads 0): the
    # views only cast what both read as the same number
    open_db(mirror_db).dispose()
    sql = text(f"SELECT {integer_value('CAST(:v AS TEXT)')}, {real_value('CAST(:v AS TEXT)')}")
    with reading(mirror_db) as conn:
        found = [(value, *conn.execute(sql, {"v": value}).one()) for value, _, _ in VALUES]
    assert found == VALUES


def test_an_empty_mirror_has_empty_flow_views(mirror_db: str) -> None:
    open_db(mirror_db).dispose()
    with reading(mirror_db) as conn:
        for view in flow_view_definitions(SQLITE):
            assert conn.exec_driver_sql(f"SELECT * FROM {view}").all() == [], view


def test_every_flow_view_and_column_is_described(history: str) -> None:
    assert set(FLOW_VIEW_DESCRIPTIONS) == set(flow_view_definitions(SQLITE))
    with reading(history) as conn:
        for view in FLOW_VIEW_DESCRIPTIONS:
            columns = tuple(conn.exec_driver_sql(f"SELECT * FROM {view}").keys())
            assert tuple(FLOW_COLUMN_DESCRIPTIONS[view]) == columns, view
            assert all(FLOW_COLUMN_DESCRIPTIONS[view].values()), view
