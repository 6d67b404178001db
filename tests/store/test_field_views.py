"""Custom fields as typed columns: the ``ticket_fields_<space>`` views, on both databases.

Space ``s1`` (wiki_name "Big Project") has fields of every type, one of an
unknown type, titles that collide with a leading column or with each other,
and a title with quotes, a percent sign and accents; ``s2`` ("big-project")
slugs to the same name; ``s3`` has no wiki_name; ``s4`` has no fields.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import inspect

from assembla_mirror.store.database import open_db
from assembla_mirror.store.field_views import (
    META_KEY,
    field_view_descriptions,
    recorded_views,
    refresh_field_views,
)
from assembla_mirror.store.runs import get_meta
from assembla_mirror.store.search import index_pending
from tests.expected import reading, select_all
from tests.store.test_archive_views import put

ODD = 'Coût "€" l\'été %'
#: id, space, title, type, order
FIELDS = [
    (10, "s1", "Points", "Numeric", 2),
    (11, "s1", "status", "Text", 1),
    (12, "s1", "Owner", "Team List", 3),
    (13, "s1", "Due", "Date", None),
    (14, "s1", "Size", "List", 3),
    (15, "s1", ODD, "Text", 4),
    (16, "s1", "Weird", "Checkbox", 5),
    (17, "s1", "STATUS", "Numeric", 6),
    (18, "s1", "Points", "Text", 7),
    (20, "s2", "Budget", "numeric", 1),  # any case
    (30, "s3", "Release", "Date", 1),
]
#: The columns of s1's view, in order.
S1_COLUMNS = [
    "ticket_id", "space_id", "number", "summary", "status", "status (field)", "Points",
    "Owner", "Size", ODD, "Weird", "STATUS (field 2)", "Points (field)", "Due",
]  # fmt: skip
#: ticket, title, field id (None: linked by title), value
VALUES = [
    (1, "Points", 10, "1e3"), (2, "Points", 10, "abc"), (3, "Points", 10, " 2.5 "),
    (4, "Points", None, "8"),
    (1, "Due", 13, "2024-02-29"), (2, "Due", 13, "2024-02-30"), (3, "Due", 13, "31/01/2024"),
    (1, "Owner", 12, "u1"), (2, "Owner", 12, "u2"), (3, "Owner", 12, "u3"),
    (4, "Owner", 12, "ghost"), (5, "Owner", 12, ""),
    (1, "status", 11, "x"), (1, "Size", 14, "Large"), (1, ODD, 15, "ça"),
    (1, "Weird", 16, "yes"), (1, "STATUS", 17, "n/a"), (2, "STATUS", 17, "-4"),
    (21, "Budget", 20, "12.50"), (31, "Release", 30, "2025-12-31"),
]  # fmt: skip


def field_rows() -> list[dict[str, Any]]:
    return [
        {"id": i, "space_id": s, "title": t, "type": k, "order": o, "raw_json": "{}"}
        for i, s, t, k, o in FIELDS
    ]


def fill_fields(mirror_db: str) -> str:
    """Create the mirror described above at ``mirror_db``, its field views made as the
    sync makes them."""
    engine = open_db(mirror_db)
    with engine.begin() as conn:
        put(conn, "spaces", [
            {"id": "s1", "name": "One", "wiki_name": "Big Project", "raw_json": "{}"},
            {"id": "s2", "name": "Two", "wiki_name": "big-project", "raw_json": "{}"},
            {"id": "s3", "name": "Three", "wiki_name": None, "raw_json": "{}"},
            {"id": "s4", "name": "Four", "wiki_name": "empty", "raw_json": "{}"},
        ])  # fmt: skip
        put(conn, "users", [
            {"id": "u1", "login": "ann", "name": "Ann", "raw_json": "{}"},
            {"id": "u2", "login": "bob", "name": None, "raw_json": "{}"},
            {"id": "u3", "login": None, "name": None, "raw_json": "{}"},
        ])  # fmt: skip
        tickets = [(n, "s1", n) for n in range(1, 6)] + [
            (21, "s2", 1),
            (31, "s3", 1),
            (41, "s4", 1),
        ]
        put(conn, "tickets", [
            {"id": i, "space_id": s, "number": n, "summary": f"#{n}", "status": "New",
             "raw_json": "{}"}
            for i, s, n in tickets
        ])  # fmt: skip
        put(conn, "custom_fields", field_rows())
        put(conn, "ticket_custom_fields", [
            {"ticket_id": t, "title": title, "custom_field_id": f, "value": v}
            for t, title, f, v in VALUES
        ])  # fmt: skip
        # indexed for search as a sync does (SQLite's index refuses to forget a ticket
        # it never held, which deleting a space would ask)
        conn.exec_driver_sql(
            "INSERT INTO search_pending (source, id) SELECT 'tickets', id FROM tickets"
        )
        index_pending(conn)
        assert refresh_field_views(conn)
        assert not refresh_field_views(conn)  # in step: nothing to do
    engine.dispose()
    return mirror_db


@pytest.fixture
def fields(mirror_db: str) -> str:
    """The mirror described above, on each database."""
    return fill_fields(mirror_db)


def plain(value: Any) -> Any:
    """A value as SQLite gives it (PostgreSQL's dates are dates)."""
    return value.isoformat() if isinstance(value, date) else value


def view(db: str, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with reading(db) as conn:
        result = conn.exec_driver_sql(f'SELECT * FROM "{name}" ORDER BY ticket_id')
        return list(result.keys()), [tuple(map(plain, row)) for row in result]


def field_views(db: str) -> list[str]:
    with reading(db) as conn:
        return sorted(name for name in inspect(conn).get_view_names() if "fields" in name)


def change(db: str, *statements: str) -> bool:
    """Run ``statements``, then refresh the field views in the same transaction."""
    engine = open_db(db)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
        changed = refresh_field_views(conn)
    engine.dispose()
    return changed


def test_one_view_per_space_with_fields_named_by_its_wiki_name(fields: str) -> None:
    expected = ["ticket_fields_big_project", "ticket_fields_big_project_2", "ticket_fields_s3"]
    assert field_views(fields) == expected
    with reading(fields) as conn:
        assert recorded_views(conn) == expected


def test_values_are_typed_by_their_field(fields: str) -> None:
    columns, rows = view(fields, "ticket_fields_big_project")
    assert columns == S1_COLUMNS
    lead = [(n, "s1", n, f"#{n}", "New") for n in range(1, 6)]
    assert rows == [
        (*lead[0], "x", 1000.0, "Ann", "Large", "ça", "yes", None, None, "2024-02-29"),
        (*lead[1], None, None, "bob", None, None, None, -4.0, None, None),
        (*lead[2], None, 2.5, "u3", None, None, None, None, None, None),
        # linked by title only: the value of both fields titled Points
        (*lead[3], None, 8.0, "ghost", None, None, None, None, "8", None),
        (*lead[4], None, None, None, None, None, None, None, None, None),
    ]
    assert view(fields, "ticket_fields_big_project_2") == (
        ["ticket_id", "space_id", "number", "summary", "status", "Budget"],
        [(21, "s2", 1, "#1", "New", 12.5)],
    )
    assert view(fields, "ticket_fields_s3")[1] == [(31, "s3", 1, "#1", "New", "2025-12-31")]


def test_number_and_date_columns_have_their_type(fields: str) -> None:
    with reading(fields) as conn:
        if conn.dialect.name == "postgresql":
            kinds: dict[str, str] = dict(
                conn.exec_driver_sql(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = 'ticket_fields_big_project' "
                    "AND table_schema = current_schema()"
                ).all()
            )
            assert kinds["Points"] == "double precision"
            assert kinds["Due"] == "date"
            # text as the columns it comes from: users.name, ticket_custom_fields.value
            assert {kinds["Owner"], kinds[ODD]} == {"character varying", "text"}
        else:
            found = conn.exec_driver_sql(
                'SELECT typeof("Points"), typeof("Due") FROM ticket_fields_big_project '
                "WHERE ticket_id = 1"
            ).one()
            assert tuple(found) == ("real", "text")


def test_renamed_retyped_added_and_removed_fields_follow(fields: str) -> None:
    assert change(
        fields,
        "UPDATE custom_fields SET title = 'Story points' WHERE id = 10",
        "UPDATE custom_fields SET type = 'Text' WHERE id = 17",
        "DELETE FROM custom_fields WHERE id IN (13, 18)",
        'INSERT INTO custom_fields (id, space_id, title, type, "order", raw_json) '
        "VALUES (19, 's1', 'Estimate', 'Numeric', 0, '{}')",
    )
    columns, rows = view(fields, "ticket_fields_big_project")
    assert columns == [
        *S1_COLUMNS[:5], "Estimate", "status (field)", "Story points", "Owner", "Size", ODD,
        "Weird", "STATUS (field 2)",
    ]  # fmt: skip
    assert rows[0][5:8] == (None, "x", 1000.0)  # the renamed field keeps its values (by id)
    assert rows[1][-1] == "-4"  # now text
    assert rows[3][7] is None  # a value linked by the old title is no longer the field's
    assert not change(fields)


def test_a_space_that_leaves_takes_its_view_along(fields: str) -> None:
    assert change(fields, "DELETE FROM spaces WHERE id = 's1'")
    # s2 now has "big_project" to itself
    assert field_views(fields) == ["ticket_fields_big_project", "ticket_fields_s3"]
    assert view(fields, "ticket_fields_big_project")[1] == [(21, "s2", 1, "#1", "New", 12.5)]
    assert change(fields, "DELETE FROM custom_fields")
    assert field_views(fields) == []
    with reading(fields) as conn:
        assert get_meta(conn, META_KEY) is None


def test_opening_the_mirror_brings_them_in_step(fields: str) -> None:
    engine = open_db(fields)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE custom_fields SET title = 'Cost' WHERE id = 20")
    engine.dispose()
    open_db(fields).dispose()
    assert view(fields, "ticket_fields_big_project_2")[0][-1] == "Cost"


def test_a_persons_own_view_keeps_its_name(fields: str) -> None:
    engine = open_db(fields)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE VIEW ticket_fields_theirs AS SELECT 1 AS one")
        conn.exec_driver_sql("UPDATE spaces SET wiki_name = 'theirs' WHERE id = 's3'")
        assert refresh_field_views(conn)
    engine.dispose()
    assert "ticket_fields_theirs_2" in field_views(fields)
    assert select_all(fields, "SELECT * FROM ticket_fields_theirs") == [(1,)]
    assert change(fields, "DELETE FROM spaces WHERE id = 's3'")
    assert select_all(fields, "SELECT * FROM ticket_fields_theirs") == [(1,)]


def test_every_view_and_column_is_described(fields: str) -> None:
    with reading(fields) as conn:
        described = field_view_descriptions(conn)
    assert set(described) == set(field_views(fields))
    what, columns = described["ticket_fields_big_project"]
    assert what == "Tickets of One with one typed column per custom field."
    assert list(columns) == S1_COLUMNS
    assert columns["Points"] == (
        'Custom Numeric field "Points": a number; null when the value is not one.'
    )
    assert all(columns.values())
