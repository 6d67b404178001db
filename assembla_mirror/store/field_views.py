"""Custom fields as typed columns: one ``ticket_fields_<space>`` view per space.

Custom field values are rows of ``ticket_custom_fields`` (text, keyed by
ticket and title). For each space with custom fields, a view lists its tickets
(``ticket_id``, ``space_id``, ``number``, ``summary``, ``status``) and then one
column per field, in the space's order (``custom_fields."order"``, then id),
named by the field's title and typed by its type:

* ``Numeric``: a number (REAL, double precision); text that is not one is NULL;
* ``Date``: a date (``YYYY-MM-DD`` text on SQLite, ``date`` on PostgreSQL);
  NULL unless a real date;
* ``Team List``: the user's name, else login, else the stored user id;
* ``List``, ``Text`` and any other type: the text as stored.

A value belongs to a field by ``custom_field_id``, or when that is NULL by title.

Names: the view is ``ticket_fields_`` and the space's wiki_name (else its id)
in lower case, each run of other characters than ``a-z0-9`` turned into ``_``;
two spaces with one name get ``_2``, ``_3`` ... in space id order, and so does
a name already taken by a table or a view this module did not create. A
column whose title is a leading column's name, or another field's (case
folded as SQLite folds it), gets `` (field)`` (then `` (field 2)`` ...). Names
are cut to 63 bytes, PostgreSQL's longest.

The views follow the rows they are built from, so they change when a field is
added, renamed, retyped or removed and when a space comes or goes:
:func:`refresh_field_views` rebuilds them when the definitions differ from
those ``mirror_meta`` records (its digest and the views' names), and drops only
views it recorded. Opening a mirror for writing calls it, and so should a sync
once custom fields or spaces changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, text

from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.dialect import Dialect, quote
from assembla_mirror.store.expressions import iso_date, number_value
from assembla_mirror.store.runs import get_meta, set_meta

#: The ``mirror_meta`` key recording which field views the database holds.
META_KEY = "field_views"
#: How every field view's name starts.
PREFIX = "ticket_fields_"
#: The columns before the fields', with what they hold.
LEADING = {
    "ticket_id": "The ticket (tickets.id).",
    "space_id": "The space it belongs to (spaces.id).",
    "number": "Ticket number in its space.",
    "summary": "Ticket summary.",
    "status": "Ticket status.",
}
#: PostgreSQL's longest identifier, in bytes (it would cut a longer one silently).
MAX_NAME_BYTES = 63

_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Field:
    """A custom field as a column: its id, title, type (as stored) and column name."""

    id: int
    title: str
    type: str | None
    column: str

    @property
    def kind(self) -> str:
        """How its values are read: ``number``, ``date``, ``person`` or ``text``."""
        return field_kind(self.type)


@dataclass(frozen=True)
class FieldView:
    """One space's view: its name, the space, and its fields in column order."""

    name: str
    space_id: str
    space_name: str | None
    fields: tuple[Field, ...]


def field_kind(type_name: str | None) -> str:
    """How values of a field of type ``type_name`` are read (``number``, ``date``,
    ``person`` or ``text``); the type's case and spaces around it do not matter."""
    kinds = {"numeric": "number", "date": "date", "team list": "person"}
    return kinds.get((type_name or "").strip().lower(), "text")


def literal(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _fit(name: str, suffix: str = "") -> str:
    """``name`` cut (at a character) so that it and ``suffix`` fit in 63 bytes, then
    ``suffix``."""
    room = MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    while len(name.encode("utf-8")) > room:
        name = name[:-1]
    return name + suffix


def _fold(name: str) -> str:
    """``name`` as SQLite compares column names (ASCII letters folded)."""
    return name.translate(_ASCII_UPPER)


def slug(wiki_name: str | None, space_id: str) -> str:
    """A space's part of its view name: its wiki_name (else id), lowercased, each run of
    other characters than ``a-z0-9`` made one ``_``."""
    return _NOT_SLUG.sub("_", (wiki_name or space_id).lower())


def _columns(fields: list[tuple[int, str, str | None]]) -> tuple[Field, ...]:
    """The fields (id, title, type), in order, with their column names."""
    taken = {_fold(name) for name in LEADING}
    named = []
    for field_id, title, type_name in fields:
        base = title or "(untitled)"
        column, more = _fit(base), 1
        while _fold(column) in taken:
            column = _fit(base, " (field)" if more == 1 else f" (field {more})")
            more += 1
        taken.add(_fold(column))
        named.append(Field(field_id, title, type_name, column))
    return tuple(named)


def plan_field_views(conn: Connection, reserved: AbstractSet[str] = frozenset()) -> list[FieldView]:
    """The field views the mirror's rows call for, by space id, avoiding ``reserved``
    names (tables and views of others). Spaces without custom fields get none."""
    spaces = conn.execute(text("SELECT id, wiki_name, name FROM spaces ORDER BY id")).all()
    rows = conn.execute(text('SELECT space_id, id, title, type, "order" FROM custom_fields')).all()
    by_space: dict[str, list[tuple[int, str, str | None, int | None]]] = {}
    for space_id, field_id, title, type_name, order in rows:
        by_space.setdefault(space_id, []).append((field_id, title, type_name, order))
    taken = {_fold(name) for name in reserved}
    views = []
    for space_id, wiki_name, name in spaces:
        fields = sorted(by_space.get(space_id, []), key=lambda f: (f[3] is None, f[3] or 0, f[0]))
        if not fields:
            continue
        base, more = _fit(PREFIX + slug(wiki_name, space_id)), 1
        view = base
        while _fold(view) in taken:
            more += 1
            view = _fit(base, f"_{more}")
        taken.add(_fold(view))
        columns = _columns([(f[0], f[1], f[2]) for f in fields])
        views.append(FieldView(view, space_id, name, columns))
    return views


def _raw(field: Field) -> str:
    """The field's stored text for ticket ``k`` (values ``v`` grouped by ticket): by id,
    else by title for a value linked to no field."""
    by_id = f"MAX(CASE WHEN v.custom_field_id = {int(field.id)} THEN v.value END)"
    by_title = (
        f"MAX(CASE WHEN v.custom_field_id IS NULL AND v.title = {literal(field.title)}"
        " THEN v.value END)"
    )
    return f"COALESCE({by_id}, {by_title})"


def typed(dialect: Dialect, kind: str, raw: str, user: str) -> str:
    """Stored text ``raw`` of a field of ``kind`` as its column shows it (``user``: the
    alias of ``users`` joined on it, for a Team List)."""
    if kind == "number":
        return number_value(raw)
    if kind == "date":
        return dialect.date_value(iso_date(raw))
    if kind == "person":
        return f"COALESCE({user}.name, {user}.login, NULLIF({raw}, ''))"
    return raw


def field_view_sql(dialect: Dialect, view: FieldView) -> str:
    """The ``SELECT`` of one field view, in ``dialect``."""
    raws = ",\n               ".join(
        f"{_raw(field)} AS f{n}" for n, field in enumerate(view.fields, start=1)
    )
    columns = "".join(
        f",\n           {typed(dialect, field.kind, f'r.f{n}', f'u{n}')} AS {quote(field.column)}"
        for n, field in enumerate(view.fields, start=1)
    )
    users = "".join(
        f"\n    LEFT JOIN users AS u{n} ON u{n}.id = NULLIF(r.f{n}, '')"
        for n, field in enumerate(view.fields, start=1)
        if field.kind == "person"
    )
    return f"""
    SELECT r.ticket_id, r.space_id, r.number, r.summary, r.status{columns}
    FROM (
        SELECT k.id AS ticket_id, k.space_id, k.number, k.summary, k.status,
               {raws}
        FROM tickets AS k
        LEFT JOIN ticket_custom_fields AS v ON v.ticket_id = k.id
        WHERE k.space_id = {literal(view.space_id)}
        GROUP BY k.id, k.space_id, k.number, k.summary, k.status
    ) AS r{users}"""


def _record(definitions: dict[str, str]) -> str:
    """What ``mirror_meta`` keeps of ``definitions``: their digest and the views' names."""
    canonical = json.dumps(definitions, sort_keys=True, ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return json.dumps({"digest": digest, "views": sorted(definitions)})


def recorded_views(conn: Connection) -> list[str]:
    """The field views ``mirror_meta`` says this module created (none for no record)."""
    try:
        names = json.loads(get_meta(conn, META_KEY) or "{}").get("views", [])
    except (ValueError, AttributeError):
        return []
    return [name for name in names if isinstance(name, str)]


def current_field_views(conn: Connection) -> list[FieldView]:
    """The field views the mirror's rows call for now, named around the tables and views
    others made (those this module recorded are its own)."""
    present = _names(conn)
    return plan_field_views(conn, present - set(recorded_views(conn)))


def _names(conn: Connection) -> set[str]:
    found = inspect(conn)
    return set(found.get_view_names()) | set(found.get_table_names())


def _wanted(conn: Connection) -> tuple[dict[str, str], list[str], bool]:
    """The field views' definitions now, the views recorded, and whether the database
    holds exactly those definitions."""
    present = _names(conn)
    recorded = recorded_views(conn)
    plans = plan_field_views(conn, present - set(recorded))
    dialect = dialect_of(conn)
    definitions = {view.name: field_view_sql(dialect, view) for view in plans}
    record = _record(definitions) if definitions else None
    held = get_meta(conn, META_KEY)
    return definitions, recorded, held == record and set(definitions) <= present


def _execute(conn: Connection, sql: str) -> None:
    """Run ``sql``, which holds titles as they are: a driver that reads ``%`` as the
    start of a parameter marker (psycopg) reads ``%%`` as a ``%``."""
    if conn.dialect.paramstyle in ("format", "pyformat"):
        sql = sql.replace("%", "%%")
    conn.exec_driver_sql(sql)


def field_views_current(conn: Connection) -> bool:
    """Whether the ``ticket_fields_*`` views are in step with the rows (only reads)."""
    return _wanted(conn)[2]


def refresh_field_views(conn: Connection) -> bool:
    """Bring the ``ticket_fields_*`` views in step with the spaces and custom fields,
    in the caller's transaction on ``conn``; return whether anything changed.

    Cheap when nothing did (a few small reads): the definitions are compared with
    the record in ``mirror_meta``. Otherwise the views it recorded are dropped, the
    current ones created, and the record replaced (removed when there are none).
    """
    definitions, recorded, current = _wanted(conn)
    if current:
        return False
    for name in dict.fromkeys([*recorded, *definitions]):
        _execute(conn, f"DROP VIEW IF EXISTS {quote(name)}")
    for name, select in definitions.items():
        _execute(conn, f"CREATE VIEW {quote(name)} AS {select}")
    set_meta(conn, META_KEY, _record(definitions) if definitions else None)
    return True


_HOW = {
    "number": "a number; null when the value is not one",
    "date": "a date (YYYY-MM-DD); null when the value is not a valid date",
    "person": "the user's name (else login, else the stored user id)",
    "text": "the value as text",
}


def field_view_descriptions(conn: Connection) -> dict[str, tuple[str, dict[str, str]]]:
    """What each field view holds and each of its columns, by view name (for Datasette)."""
    described = {}
    for view in current_field_views(conn):
        columns = dict(LEADING)
        for field in view.fields:
            kind = f"{field.type} field" if field.type else "field"
            columns[field.column] = f'Custom {kind} "{field.title}": {_HOW[field.kind]}.'
        what = f"Tickets of {view.space_name or view.space_id}"
        described[view.name] = (f"{what} with one typed column per custom field.", columns)
    return described
