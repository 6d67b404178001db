"""The row contract, derived from the models: every spec as it was written by hand before.

Rows are plain tuples in ``spec.columns`` order, and the sync, the store and
the decode worker (which marshals rows between processes) all index into them
by position. The specs are derived from the models now, so a column moved,
added or re-declared in a model would silently move every value after it: this
literal of the hand-written specs says exactly what the derivation must give.
Change it only together with everything that reads rows by position.
"""

from __future__ import annotations

import marshal
from dataclasses import dataclass

import pytest

from assembla_mirror.model import convert as n
from assembla_mirror.model.specs import spec_from_wire, spec_wire
from assembla_mirror.model.values import (
    boolean,
    calendar_date,
    ident,
    integer,
    json_text,
    real,
    text,
    utc,
)


@dataclass(frozen=True)
class Pinned:
    entity: str
    table: str
    fields: tuple[tuple[str, n.Converter], ...]
    key: tuple[str, ...]
    required: tuple[str, ...]
    extra: tuple[str, ...]


PINNED = {
    "SPACES": Pinned(
        entity="space",
        table="spaces",
        fields=(
            ("id", ident),
            ("name", text),
            ("wiki_name", text),
            ("description", text),
            ("status", integer),
            ("public_permissions", integer),
            ("team_permissions", integer),
            ("watcher_permissions", integer),
            ("is_commercial", boolean),
            ("is_manager", boolean),
            ("parent_id", ident),
            ("default_showpage", text),
            ("created_at", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "name"),
        extra=(),
    ),
    "USERS": Pinned(
        entity="user",
        table="users",
        fields=(
            ("id", ident),
            ("login", text),
            ("name", text),
            ("email", text),
            ("organization", text),
            ("phone", text),
            ("picture", text),
        ),
        key=("id",),
        required=("id",),
        extra=(),
    ),
    "USER_ROLES": Pinned(
        entity="user role",
        table="user_roles",
        fields=(
            ("id", integer),
            ("space_id", ident),
            ("user_id", ident),
            ("role", text),
            ("status", integer),
            ("title", text),
            ("invited_by_id", ident),
            ("invited_time", utc),
            ("agreed_time", utc),
        ),
        key=("id",),
        required=("id", "space_id", "user_id"),
        extra=(),
    ),
    "MILESTONES": Pinned(
        entity="milestone",
        table="milestones",
        fields=(
            ("id", integer),
            ("space_id", ident),
            ("title", text),
            ("description", text),
            ("is_completed", boolean),
            ("due_date", calendar_date),
            ("start_date", calendar_date),
            ("completed_date", calendar_date),
            ("planner_type", integer),
            ("release_level", integer),
            ("pretty_release_level", text),
            ("release_notes", text),
            ("budget", real),
            ("user_id", ident),
            ("created_by", ident),
            ("updated_by", ident),
            ("created_at", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "space_id"),
        extra=(),
    ),
    "TICKET_STATUSES": Pinned(
        entity="ticket status",
        table="ticket_statuses",
        fields=(
            ("id", integer),
            ("name", text),
            ("state", integer),
            ("list_order", integer),
            ("space_tool_id", ident),
            ("created_at", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "name"),
        extra=("space_id",),
    ),
    "CUSTOM_FIELDS": Pinned(
        entity="custom field",
        table="custom_fields",
        fields=(
            ("id", integer),
            ("title", text),
            ("type", text),
            ("order", integer),
            ("required", boolean),
            ("hide", boolean),
            ("default_value", json_text),
            ("example_value", json_text),
            ("list_options", json_text),
            ("space_tool_id", ident),
            ("created_at", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "title"),
        extra=("space_id",),
    ),
    "TICKETS": Pinned(
        entity="ticket",
        table="tickets",
        fields=(
            ("id", integer),
            ("space_id", ident),
            ("number", integer),
            ("summary", text),
            ("description", text),
            ("status", text),
            ("state", integer),
            ("priority", integer),
            ("importance", real),
            ("is_story", boolean),
            ("story_importance", integer),
            ("hierarchy_type", integer),
            ("permission_type", integer),
            ("milestone_id", integer),
            ("component_id", integer),
            ("assigned_to_id", ident),
            ("assigned_to_name", text),
            ("reporter_id", ident),
            ("notification_list", text),
            ("estimate", real),
            ("total_estimate", real),
            ("working_hours", real),
            ("total_working_hours", real),
            ("total_invested_hours", real),
            ("is_support", boolean),
            ("picture_url", text),
            ("due_date", calendar_date),
            ("completed_date", utc),
            ("created_on", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "space_id", "number"),
        extra=(),
    ),
    "TICKET_COMMENTS": Pinned(
        entity="ticket comment",
        table="ticket_comments",
        fields=(
            ("id", integer),
            ("ticket_id", integer),
            ("user_id", ident),
            ("user_name", text),
            ("comment", text),
            ("ticket_changes", text),
            ("created_on", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "ticket_id"),
        extra=("space_id",),
    ),
    "TASKS": Pinned(
        entity="task",
        table="tasks",
        fields=(
            ("id", integer),
            ("space_id", ident),
            ("user_id", ident),
            ("ticket_id", integer),
            ("ticket_number", integer),
            ("hours", real),
            ("begin_at", utc),
            ("end_at", utc),
            ("description", text),
            ("url", text),
            ("billed", boolean),
            ("job_agreement_id", integer),
            ("created_at", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "space_id"),
        extra=(),
    ),
    "TIME_LOGS": Pinned(
        entity="time log",
        table="time_logs",
        fields=(
            ("id", integer),
            ("task_id", integer),
            ("space_id", ident),
            ("user_id", ident),
            ("description", text),
            ("is_timeout", boolean),
            ("created_at", utc),
        ),
        key=("id",),
        required=("id", "task_id"),
        extra=(),
    ),
    "EVENTS": Pinned(
        entity="event",
        table="events",
        fields=(
            ("date", utc),
            ("space_id", ident),
            ("space_name", text),
            ("object", text),
            ("object_id", text),
            ("operation", text),
            ("title", text),
            ("url", text),
            ("author_id", ident),
            ("author_name", text),
            ("whatchanged", json_text),
            ("comment_or_description", text),
        ),
        key=("id",),
        required=("date",),
        extra=("id", "ticket_id", "ticket_number"),
    ),
    "TAGS": Pinned(
        entity="tag",
        table="tags",
        fields=(
            ("id", integer),
            ("space_id", ident),
            ("name", text),
            ("state", integer),
            ("color", text),
            ("created_at", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "space_id"),
        extra=(),
    ),
    "ATTACHMENTS": Pinned(
        entity="attachment",
        table="attachments",
        fields=(
            ("id", ident),
            ("space_id", ident),
            ("ticket_id", integer),
            ("name", text),
            ("filename", text),
            ("content_type", text),
            ("filesize", integer),
            ("version", integer),
            ("description", text),
            ("cached_tag_list", text),
            ("attachable_type", text),
            ("attachable_id", integer),
            ("has_thumbnail", boolean),
            ("url", text),
            ("created_by", ident),
            ("updated_by", ident),
            ("created_at", utc),
            ("updated_at", utc),
        ),
        key=("id",),
        required=("id", "space_id"),
        extra=(),
    ),
    "TICKET_ASSOCIATIONS": Pinned(
        entity="ticket association",
        table="ticket_associations",
        fields=(
            ("id", integer),
            ("ticket1_id", integer),
            ("ticket2_id", integer),
            ("relationship", integer),
            ("created_at", utc),
        ),
        key=("id",),
        required=("id", "ticket1_id", "ticket2_id"),
        extra=("relationship_name", "space_id"),
    ),
    # A tag's list of tickets gives ticket_tags the tickets' ids (not rows of records).
    "TICKET_REFS": Pinned(
        entity="ticket",
        table="ticket_tags",
        fields=(("id", integer),),
        key=("id",),
        required=("id",),
        extra=(),
    ),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_derived_spec_is_the_hand_written_one(name: str) -> None:
    spec, pinned = getattr(n, name), PINNED[name]
    assert (spec.entity, spec.table) == (pinned.entity, pinned.table)
    assert [field for field, _ in spec.fields] == [field for field, _ in pinned.fields]
    # The very functions: a converter is identity, not a name.
    assert [convert for _, convert in spec.fields] == [convert for _, convert in pinned.fields]
    assert spec.key == pinned.key
    assert spec.required == pinned.required
    assert spec.extra == pinned.extra
    fields = tuple(field for field, _ in pinned.fields)
    assert spec.columns == (*fields, *pinned.extra, "raw_json")
    assert spec.required_positions == tuple(fields.index(name) for name in pinned.required)


def test_every_record_table_has_a_pinned_spec() -> None:
    specs = {name for name, value in vars(n).items() if isinstance(value, n.TableSpec)}
    assert specs == set(PINNED)


def test_ticket_custom_field_rows_keep_their_column_order() -> None:
    assert n.TICKET_CUSTOM_FIELDS_COLUMNS == ("ticket_id", "title", "custom_field_id", "value")


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_spec_travels_as_plain_data_and_comes_back_equal(name: str) -> None:
    """A decode worker gets its specs this way, without loading the models."""
    spec = getattr(n, name)
    wire = spec_wire(spec)
    assert marshal.loads(marshal.dumps(wire)) == wire  # noqa: S302 - plain data only
    assert spec_from_wire(wire) == spec
