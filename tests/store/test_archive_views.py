"""The ``ticket_hierarchy`` view, on both databases, against numbers worked out by hand.

Space ``s1`` holds a tree linked in all four hierarchy forms (parent 0, child 1,
story 5, subtask 6), with hours and estimates at every level:

    #1 epic (8 est, 1.5 h)
    ├── #2 story (3 est, 2.25 h)  ── #4 subtask (1 est, 0.5 + 0.25 h)
    │                             └─ #5 subtask (0.5 est, 3 h)
    └── #3 story (2 est, 1 h)     ── #5 again: a DAG, counted once in #1
                                  └─ #6 subtask (no estimate, 0.1 + 0.2 h + none)

and links the view must leave out: other relationships, a ticket linked to
itself, tickets the mirror does not hold, a link listed twice. Space ``s2`` holds
a cycle #1 -> #2 -> #3 -> #1 (child -> parent) with #4 below #1; space ``s3`` a
chain deeper than the walk up goes.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import Connection, text

from assembla_mirror.store.database import open_db
from assembla_mirror.store.hierarchy import HIERARCHY_COLUMNS, MAX_DEPTH
from tests.expected import reading, select_all

#: id, space, number, hierarchy_type, estimate
TICKETS = [
    (1, "s1", 1, 3, 8.0),
    (2, "s1", 2, 2, 3.0),
    (3, "s1", 3, 2, 2.0),
    (4, "s1", 4, 1, 1.0),
    (5, "s1", 5, 1, 0.5),
    (6, "s1", 6, 1, None),
    (7, "s2", 1, 0, None),
    (8, "s2", 2, None, None),
    (9, "s2", 3, 0, None),
    (10, "s2", 4, 0, 1.0),
]
#: ticket, hours (None: an entry without hours)
TASKS = [
    (1, 1.5), (2, 2.25), (3, 1.0), (4, 0.5), (4, 0.25), (5, 3.0), (6, 0.1), (6, 0.2), (6, None),
    (7, 1.0), (8, 2.0), (9, 4.0), (10, 0.5),
    (None, 9.0), (999, 9.0),  # no ticket; a ticket not mirrored
]  # fmt: skip
#: ticket1, ticket2, relationship (ids in this order)
ASSOCIATIONS = [
    (1, 2, 1),  # 2 is 1's child
    (3, 1, 0),  # 1 is 3's parent
    (2, 4, 6),  # 4 is 2's subtask
    (5, 2, 5),  # 2 is 5's story
    (5, 3, 5),  # 3 is 5's story too
    (3, 6, 6),
    (4, 2, 0),  # 4 -> 2 again
    (4, 6, 2), (4, 5, 4), (6, 1, 8), (1, 5, 3), (2, 6, 7),  # not hierarchy
    (6, 6, 0),  # itself
    (4, 999, 0), (998, 1, 1), (997, 996, 6),  # tickets the mirror does not hold
    (7, 8, 0), (8, 9, 0), (7, 9, 1), (10, 7, 0),  # the cycle, and #4 of s2 below it
]  # fmt: skip
#: The chain of s3: each ticket below the one before, deeper than MAX_DEPTH.
CHAIN = list(range(101, 101 + MAX_DEPTH + 3))

COLUMNS = (
    "ticket_id, parent_ticket_id, parent_number, root_ticket_id, depth, descendants, "
    "hours, total_hours, estimate, total_estimate"
)


def put(conn: Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts of the same columns) into ``table``."""
    names = list(rows[0])
    columns = ", ".join(f'"{name}"' for name in names)
    binds = ", ".join(f":{name}" for name in names)
    conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({binds})"), rows)


@pytest.fixture
def tree(mirror_db: str) -> str:
    """The mirror described above, on each database."""
    engine = open_db(mirror_db)
    with engine.begin() as conn:
        put(conn, "spaces", [{"id": s, "name": s, "raw_json": "{}"} for s in ("s1", "s2", "s3")])
        chain = [(i, "s3", n, 0, None) for n, i in enumerate(CHAIN, start=1)]
        put(
            conn,
            "tickets",
            [
                {"id": i, "space_id": s, "number": n, "hierarchy_type": h, "estimate": e,
                 "summary": f"#{n}", "status": "New", "state": 1, "raw_json": "{}"}
                for i, s, n, h, e in TICKETS + chain
            ],
        )  # fmt: skip
        put(
            conn,
            "tasks",
            [
                {"id": n, "space_id": "s1", "ticket_id": ticket, "hours": hours, "raw_json": "{}"}
                for n, (ticket, hours) in enumerate(TASKS, start=1)
            ],
        )
        links = ASSOCIATIONS + [(low, high, 1) for low, high in pairwise(CHAIN)]
        put(
            conn,
            "ticket_associations",
            [
                {"id": n, "ticket1_id": one, "ticket2_id": two, "relationship": r,
                 "raw_json": "{}"}
                for n, (one, two, r) in enumerate(links, start=1)
            ],
        )  # fmt: skip
    engine.dispose()
    return mirror_db


def hierarchy(db: str, where: str) -> list[tuple[Any, ...]]:
    return select_all(db, f"SELECT {COLUMNS} FROM ticket_hierarchy WHERE {where} ORDER BY 1")


def test_a_three_level_tree_rolls_up_every_ticket_once(tree: str) -> None:
    assert hierarchy(tree, "space_id = 's1'") == [
        (1, None, None, 1, 0, 5, 1.5, 8.8, 8.0, 14.5),
        (2, 1, 1, 1, 1, 2, 2.25, 6.0, 3.0, 4.5),
        (3, 1, 1, 1, 1, 2, 1.0, 4.3, 2.0, 2.5),
        (4, 2, 2, 1, 2, 0, 0.75, 0.75, 1.0, 1.0),
        (5, 2, 2, 1, 2, 0, 3.0, 3.0, 0.5, 0.5),  # two parents: the lower id
        (6, 3, 3, 1, 2, 0, 0.3, 0.3, 0.0, 0.0),
    ]


def test_each_ticket_once_with_its_own_columns(tree: str) -> None:
    found = select_all(
        tree,
        "SELECT ticket_id, space_id, number, summary, status, state, hierarchy_type, "
        "hierarchy_name FROM ticket_hierarchy WHERE ticket_id <= 10 ORDER BY ticket_id",
    )
    names = {3: "epic", 2: "story", 1: "subtask", 0: "none", None: None}
    assert found == [(i, s, n, f"#{n}", "New", 1, h, names[h]) for i, s, n, h, _estimate in TICKETS]
    total = select_all(tree, "SELECT count(*), count(DISTINCT ticket_id) FROM ticket_hierarchy")
    assert total == [(len(TICKETS) + len(CHAIN),) * 2]


def test_a_cycle_ends_and_counts_each_ticket_once(tree: str) -> None:
    # 7 -> 8 -> 9 -> 7 (child -> parent), 10 -> 7; the walk up stops where it was.
    assert hierarchy(tree, "space_id = 's2'") == [
        (7, 8, 2, 9, 2, 3, 1.0, 7.5, 0.0, 1.0),
        (8, 9, 3, 7, 2, 3, 2.0, 7.5, 0.0, 1.0),
        (9, 7, 1, 8, 2, 3, 4.0, 7.5, 0.0, 1.0),
        (10, 7, 1, 9, 3, 0, 0.5, 0.5, 1.0, 1.0),
    ]


def test_a_chain_deeper_than_the_walk_stops_at_its_limit(tree: str) -> None:
    top, *_, bottom = CHAIN
    [(descendants,)] = select_all(
        tree, f"SELECT descendants FROM ticket_hierarchy WHERE ticket_id = {top}"
    )
    assert descendants == len(CHAIN) - 1  # every ticket below, whatever the depth
    [(depth, root)] = select_all(
        tree, f"SELECT depth, root_ticket_id FROM ticket_hierarchy WHERE ticket_id = {bottom}"
    )
    assert (depth, root) == (MAX_DEPTH, bottom - MAX_DEPTH)


def test_own_hours_are_those_of_hours_by_ticket(tree: str) -> None:
    found = select_all(
        tree,
        "SELECT h.ticket_id, h.hours, b.hours FROM ticket_hierarchy AS h "
        "JOIN hours_by_ticket AS b ON b.ticket_id = h.ticket_id ORDER BY 1",
    )
    assert len(found) == 10
    assert all(own == logged for _ticket, own, logged in found)


def test_its_columns_are_described_in_order(tree: str) -> None:
    with reading(tree) as conn:
        columns = tuple(conn.exec_driver_sql("SELECT * FROM ticket_hierarchy").keys())
    assert columns == tuple(HIERARCHY_COLUMNS)
    assert all(HIERARCHY_COLUMNS.values())
