"""Records to rows, given a :class:`TableSpec`: pure, and free of SQLAlchemy.

A spec says how one API record becomes one row of a table: its payload fields
in column order, each with its converter (:mod:`.values`), the columns the
caller supplies, its key and its required fields. The specs of the mirror's
tables are derived from their models (:mod:`.convert`); this module only
applies them, so that a decode worker can convert records without loading the
models. A row is a plain tuple in ``spec.columns`` order: the payload fields,
the supplied columns, then ``raw_json``. :func:`to_row` applies a spec and
appends the untouched payload.

A rejected value raises :class:`~assembla_mirror.errors.DataError` naming the
entity, record id and field; the fast path pays nothing for that diagnosis.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from assembla_mirror.errors import DataError
from assembla_mirror.model.values import (
    Converter,
    boolean,
    calendar_date,
    dump_json,
    ident,
    integer,
    json_text,
    real,
    text,
    utc,
)

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


def event_row(
    spec: TableSpec, event: Mapping[str, Any], occurrence: int, digest: str | None = None
) -> Row:
    """An ``events`` row (``spec`` is that table's); ``occurrence`` numbers identical
    events (same second, same content).

    ``digest`` is the event's :func:`event_digest` when the caller has it already.
    """
    digest = digest or event_digest(event)
    ticket = event.get("ticket")
    ticket_id = ticket_number = None
    if isinstance(ticket, Mapping):
        ticket_id, ticket_number = integer(ticket.get("id")), integer(ticket.get("number"))
    return to_row(spec, event, (f"{digest}-{occurrence}", ticket_id, ticket_number))


#: What ``ticket_associations.relationship`` means: ticket2 is ticket1's ...
RELATIONSHIPS = {
    0: "parent",
    1: "child",
    2: "related",
    3: "duplicate",
    4: "sibling",
    5: "story",
    6: "subtask",
    7: "dependent",
    8: "block",
}


def relationship_name(code: Any) -> str | None:
    """The word for an association's relationship code (None for one not documented)."""
    try:
        number = integer(code)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if number is None else RELATIONSHIPS.get(number)


# --- the wire form of a spec ---------------------------------------------------------

#: Every converter a spec may name, by name (a spec travels to a decode worker as data).
CONVERTERS: dict[str, Converter] = {
    convert.__name__: convert
    for convert in (boolean, calendar_date, ident, integer, json_text, real, text, utc)
}

#: A spec as plain data: entity, table, (field, converter name) pairs, key, required, extra.
SpecWire = tuple[
    str, str, tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]
]


def spec_wire(spec: TableSpec) -> SpecWire:
    """``spec`` as plain data, for ``marshal``; :func:`spec_from_wire` rebuilds it."""
    fields = tuple((name, convert.__name__) for name, convert in spec.fields)
    return (spec.entity, spec.table, fields, spec.key, spec.required, spec.extra)


@cache
def spec_from_wire(wire: SpecWire) -> TableSpec:
    """The spec :func:`spec_wire` described (each is rebuilt once per process)."""
    entity, table, fields, key, required, extra = wire
    converters = tuple((name, CONVERTERS[convert]) for name, convert in fields)
    return TableSpec(entity, table, converters, tuple(key), tuple(required), tuple(extra))
