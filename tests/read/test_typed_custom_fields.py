"""Typed custom fields and workflow-ordered statuses in pandas, on both databases.

The hand-made mirror of ``tests/store/test_field_views.py`` (fields of every type,
bad numbers and dates, known and unknown users), with a workflow in ``s1`` whose
order is not alphabetical, and a title that two spaces give different types.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from assembla_mirror.read import frames
from assembla_mirror.store.database import open_db
from tests.store.test_archive_views import put
from tests.store.test_field_views import ODD, fill_fields

#: s1's workflow: Todo, Doing (open), Done (closed); alphabetically Doing, Done, Todo.
WORKFLOW = ["Todo", "Doing", "Done"]


@pytest.fixture
def mirror(mirror_db: str) -> str:
    """The field views' mirror with s1's workflow, and s3 giving "Budget" another type."""
    fill_fields(mirror_db)
    engine = open_db(mirror_db)
    with engine.begin() as conn:
        put(conn, "ticket_statuses", [
            {"id": n, "space_id": "s1", "name": name, "state": int(name != "Done"),
             "list_order": n, "raw_json": "{}"}
            for n, name in enumerate(WORKFLOW, start=1)
        ])  # fmt: skip
        for ticket, status in ((1, "Done"), (2, "Todo"), (3, "Doing"), (4, "Todo")):
            conn.exec_driver_sql(f"UPDATE tickets SET status = '{status}' WHERE id = {ticket}")
        put(conn, "custom_fields", [
            {"id": 31, "space_id": "s3", "title": "Budget", "type": "Text", "order": 2,
             "raw_json": "{}"}
        ])  # fmt: skip
        put(conn, "ticket_custom_fields", [
            {"ticket_id": 31, "title": "Budget", "custom_field_id": 31, "value": "lots"}
        ])  # fmt: skip
    engine.dispose()
    return mirror_db


def column(frame: pd.DataFrame, name: str) -> dict[Any, Any]:
    """A column's values by index, missing values as None (NaN, NaT and NA alike)."""
    return {key: None if pd.isna(value) else value for key, value in frame[name].items()}


def test_custom_fields_are_typed_by_their_field(mirror: str) -> None:
    wide = frames.custom_fields(mirror)
    assert list(wide.columns) == sorted(
        ["Points", "status", "Owner", "Due", "Size", ODD, "Weird", "STATUS", "Budget", "Release"]
    )
    assert list(wide.index) == [1, 2, 3, 4, 5, 21, 31]
    assert wide.index.name == "ticket_id"
    dtypes = wide.dtypes.astype(str).to_dict()
    assert dtypes["Points"] == dtypes["STATUS"] == "float64"
    assert dtypes["Due"] == dtypes["Release"] == "datetime64[ns]"
    assert dtypes["Owner"] == dtypes["Size"] == dtypes[ODD] == dtypes["Weird"] == "string"
    # s2 has a Numeric "Budget", s3 a Text one: the column keeps the text
    assert dtypes["Budget"] == "string"
    assert column(wide, "Budget") == {21: "12.50", 31: "lots", **dict.fromkeys([1, 2, 3, 4, 5])}
    assert {k: v for k, v in column(wide, "Points").items() if k < 10} == {
        1: 1000.0, 2: None, 3: 2.5, 4: 8.0, 5: None
    }  # fmt: skip
    owners = column(wide, "Owner")
    assert [owners[n] for n in range(1, 6)] == ["Ann", "bob", "u3", "ghost", None]
    assert [column(wide, "Due")[n] for n in (1, 2, 3)] == [pd.Timestamp("2024-02-29"), None, None]
    assert column(wide, "STATUS")[2] == -4.0


def test_one_space_has_its_own_types(mirror: str) -> None:
    budget = frames.custom_fields(mirror, space="big-project")
    assert list(budget.columns) == ["Budget"]
    assert str(budget["Budget"].dtype) == "float64"
    assert column(budget, "Budget") == {21: 12.5}
    release = frames.custom_fields(mirror, space="s3")
    assert release.dtypes.astype(str).to_dict() == {"Budget": "string", "Release": "datetime64[ns]"}


def test_a_field_view_as_a_frame(mirror: str) -> None:
    fields = frames.view("ticket_fields_big_project", mirror)
    dtypes = fields.dtypes.astype(str).to_dict()
    assert dtypes["Points"] == dtypes["STATUS (field 2)"] == "float64"
    assert dtypes["Due"] == "datetime64[ns]"
    assert dtypes["Owner"] == dtypes["status (field)"] == dtypes["Points (field)"] == "string"
    assert fields.set_index("ticket_id").loc[1, "Due"] == pd.Timestamp("2024-02-29")
    assert math.isnan(fields.set_index("ticket_id").loc[2, "Points"])
    assert list(fields["status"].cat.categories) == [*WORKFLOW, "New"]  # New: in no workflow


def test_statuses_come_in_workflow_order(mirror: str) -> None:
    for frame in (
        frames.tickets(mirror, space="Big Project"),
        frames.table("tickets", mirror),
        frames.view("ticket_hierarchy", mirror),
    ):
        status = frame["status"].dtype
        assert status.ordered
        # the statuses tickets are in, as s1's workflow lists them; "New" (no workflow) last
        assert [s for s in status.categories if s != "New"] == WORKFLOW
    tickets = frames.tickets(mirror, space="Big Project")
    assert list(tickets.sort_values("status", kind="stable")["number"]) == [2, 4, 3, 1, 5]
