"""The object API's records take their fields from the models (see ``read/records.py``).

Each record class names its model; its table, its fields, their Python types
and descriptions follow from there, and a record read from a mirror holds
values of exactly those types (the model's column types convert them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from assembla_mirror.model import convert as n
from assembla_mirror.model.declare import table_of
from assembla_mirror.read import records
from assembla_mirror.read.mirror import Mirror
from assembla_mirror.store.database import open_db

SAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "data" / "recorded_samples.json").read_text("utf-8")
)
RECORDS = [
    records.Space,
    records.User,
    records.Milestone,
    records.TicketStatus,
    records.CustomField,
    records.Ticket,
    records.Comment,
    records.Task,
    records.Event,
]


@pytest.mark.parametrize("kind", RECORDS, ids=lambda kind: kind.__name__)
def test_a_record_has_its_models_columns_as_fields(kind: type[records.Record]) -> None:
    table = table_of(kind.model)
    assert kind.table == table.name
    assert list(kind.fields) == [column.name for column in table.columns]
    for column in table.columns:
        field = kind.fields[column.name]
        assert field.python_type is column.type.python_type
        assert field.nullable == column.nullable
        assert field.description == column.doc
        assert f"{field.name} ({field.annotation}): {field.description}" in (kind.__doc__ or "")


@pytest.mark.parametrize("kind", RECORDS, ids=lambda kind: kind.__name__)
def test_no_field_is_hidden_behind_a_method(kind: type[records.Record]) -> None:
    # A field is read through __getattr__, which a class attribute of that name preempts.
    assert not set(kind.fields) & set(dir(kind))


def test_dates_and_datetimes_are_typed_as_read_back() -> None:
    fields = records.Ticket.fields
    assert (fields["updated_at"].python_type, fields["updated_at"].annotation) == (
        datetime,
        "datetime | None",
    )
    assert fields["due_date"].annotation == "date | None"
    assert fields["number"].annotation == "int"


def insert(conn: Any, spec: n.TableSpec, rows: list[n.Row]) -> None:
    columns = ", ".join(f'"{column}"' for column in spec.columns)
    marks = ", ".join("?" for _ in spec.columns)
    conn.exec_driver_sql(f"INSERT INTO {spec.table} ({columns}) VALUES ({marks})", rows)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """A mirror holding one recorded sample of each kind of record, all in one space."""
    path = tmp_path_factory.mktemp("records") / "samples.db"
    space = SAMPLES["space"]
    ticket = dict(SAMPLES["ticket"], space_id=space["id"])
    in_space = {"space_id": space["id"]}
    engine = open_db(path)
    with engine.begin() as conn:
        insert(conn, n.SPACES, [n.to_row(n.SPACES, space)])
        insert(conn, n.USERS, [n.to_row(n.USERS, SAMPLES["user"])])
        insert(conn, n.USER_ROLES, [n.to_row(n.USER_ROLES, SAMPLES["user_role"] | in_space)])
        milestones = [n.to_row(n.MILESTONES, item | in_space) for item in SAMPLES["milestone"]]
        insert(conn, n.MILESTONES, milestones)
        statuses = [
            n.to_row(n.TICKET_STATUSES, item, (space["id"],)) for item in SAMPLES["ticket_statuses"]
        ]
        insert(conn, n.TICKET_STATUSES, statuses)
        fields = [
            n.to_row(n.CUSTOM_FIELDS, item, (space["id"],)) for item in SAMPLES["custom_field"]
        ]
        insert(conn, n.CUSTOM_FIELDS, fields)
        insert(conn, n.TICKETS, [n.to_row(n.TICKETS, ticket)])
        comments = [
            n.to_row(n.TICKET_COMMENTS, item | {"ticket_id": ticket["id"]}, (space["id"],))
            for item in SAMPLES["comments"]
        ]
        insert(conn, n.TICKET_COMMENTS, comments)
        insert(conn, n.TASKS, [n.to_row(n.TASKS, SAMPLES["task"] | in_space)])
        events = [n.event_row(n.EVENTS, event, 0) for event in SAMPLES["activity_event"]]
        insert(conn, n.EVENTS, events)
    engine.dispose()
    with Mirror(path) as opened:
        yield opened


def everything(mirror: Mirror) -> Iterator[records.Record]:
    for space in mirror.spaces():
        yield space
        yield from space.milestones()
        yield from space.statuses()
        yield from space.custom_fields()
    yield from mirror.users()
    for ticket in mirror.tickets():
        yield ticket
        yield from ticket.comments()
    yield from mirror.tasks()
    yield from mirror.events()


def test_every_value_read_has_its_fields_type(mirror: Mirror) -> None:
    seen = set()
    for record in everything(mirror):
        seen.add(type(record))
        assert list(record.keys()) == list(record.fields)
        for name, field in record.fields.items():
            value = record[name]
            if value is None:
                assert field.nullable, (record, name)
            else:
                # type(), not isinstance(): a bool is an int, and must not pass for one.
                assert type(value) is field.python_type, (record, name, value)
    assert seen == set(RECORDS)
