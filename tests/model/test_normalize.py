"""normalize: recorded Assembla payloads become rows with UTC text, numbers and raw JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assembla_mirror.errors import DataError
from assembla_mirror.model import convert as n
from assembla_mirror.model.tables import Base

SAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "data" / "recorded_samples.json").read_text("utf-8")
)


def as_dict(spec: n.TableSpec, row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(spec.columns, row, strict=True))


@pytest.mark.parametrize(
    "spec",
    [
        n.SPACES,
        n.USERS,
        n.USER_ROLES,
        n.MILESTONES,
        n.TICKET_STATUSES,
        n.CUSTOM_FIELDS,
        n.TICKETS,
        n.TICKET_COMMENTS,
        n.TASKS,
        n.TIME_LOGS,
        n.EVENTS,
    ],
    ids=lambda spec: spec.table,
)
def test_every_spec_column_exists_in_its_model(spec: n.TableSpec) -> None:
    model_columns = set(Base.metadata.tables[spec.table].columns.keys())
    assert set(spec.columns) <= model_columns


def test_recorded_space_converts_offsets_to_utc() -> None:
    row = as_dict(n.SPACES, n.to_row(n.SPACES, SAMPLES["space"]))
    assert row["id"] == "cgOD-sn1Wr5jddcaaN1ZW_"
    assert row["wiki_name"] == "api-test"
    assert row["created_at"] == "2014-09-08 13:32:06"  # +03:00 -> UTC
    assert row["is_commercial"] is True
    assert json.loads(row["raw_json"]) == SAMPLES["space"]


def test_recorded_ticket() -> None:
    row = as_dict(n.TICKETS, n.to_row(n.TICKETS, SAMPLES["ticket"]))
    assert (row["id"], row["number"], row["status"], row["state"]) == (17, 1, "New", 1)
    assert row["importance"] == -1.0
    assert row["created_on"] == "2014-09-10 13:39:40"
    assert row["milestone_id"] is None


def test_recorded_task_hours_string_becomes_a_number() -> None:
    row = as_dict(n.TASKS, n.to_row(n.TASKS, SAMPLES["task"]))
    assert row["hours"] == 1.0
    assert isinstance(row["hours"], float)
    assert row["billed"] is False


def test_recorded_milestone_dates_and_custom_field_options() -> None:
    milestone = as_dict(n.MILESTONES, n.to_row(n.MILESTONES, SAMPLES["milestone"][0]))
    assert milestone["completed_date"] == "2014-09-18"
    assert milestone["is_completed"] is True
    field = dict(SAMPLES["custom_field"][0], list_options=["Low", "High"])
    row = as_dict(n.CUSTOM_FIELDS, n.to_row(n.CUSTOM_FIELDS, field, ("s1",)))
    assert row["space_id"] == "s1"
    assert json.loads(row["list_options"]) == ["Low", "High"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2014-09-17T16:02:13+05:30", "2014-09-17 10:32:13"),
        ("2014-09-17T02:02:13-08:00", "2014-09-17 10:02:13"),
        ("2014-09-17T10:02:13Z", "2014-09-17 10:02:13"),
        ("2014-09-17T10:02:13+00:00", "2014-09-17 10:02:13"),
        ("2014-12-31T23:30:00-01:00", "2015-01-01 00:30:00"),
        ("2014-09-17T10:02:13.250Z", "2014-09-17 10:02:13"),
        (None, None),
        ("", None),
    ],
)
def test_utc_conversion(value: str | None, expected: str | None) -> None:
    assert n.utc(value) == expected


def test_a_datetime_without_offset_is_rejected_naming_record_and_field() -> None:
    task = dict(SAMPLES["task"], begin_at="2014-09-25T15:02:53")
    with pytest.raises(DataError) as raised:
        n.to_row(n.TASKS, task)
    assert raised.value.field == "begin_at"
    assert raised.value.record_id == 2
    assert "no UTC offset" in str(raised.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("hours", "abc"), ("hours", "nan"), ("id", "x1"), ("billed", "maybe"), ("end_at", 42)],
)
def test_bad_values_raise_a_data_error_naming_the_field(field: str, value: Any) -> None:
    with pytest.raises(DataError) as raised:
        n.to_row(n.TASKS, dict(SAMPLES["task"], **{field: value}))
    assert raised.value.field == field


def test_missing_required_field() -> None:
    ticket = {key: value for key, value in SAMPLES["ticket"].items() if key != "number"}
    with pytest.raises(DataError, match="required field 'number'"):
        n.to_row(n.TICKETS, ticket)


def test_not_an_object() -> None:
    with pytest.raises(DataError, match="expected a JSON object"):
        n.to_row(n.TICKETS, ["not", "a", "ticket"])


def test_integer_where_a_string_id_belongs_is_kept_as_text() -> None:
    row = as_dict(n.TASKS, n.to_row(n.TASKS, dict(SAMPLES["task"], space_id=12345)))
    assert row["space_id"] == "12345"


def test_unicode_nul_and_lone_surrogates() -> None:
    summary = "Ünïcödé 日本語 🚀 עברית \x00 nul \ud800 lone"
    row = as_dict(n.TICKETS, n.to_row(n.TICKETS, dict(SAMPLES["ticket"], summary=summary)))
    # NUL becomes U+FFFD: PostgreSQL's text cannot hold it, and both databases store the same.
    assert row["summary"].startswith("Ünïcödé 日本語 🚀 עברית \ufffd nul ")
    assert "\ud800" not in row["summary"]
    row["summary"].encode("utf-8")  # storable
    row["raw_json"].encode("utf-8")
    assert json.loads(row["raw_json"])["summary"] == summary  # raw keeps it, escaped


def test_unknown_new_fields_are_kept_in_raw_json() -> None:
    ticket = dict(SAMPLES["ticket"], brand_new_field={"nested": [1, 2]})
    row = as_dict(n.TICKETS, n.to_row(n.TICKETS, ticket))
    assert json.loads(row["raw_json"])["brand_new_field"] == {"nested": [1, 2]}


def test_custom_field_values_keyed_by_title() -> None:
    ticket = dict(SAMPLES["ticket"], custom_fields={"Billing code": "B-1", "Unknown": ""})
    rows = n.ticket_custom_field_rows(ticket, {"Billing code": 758843})
    assert rows == [(17, "Billing code", 758843, "B-1"), (17, "Unknown", None, "")]


def test_event_key_is_independent_of_the_rendered_offset() -> None:
    event = dict(SAMPLES["activity_event"][0], date="2012-08-22T13:26:59+00:00")
    shifted = dict(event, date="2012-08-22T18:56:59+05:30")
    assert n.event_row(n.EVENTS, event, 0)[-4] == n.event_row(n.EVENTS, shifted, 0)[-4]
    assert n.event_row(n.EVENTS, event, 0)[-4] != n.event_row(n.EVENTS, event, 1)[-4]
