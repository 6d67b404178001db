"""A small mirror with a known history, written row by row, for the flow reports' tests.

Two spaces. "Big Project" (statuses New, Accepted, Test open; Fixed, Invalid
closed) holds four tickets: #1 walks New -> Accepted -> Test -> Fixed; #2 is
fixed, reopened and fixed again (the last move seen by a sync, not a comment),
moving into "Sprint 1" on the way; #3 waits, its move to Accepted inferred; #4 is
invalid, then deleted upstream. "Ops" (New, In Progress; Done closed) holds one
ticket done in a day, assigned to a user known only by login. Every instant is
in November 2026 (UTC), so the expected tables below are computed by hand:
comments in the tests say how.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from assembla_mirror.model.tables import Base
from assembla_mirror.store.database import open_db
from tests.support import fresh_postgres_mirror

BIG, OPS = "sp-big", "sp-ops"
ANN, BOB, CAROL = "u-ann", "u-bob", "u-carol"

SPACES = [
    {"id": BIG, "name": "Big Project", "wiki_name": "big-project"},
    {"id": OPS, "name": "Ops", "wiki_name": "ops"},
]
USERS = [
    {"id": ANN, "login": "ann", "name": "Ann Lee"},
    {"id": BOB, "login": "bob", "name": "Bob Stone"},
    {"id": CAROL, "login": "carol", "name": None},
]
#: (space, name, state, list_order): each space lists its own workflow.
STATUSES = [
    (BIG, "New", 1, 1),
    (BIG, "Accepted", 1, 2),
    (BIG, "Test", 1, 3),
    (BIG, "Fixed", 0, 4),
    (BIG, "Invalid", 0, 5),
    (OPS, "New", 1, 1),
    (OPS, "In Progress", 1, 2),
    (OPS, "Done", 0, 3),
]
MILESTONES = [
    {
        "id": 10,
        "space_id": BIG,
        "title": "Sprint 1",
        "start_date": "2026-11-02",
        "due_date": "2026-11-13",
    },
    {"id": 11, "space_id": BIG, "title": "Sprint 2", "start_date": "2026-11-16"},
]


def _ticket(
    ticket_id: int, space: str, number: int, summary: str, status: str, state: int, **more: Any
) -> dict[str, Any]:
    return {
        "id": ticket_id,
        "space_id": space,
        "number": number,
        "summary": summary,
        "status": status,
        "state": state,
        **more,
    }


TICKETS = [
    _ticket(
        101,
        BIG,
        1,
        "Login fails on Safari",
        "Fixed",
        0,
        created_on="2026-11-02 09:00:00",
        updated_at="2026-11-06 12:00:00",
        reporter_id=BOB,
        assigned_to_id=ANN,
        milestone_id=10,
        priority=2,
        estimate=3.0,
    ),
    _ticket(
        102,
        BIG,
        2,
        "Export to CSV",
        "Fixed",
        0,
        created_on="2026-11-03 08:00:00",
        updated_at="2026-11-09 10:00:00",
        reporter_id=ANN,
        assigned_to_id=BOB,
        milestone_id=10,
        priority=1,
        estimate=5.0,
    ),
    _ticket(
        103,
        BIG,
        3,
        "Dark mode",
        "Accepted",
        1,
        created_on="2026-11-04 12:00:00",
        updated_at="2026-11-06 08:00:00",
        reporter_id=ANN,
    ),
    _ticket(
        201,
        OPS,
        1,
        "Renew certificates",
        "Done",
        0,
        created_on="2026-11-05 10:00:00",
        updated_at="2026-11-06 10:00:00",
        reporter_id=CAROL,
        assigned_to_id=CAROL,
    ),
]
DELETED = [
    {
        "id": 104,
        "space_id": BIG,
        "number": 4,
        "summary": "Spam",
        "status": "Invalid",
        "state": 0,
        "created_on": "2026-11-02 10:00:00",
        "updated_at": "2026-11-03 11:00:00",
        "deleted_at": "2026-11-08 00:00:00",
        "last_record_json": json.dumps({"id": 104, "number": 4, "reporter_id": CAROL}),
    }
]


def _change(
    ticket: int,
    space: str,
    at: str,
    user: str | None,
    field: str,
    old: str | None,
    new: str | None,
    source: str = "comment",
    comment: int | None = None,
) -> dict[str, Any]:
    return {
        "ticket_id": ticket,
        "space_id": space,
        "changed_at": at,
        "user_id": user,
        "field": field,
        "old_value": old,
        "new_value": new,
        "source": source,
        "comment_id": comment if source == "comment" else None,
    }


#: In the order recorded (ids follow it): changes of one instant keep this order.
CHANGES = [
    _change(101, BIG, "2026-11-03 10:00:00", ANN, "status", "New", "Accepted", comment=5001),
    _change(101, BIG, "2026-11-03 10:00:00", ANN, "assigned_to_id", None, ANN, comment=5001),
    _change(101, BIG, "2026-11-05 15:30:00", BOB, "status", "Accepted", "Test", comment=5002),
    _change(101, BIG, "2026-11-06 12:00:00", BOB, "status", "Test", "Fixed", comment=5003),
    _change(102, BIG, "2026-11-04 09:00:00", ANN, "status", "New", "Accepted", comment=5011),
    _change(102, BIG, "2026-11-04 09:00:00", ANN, "milestone_id", None, "10", comment=5011),
    _change(102, BIG, "2026-11-04 09:00:00", ANN, "priority", "3", "1", comment=5011),
    _change(102, BIG, "2026-11-05 09:00:00", ANN, "status", "Accepted", "Fixed", comment=5012),
    _change(102, BIG, "2026-11-07 10:00:00", BOB, "status", "Fixed", "Accepted", comment=5013),
    _change(102, BIG, "2026-11-09 10:00:00", None, "status", "Accepted", "Fixed", "mirror"),
    _change(103, BIG, "2026-11-06 08:00:00", None, "status", "New", "Accepted", "inferred"),
    _change(104, BIG, "2026-11-03 11:00:00", CAROL, "status", "New", "Invalid", comment=5031),
    _change(201, OPS, "2026-11-05 14:00:00", CAROL, "status", "New", "In Progress", comment=5041),
    _change(201, OPS, "2026-11-06 10:00:00", CAROL, "status", "In Progress", "Done", comment=5042),
]
COMMENTS = [
    {
        "id": 5001,
        "ticket_id": 101,
        "space_id": BIG,
        "user_id": ANN,
        "comment": "Taking it",
        "created_on": "2026-11-03 10:00:00",
    }
]


def build_history_mirror(db: str) -> str:
    """Create the mirror at ``db`` (a SQLite path or a PostgreSQL URL) and fill it."""
    engine = open_db(db)
    tables = Base.metadata.tables
    statuses = [
        {"id": i, "space_id": space, "name": name, "state": state, "list_order": order}
        for i, (space, name, state, order) in enumerate(STATUSES, start=1)
    ]
    try:
        with engine.begin() as conn:
            for table, rows in (
                ("spaces", SPACES),
                ("users", USERS),
                ("ticket_statuses", statuses),
                ("milestones", MILESTONES),
                ("tickets", TICKETS),
                ("ticket_comments", COMMENTS),
            ):
                for row in rows:  # one by one: the rows name different columns
                    conn.execute(insert(tables[table]), {"raw_json": "{}", **row})  # type: ignore[dict-item]
            conn.execute(insert(tables["deleted_tickets"]), DELETED)
            conn.execute(insert(tables["ticket_changes"]), CHANGES)
    finally:
        engine.dispose()
    return db


@contextmanager
def history_mirror_on(backend: str, directory: Path) -> Iterator[str]:
    """The history mirror on ``backend``: a SQLite file in ``directory``, or a fresh
    PostgreSQL schema (dropped afterwards; the test is skipped without a server)."""
    if backend == "sqlite":
        yield build_history_mirror(str(directory / "history.db"))
        return
    with fresh_postgres_mirror() as url:
        yield build_history_mirror(url)
