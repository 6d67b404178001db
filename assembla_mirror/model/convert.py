"""Pure conversion of Assembla API records into database rows (no I/O).

Each table has a :class:`TableSpec`: its columns in row order, its key, and for
each column taken from the payload a converter. :func:`to_row` applies them and
appends the untouched payload as ``raw_json``. Conversions are deliberately
forgiving where the meaning is unambiguous and strict where it is not:

* datetimes with any offset (``Z``, ``+05:30``, ``-08:00``) become UTC text
  ``YYYY-MM-DD HH:MM:SS``; a datetime without an offset is ambiguous and rejected;
* ``hours: "1.25"`` becomes a float, ``hours: "abc"`` is rejected;
* an integer where a string id belongs (``space_id: 123``) is kept as text ``"123"``;
* text keeps unicode and NUL as given; a lone surrogate (which SQLite cannot
  store as UTF-8) becomes U+FFFD in the column, while ``raw_json`` keeps it escaped.

A rejected value raises :class:`~assembla_mirror.errors.DataError` naming the
entity, record id and field; the fast path pays nothing for that diagnosis.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from assembla_mirror.errors import DataError

Converter = Callable[[Any], Any]
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
Row = tuple[Any, ...]


@dataclass(frozen=True)
class UnreadableItem:
    """An element of a list answer nested too deeply to parse (Python's parser recurses).

    The rest of its page is kept; this record is skipped with a warning naming it
    and the field that holds the nesting, as far as they can be read.
    """

    record_id: Any
    field: str | None
    key: str

    def warning(self, entity: str) -> str:
        """The warning recorded for skipping it."""
        where = f"field {self.field!r}" if self.field else "its value"
        return f"skipped {entity} {self.record_id!r}: {where} is nested too deeply to read"


def is_record(item: Any) -> bool:
    """Whether ``item`` is what a list of records may hold: an object, or an unreadable one."""
    return isinstance(item, dict | UnreadableItem)


# --- value converters -------------------------------------------------------


def text(value: Any) -> str | None:
    """Text as given; lone surrogates replaced; non-text scalars kept as their JSON text."""
    if value is None:
        return None
    if type(value) is str:
        if value.isascii():
            return value
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # JSON decoding joins valid pairs, so any surrogate left is a lone one.
            return LONE_SURROGATE.sub("\ufffd", value)
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    raise TypeError(f"expected text, got {type(value).__name__}")


def ident(value: Any) -> str | None:
    """A string id (22-char Assembla id); an integer is kept faithfully as its digits."""
    if value is None or value == "":
        return None
    if type(value) is str:
        return text(value)
    if type(value) is int:
        return str(value)
    raise TypeError(f"expected a string id, got {type(value).__name__}")


#: SQL databases store integers in 64 bits; anything beyond cannot be a real id or count.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def integer(value: Any) -> int | None:
    """A 64-bit integer; accepts integral floats and digit strings (ids are sometimes strings)."""
    if value is None or value == "":
        return None
    if type(value) is int:
        result = value
    elif type(value) is float and value.is_integer():
        result = int(value)
    elif type(value) is str:
        result = int(value.strip())
    else:
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    if not INT64_MIN <= result <= INT64_MAX:
        raise ValueError(f"{result} is outside the 64-bit range a database can store")
    return result


def number(value: Any) -> float | None:
    """A finite number; decimal strings such as ``"1.25"`` are parsed."""
    if value is None or value == "":
        return None
    if type(value) is bool:
        raise TypeError("expected a number, got a boolean")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"expected a finite number, got {value!r}")
    return result


def boolean(value: Any) -> bool | None:
    """A boolean; accepts 0/1 and ``"true"``/``"false"`` (the legacy XML API's form)."""
    if value is None or value == "":
        return None
    if type(value) is bool:
        return value
    if value in (0, 1):
        return bool(value)
    if type(value) is str and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"expected a boolean, got {value!r}")


def utc(value: Any) -> str | None:
    """An ISO-8601 datetime with an offset, as UTC text ``YYYY-MM-DD HH:MM:SS``."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise TypeError(f"expected an ISO-8601 datetime, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"datetime {value!r} has no UTC offset, so its instant is ambiguous")
    if value[-1] == "Z" and len(value) == 20:
        return f"{value[:10]} {value[11:19]}"
    return parsed.astimezone(UTC).isoformat(sep=" ")[:19]


def calendar_date(value: Any) -> str | None:
    """A ``YYYY-MM-DD`` date (a datetime's date part is accepted)."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise TypeError(f"expected a YYYY-MM-DD date, got {type(value).__name__}")
    return date.fromisoformat(value[:10]).isoformat()


def json_text(value: Any) -> str | None:
    """Structured values (lists, objects) as JSON text; strings as given."""
    if value is None:
        return None
    if type(value) is str:
        return text(value)
    return dump_json(value)


def dump_json(value: Any) -> str:
    """Compact JSON keeping unicode readable; lone surrogates escaped so SQLite can store them."""
    result = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if not result.isascii():
        try:
            result.encode("utf-8")
        except UnicodeEncodeError:
            result = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return result


# --- table specs ----------------------------------------------------------------


@dataclass(frozen=True)
class TableSpec:
    """How one API object becomes one row: payload fields, converters, key, required fields."""

    entity: str
    table: str
    fields: tuple[tuple[str, Converter], ...]
    key: tuple[str, ...] = ("id",)
    required: tuple[str, ...] = ("id",)
    # Columns the caller supplies after the payload fields (e.g. the space of a
    # status list, which Assembla's payload only names by its space tool).
    extra: tuple[str, ...] = ()
    required_positions: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [name for name, _ in self.fields]
        object.__setattr__(
            self, "required_positions", tuple(names.index(name) for name in self.required)
        )

    @property
    def columns(self) -> tuple[str, ...]:
        """Row order: payload fields, caller-supplied columns, then ``raw_json``."""
        return (*(name for name, _ in self.fields), *self.extra, "raw_json")


SPACES = TableSpec(
    "space",
    "spaces",
    (
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
    required=("id", "name"),
)

USERS = TableSpec(
    "user",
    "users",
    (
        ("id", ident),
        ("login", text),
        ("name", text),
        ("email", text),
        ("organization", text),
        ("phone", text),
        ("picture", text),
    ),
)

USER_ROLES = TableSpec(
    "user role",
    "user_roles",
    (
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
    required=("id", "space_id", "user_id"),
)

MILESTONES = TableSpec(
    "milestone",
    "milestones",
    (
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
        ("budget", number),
        ("user_id", ident),
        ("created_by", ident),
        ("updated_by", ident),
        ("created_at", utc),
        ("updated_at", utc),
    ),
    required=("id", "space_id"),
)

TICKET_STATUSES = TableSpec(
    "ticket status",
    "ticket_statuses",
    (
        ("id", integer),
        ("name", text),
        ("state", integer),
        ("list_order", integer),
        ("space_tool_id", ident),
        ("created_at", utc),
        ("updated_at", utc),
    ),
    required=("id", "name"),
    extra=("space_id",),
)

CUSTOM_FIELDS = TableSpec(
    "custom field",
    "custom_fields",
    (
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
    required=("id", "title"),
    extra=("space_id",),
)

TICKETS = TableSpec(
    "ticket",
    "tickets",
    (
        ("id", integer),
        ("space_id", ident),
        ("number", integer),
        ("summary", text),
        ("description", text),
        ("status", text),
        ("state", integer),
        ("priority", integer),
        ("importance", number),
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
        ("estimate", number),
        ("total_estimate", number),
        ("working_hours", number),
        ("total_working_hours", number),
        ("total_invested_hours", number),
        ("is_support", boolean),
        ("picture_url", text),
        ("due_date", calendar_date),
        ("completed_date", utc),
        ("created_on", utc),
        ("updated_at", utc),
    ),
    required=("id", "space_id", "number"),
)

TICKET_CUSTOM_FIELDS_COLUMNS = ("ticket_id", "title", "custom_field_id", "value")

TICKET_COMMENTS = TableSpec(
    "ticket comment",
    "ticket_comments",
    (
        ("id", integer),
        ("ticket_id", integer),
        ("user_id", ident),
        ("user_name", text),
        ("comment", text),
        ("ticket_changes", text),
        ("created_on", utc),
        ("updated_at", utc),
    ),
    required=("id", "ticket_id"),
    extra=("space_id",),
)

TASKS = TableSpec(
    "task",
    "tasks",
    (
        ("id", integer),
        ("space_id", ident),
        ("user_id", ident),
        ("ticket_id", integer),
        ("ticket_number", integer),
        ("hours", number),
        ("begin_at", utc),
        ("end_at", utc),
        ("description", text),
        ("url", text),
        ("billed", boolean),
        ("job_agreement_id", integer),
        ("created_at", utc),
        ("updated_at", utc),
    ),
    required=("id", "space_id"),
)

TIME_LOGS = TableSpec(
    "time log",
    "time_logs",
    (
        ("id", integer),
        ("task_id", integer),
        ("space_id", ident),
        ("user_id", ident),
        ("description", text),
        ("is_timeout", boolean),
        ("created_at", utc),
    ),
    required=("id", "task_id"),
)

EVENTS = TableSpec(
    "event",
    "events",
    (
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
    required=("date",),
    extra=("id", "ticket_id", "ticket_number"),
)


# --- row builders -----------------------------------------------------------------


def to_row(spec: TableSpec, obj: Any, extra: tuple[Any, ...] = (), raw: str | None = None) -> Row:
    """Convert one API object to a row of ``spec.columns``; DataError names any bad field.

    ``raw`` is the object's JSON text as the server sent it, stored as ``raw_json``
    when given (else the object is encoded again).
    """
    try:
        get = obj.get
        values = [convert(get(name)) for name, convert in spec.fields]
    except (TypeError, ValueError, AttributeError, OverflowError):
        raise _diagnose(spec, obj) from None
    for position in spec.required_positions:
        if values[position] is None:
            name = spec.fields[position][0]
            raise DataError(
                f"{spec.entity} {_record_id(obj)!r}: required field {name!r} is missing",
                entity=spec.entity,
                record_id=_record_id(obj),
                field=name,
            )
    return (*values, *extra, raw if raw is not None else dump_json(obj))


def _record_id(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return obj.get("id", obj.get("number", "?"))
    return "?"


def _diagnose(spec: TableSpec, obj: Any) -> DataError:
    if not isinstance(obj, Mapping):
        return DataError(
            f"{spec.entity}: expected a JSON object, got {type(obj).__name__}", entity=spec.entity
        )
    record_id = _record_id(obj)
    for name, convert in spec.fields:
        try:
            convert(obj.get(name))
        except (TypeError, ValueError, OverflowError) as exc:
            return DataError(
                f"{spec.entity} {record_id!r}: field {name!r} has an unusable value: {exc}",
                entity=spec.entity,
                record_id=record_id,
                field=name,
            )
    return DataError(f"{spec.entity} {record_id!r}: cannot be converted", entity=spec.entity)


def ticket_custom_field_rows(ticket: Mapping[str, Any], field_ids: Mapping[str, int]) -> list[Row]:
    """One ``(ticket_id, title, custom_field_id, value)`` row per custom field of a ticket.

    ``field_ids`` maps the space's custom field titles to ids; a title it does not
    know keeps a null ``custom_field_id`` until the fields are refreshed.
    """
    values = ticket.get("custom_fields")
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise DataError(
            f"ticket {_record_id(ticket)!r}: field 'custom_fields' is not an object",
            entity="ticket",
            record_id=_record_id(ticket),
            field="custom_fields",
        )
    ticket_id = integer(ticket["id"])
    return [
        (ticket_id, text(title), field_ids.get(title), json_text(value))
        for title, value in values.items()
    ]


def event_key_material(event: Mapping[str, Any]) -> str:
    """What identifies an event, independent of the offset its date was rendered with."""
    ticket = event.get("ticket")
    ticket_id = ticket.get("id") if isinstance(ticket, Mapping) else None
    names = ("space_id", "object", "object_id", "operation", "author_id", "title")
    parts = [utc(event.get("date")), *(event.get(name) for name in names)]
    parts += [event.get("whatchanged"), event.get("comment_or_description"), ticket_id]
    return "\x1f".join(json.dumps(part, ensure_ascii=True, sort_keys=True) for part in parts)


def event_digest(event: Mapping[str, Any]) -> str:
    """A short digest of :func:`event_key_material`: equal for identical events."""
    try:
        material = event_key_material(event)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(
            f"event: field 'date' is unusable: {exc}", entity="event", field="date"
        ) from None
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def event_row(event: Mapping[str, Any], occurrence: int, digest: str | None = None) -> Row:
    """An ``events`` row; ``occurrence`` numbers identical events (same second, same content).

    ``digest`` is the event's :func:`event_digest` when the caller has it already.
    """
    digest = digest or event_digest(event)
    ticket = event.get("ticket")
    ticket_id = ticket_number = None
    if isinstance(ticket, Mapping):
        ticket_id, ticket_number = integer(ticket.get("id")), integer(ticket.get("number"))
    return to_row(EVENTS, event, (f"{digest}-{occurrence}", ticket_id, ticket_number))
