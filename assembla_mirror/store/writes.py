"""Idempotent writes of normalized rows into the mirror (no HTTP here).

All functions take a SQLAlchemy ``Connection`` that is already inside the
transaction the caller commits, so a page of rows, its dependent rows and the
cursor that covers them land together or not at all.

An upsert first reads the stored ``raw_json`` of the page's keys: rows whose
payload is unchanged are not written at all (a no-change re-sync writes
nothing), new keys are inserted with a plain ``INSERT`` and changed ones
upserted. (SQLite keeps a statement journal for an upsert, or a statement that
fires a trigger: each row's pages are copied to a temporary file before being
changed. A first sync inserts nearly everything, so it takes the cheap path;
this is also why new rows are queued for search here rather than by a trigger.)
Every write is counted per table in a :class:`ChangeCounter` for the run's
summary and ``sync_runs``. A row the database refuses (a constraint a record
from a broken server violates) is left out with a warning naming the record and
the constraint's columns, and the rest of its page is written.
Deleting a row deletes what hangs off it (foreign keys cascade); the counts
name the rows deleted directly.

Statements are plain SQL every supported database reads alike; the parameter
markers, the upsert and insert-if-new syntax and how a refusal reads are the
dialect's (:mod:`assembla_mirror.store.dialect`). Rows go to the driver as
they are, positional tuples, without SQLAlchemy's per-row processing: this is
the hot path of a sync.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.exc import IntegrityError

from assembla_mirror.model.convert import TICKET_CUSTOM_FIELDS_COLUMNS, Row, TableSpec, dump_json
from assembla_mirror.model.tables import TABLES
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.dialect import Dialect

# "import X as X": re-exported, part of this module's interface.
from assembla_mirror.store.dialect import quote as quote
from assembla_mirror.store.search import queue_new_rows

#: Keys per statement when looking up or deleting by key: well below what any
#: dialect allows (``Dialect.max_parameters``), and small enough to keep a
#: statement cheap to prepare.
CHUNK = 500


@dataclass
class TableCounts:
    """Rows inserted, updated and deleted in one table."""

    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    def total(self) -> int:
        """All rows written."""
        return self.inserted + self.updated + self.deleted


@dataclass
class ChangeCounter:
    """Per-table :class:`TableCounts` of a run."""

    tables: dict[str, TableCounts] = field(default_factory=dict)

    def add(self, table: str, *, inserted: int = 0, updated: int = 0, deleted: int = 0) -> None:
        """Add to the counts of ``table``."""
        counts = self.tables.setdefault(table, TableCounts())
        counts.inserted += inserted
        counts.updated += updated
        counts.deleted += deleted

    def as_dict(self) -> dict[str, dict[str, int]]:
        """JSON-ready ``{table: {"inserted": n, "updated": n, "deleted": n}}``."""
        return {
            table: {"inserted": c.inserted, "updated": c.updated, "deleted": c.deleted}
            for table, c in sorted(self.tables.items())
        }


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Consecutive slices of at most ``size`` values."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


@cache
def _upsert_sql(
    dialect: Dialect, table: str, columns: tuple[str, ...], key: tuple[str, ...]
) -> str:
    return dialect.upsert_sql(table, columns, key)


#: Receives warnings about rows the database refused.
Rejected = Callable[[list[str]], None]


@dataclass
class Written:
    """The rows an upsert wrote (inserted or changed) and the keys of the inserted ones."""

    rows: list[Row] = field(default_factory=list)
    inserted: set[Any] = field(default_factory=set)


def upsert(
    conn: Connection,
    spec: TableSpec,
    rows: Sequence[Row],
    counter: ChangeCounter,
    rejected: Rejected | None = None,
) -> Written:
    """Insert new rows and update changed ones of a single-key table; report what was written.

    Rows are compared on ``raw_json``; duplicates of a key within ``rows`` keep
    the last occurrence. Rows the database refuses go to ``rejected`` as
    warnings; without it, the refusal is raised (IntegrityError).
    """
    if not rows:
        return Written()
    key_at = spec.columns.index(spec.key[0])
    unique = list({row[key_at]: row for row in rows}.values())
    stored = stored_values(conn, spec, [row[key_at] for row in unique], "raw_json")
    return _write_changed(conn, spec, unique, stored, counter, rejected)


@dataclass(frozen=True)
class Children:
    """What an answer listed under one parent: its rows, and the keys of every record it
    named (stored or skipped); ``listed`` None when one could not be read, so that
    nothing of the parent's is deleted."""

    rows: Sequence[Row]
    listed: Set[Any] | None


def replace_children(
    conn: Connection,
    spec: TableSpec,
    parent: tuple[str, tuple[str, ...]],
    children: Mapping[Any, Children],
    counter: ChangeCounter,
    rejected: Rejected | None = None,
) -> Written:
    """Make the stored rows of some parents (``parent``: the parents' table and the
    columns naming them; a task's time logs) match what was listed under each: insert new
    rows, update changed ones, delete the stored ones a parent's answer no longer names.
    A row naming a parent in any of the columns is its child (an association is listed
    under both of its tickets); one listed under several parents is written once.

    A parent the mirror no longer holds (deleted meanwhile, its rows with it) is
    left out. One statement reads the parents and their rows; then only the
    writes needed run, often none: each is a round trip to a database server,
    and a fill does this for thousands of parents.
    """
    parent_table, columns = parent
    (key,) = spec.key
    key_at = spec.columns.index(key)
    present: set[Any] = set()
    stored: dict[Any, Any] = {}
    stored_under: dict[Any, list[Any]] = {}
    for part in chunks(list(children)):
        statement = _children_of(parent_table, spec.table, columns, key)
        for parent_id, child, raw in conn.execute(statement, {"parents": list(part)}):
            if child is None:
                present.add(parent_id)
            else:
                stored[child] = raw
                stored_under.setdefault(parent_id, []).append(child)
    rows = {
        row[key_at]: row
        for parent_id, answer in children.items()
        if parent_id in present
        for row in answer.rows
    }
    written = _write_changed(conn, spec, list(rows.values()), stored, counter, rejected)
    gone = [
        child
        for parent_id, answer in children.items()
        if answer.listed is not None
        for child in stored_under.get(parent_id, [])
        if child not in answer.listed
    ]
    delete_keys(conn, spec.table, key, gone, counter)
    return written


@cache
def _children_of(parent_table: str, table: str, columns: tuple[str, ...], key: str) -> Any:
    # The parents that are there (child NULL), then their children: an index lookup
    # each. (As one LEFT JOIN, PostgreSQL's planner may hash the whole child table.)
    children = " ".join(
        f"UNION ALL SELECT c.{quote(column)}, c.{quote(key)}, c.raw_json "
        f"FROM {quote(table)} AS c WHERE c.{quote(column)} IN :parents"
        for column in columns
    )
    return text(
        f"SELECT p.id, NULL, NULL FROM {quote(parent_table)} AS p WHERE p.id IN :parents "
        + children
    ).bindparams(bindparam("parents", expanding=True))


def _write_changed(
    conn: Connection,
    spec: TableSpec,
    rows: list[Row],
    stored: dict[Any, Any],
    counter: ChangeCounter,
    rejected: Rejected | None,
) -> Written:
    """Insert the rows whose key is not in ``stored`` (key -> raw_json), update those whose
    ``raw_json`` differs from it, and leave the rest alone."""
    key_at, raw_at = spec.columns.index(spec.key[0]), spec.columns.index("raw_json")
    changed = [row for row in rows if stored.get(row[key_at]) != row[raw_at]]
    if not changed:
        return Written()
    new = [row for row in changed if row[key_at] not in stored]
    updated = [row for row in changed if row[key_at] in stored]
    warnings: list[str] | None = None if rejected is None else []
    dialect = dialect_of(conn)
    if new:
        new = _execute_rows(conn, dialect, spec, new, warnings, inserting=True)
        queue_new_rows(conn, spec.table, [row[key_at] for row in new])
    if updated:
        updated = _execute_rows(conn, dialect, spec, updated, warnings, inserting=False)
    if warnings and rejected is not None:
        rejected(warnings)
        changed = [*new, *updated]
    if changed:
        counter.add(spec.table, inserted=len(new), updated=len(updated))
    return Written(changed, {row[key_at] for row in new})


def _execute_rows(
    conn: Connection,
    dialect: Dialect,
    spec: TableSpec,
    rows: list[Row],
    warnings: list[str] | None,
    *,
    inserting: bool,
) -> list[Row]:
    """Insert ``rows`` (all new) or upsert them; return the rows written.

    The batch goes in one call. Should the database refuse a row, the
    dialect leaves the transaction usable (SQLite undoes only that row's
    statement, so the rows before it stay written; PostgreSQL the whole batch),
    and the rest is done row by row, each refused row becoming a warning. Rows a
    batch of inserts wrote before the refusal are found by key (they were all
    new); an upsert may simply be run again.
    """
    columns = tuple(spec.columns)

    def execute(batch: list[Row]) -> None:
        if inserting:
            dialect.insert_rows(conn, spec.table, columns, batch)
        else:
            conn.exec_driver_sql(_upsert_sql(dialect, spec.table, columns, tuple(spec.key)), batch)

    try:
        with dialect.refusable(conn):
            execute(rows)
    except IntegrityError:
        if warnings is None:
            raise
    else:
        return rows
    assert warnings is not None
    key_at = spec.columns.index(spec.key[0])
    done = present_keys(conn, spec, [row[key_at] for row in rows]) if inserting else set()
    written = [row for row in rows if row[key_at] in done]
    for row in rows:
        if row[key_at] in done:
            continue
        try:
            with dialect.refusable(conn):
                execute([row])
        except IntegrityError as exc:
            warnings.append(refusal(spec, row, exc, dialect))
        else:
            written.append(row)
    return written


def stored_values(
    conn: Connection, spec: TableSpec, keys: Sequence[Any], column: str
) -> dict[Any, Any]:
    """``column`` of the stored rows of a single-key table whose key is in ``keys``, by key."""
    (key,) = spec.key
    dialect = dialect_of(conn)
    found: dict[Any, Any] = {}
    for part in chunks(keys):
        found.update(
            conn.exec_driver_sql(
                f"SELECT {quote(key)}, {quote(column)} FROM {quote(spec.table)} "
                f"WHERE {quote(key)} IN ({dialect.placeholders(len(part))})",
                tuple(part),
            ).fetchall()
        )
    return found


def present_keys(conn: Connection, spec: TableSpec, keys: Sequence[Any]) -> set[Any]:
    """Which of ``keys`` a single-key table holds."""
    return set(stored_values(conn, spec, keys, spec.key[0]))


def refusal(spec: TableSpec, row: Row, exc: IntegrityError, dialect: Dialect) -> str:
    """The warning for a row the database refused: the record, and the constraint's columns."""
    reason = str(exc.orig).strip() if exc.orig is not None else "a constraint failed"
    columns = dialect.refused_columns(reason, spec.table, spec.columns)
    where = f"field {', '.join(map(repr, columns))}" if columns else "the record"
    said = " ".join(reason.split())  # one line (PostgreSQL adds a DETAIL line)
    return f"skipped {spec.entity} {row[0]!r}: {where} refused by the database ({said})"


def _scope_condition(dialect: Dialect, scope: dict[str, Any]) -> str:
    """``column = ? AND ...`` for the columns of ``scope`` (always true when empty)."""
    mark = dialect.placeholders(1)
    return " AND ".join(f"{quote(column)} = {mark}" for column in scope) or "1 = 1"


def count_rows(conn: Connection, table: str, scope: dict[str, Any]) -> int:
    """Rows of ``table`` matching ``scope`` (column = value)."""
    where = _scope_condition(dialect_of(conn), scope)
    return int(
        conn.exec_driver_sql(
            f"SELECT count(*) FROM {quote(table)} WHERE {where}", tuple(scope.values())
        ).scalar_one()
    )


def replace_ticket_custom_fields(
    conn: Connection,
    ticket_ids: Sequence[int],
    rows: Sequence[Row],
    counter: ChangeCounter,
    new_tickets: Set[Any] = frozenset(),
) -> None:
    """Make the stored custom field values of ``ticket_ids`` exactly ``rows``.

    Tickets in ``new_tickets`` were just inserted, so nothing is stored for them
    to compare with: their values are inserted without looking first.
    """
    table = "ticket_custom_fields"
    columns = tuple(TICKET_CUSTOM_FIELDS_COLUMNS)
    dialect = dialect_of(conn)
    fresh = [row for row in rows if row[0] in new_tickets]
    if fresh:
        dialect.insert_rows(conn, table, columns, fresh)
        counter.add(table, inserted=len(fresh))
    ticket_ids = [ticket_id for ticket_id in ticket_ids if ticket_id not in new_tickets]
    rows = [row for row in rows if row[0] not in new_tickets]
    if not ticket_ids:
        return
    stored: dict[tuple[Any, Any], Row] = {}
    for part in chunks(list(ticket_ids)):
        for row in conn.exec_driver_sql(
            f"SELECT {', '.join(map(quote, columns))} FROM {table} "
            f"WHERE ticket_id IN ({dialect.placeholders(len(part))})",
            tuple(part),
        ):
            stored[(row[0], row[1])] = tuple(row)
    wanted = {(row[0], row[1]): row for row in rows}
    gone = [key for key in stored if key not in wanted]
    written = [row for key, row in wanted.items() if stored.get(key) != row]
    if gone:
        mark = dialect.placeholders(1)
        conn.exec_driver_sql(
            f"DELETE FROM {table} WHERE ticket_id = {mark} AND title = {mark}", gone
        )
    if written:
        upsert = _upsert_sql(dialect, table, columns, ("ticket_id", "title"))
        conn.exec_driver_sql(upsert, written)
    inserted = sum(1 for row in written if (row[0], row[1]) not in stored)
    counter.add(table, inserted=inserted, updated=len(written) - inserted, deleted=len(gone))


def delete_keys(
    conn: Connection, table: str, key: str, values: Iterable[Any], counter: ChangeCounter
) -> int:
    """Delete the rows of ``table`` whose ``key`` is in ``values``; return how many went."""
    dialect = dialect_of(conn)
    deleted = 0
    for part in chunks(list(values)):
        result = conn.exec_driver_sql(
            f"DELETE FROM {quote(table)} WHERE {quote(key)} IN ({dialect.placeholders(len(part))})",
            tuple(part),
        )
        deleted += result.rowcount
    if deleted:
        counter.add(table, deleted=deleted)
    return deleted


def delete_missing(
    conn: Connection,
    table: str,
    key: str,
    scope: dict[str, Any],
    seen: Iterable[Any],
    counter: ChangeCounter,
) -> list[Any]:
    """Delete rows of ``table`` matching ``scope`` whose ``key`` is not in ``seen``.

    Returns the deleted keys. Used after a complete listing (a space's roles,
    statuses, milestones; a reconciliation's ticket ids) to drop what upstream removed.
    """
    missing = missing_keys(conn, table, key, scope, seen)
    delete_keys(conn, table, key, missing, counter)
    return missing


def missing_keys(
    conn: Connection, table: str, key: str, scope: dict[str, Any], seen: Iterable[Any]
) -> list[Any]:
    """Keys of ``table`` rows matching ``scope`` that are not in ``seen``."""
    where = _scope_condition(dialect_of(conn), scope)
    stored = conn.exec_driver_sql(
        f"SELECT {quote(key)} FROM {quote(table)} WHERE {where}", tuple(scope.values())
    )
    seen_set = set(seen)
    return [row[0] for row in stored if row[0] not in seen_set]


_RENAMED_FIELDS = text(
    "SELECT DISTINCT v.title, c.title FROM ticket_custom_fields AS v "
    "JOIN custom_fields AS c ON c.id = v.custom_field_id "
    "WHERE c.space_id = :space AND v.title != c.title"
)
_RELINK_FIELDS = text(
    "UPDATE ticket_custom_fields SET custom_field_id = ("
    " SELECT c.id FROM custom_fields AS c JOIN tickets AS t ON t.space_id = c.space_id"
    " WHERE t.id = ticket_custom_fields.ticket_id AND c.title = ticket_custom_fields.title)"
    " WHERE custom_field_id IS NULL"
    " AND ticket_id IN (SELECT id FROM tickets WHERE space_id = :space)"
)
_TICKETS_WITH_FIELD = text(
    "SELECT id, raw_json FROM tickets WHERE space_id = :space AND id IN "
    "(SELECT ticket_id FROM ticket_custom_fields WHERE title = :title)"
)
_SET_RAW_JSON = text("UPDATE tickets SET raw_json = :raw_json WHERE id = :id")
_DELETE_FIELD_VALUES = text(
    "DELETE FROM ticket_custom_fields WHERE title = :title AND ticket_id IN :ids"
).bindparams(bindparam("ids", expanding=True))
_RENAME_FIELD_VALUES = text(
    "UPDATE ticket_custom_fields SET title = :new WHERE title = :title AND ticket_id IN :ids"
).bindparams(bindparam("ids", expanding=True))


def relink_custom_fields(conn: Connection, space_id: str, counter: ChangeCounter) -> None:
    """Bring stored ticket values in line with the space's current custom fields.

    A renamed field keeps its id, so values linked to it take the new title (and
    the tickets' ``raw_json`` the new key, in place, as a fresh fetch would show
    it); values whose title was unknown are linked once a field of that title exists.
    """
    renamed = conn.execute(_RENAMED_FIELDS, {"space": space_id}).fetchall()
    for old, new in renamed:
        rewrite_custom_field_key(conn, space_id, old, new, counter)
    relinked = conn.execute(_RELINK_FIELDS, {"space": space_id}).rowcount
    if relinked:
        counter.add("ticket_custom_fields", updated=relinked)


def rewrite_custom_field_key(
    conn: Connection, space_id: str, old: str, new: str | None, counter: ChangeCounter
) -> None:
    """Rename (or with ``new=None`` remove) a custom field key in a space's tickets.

    Assembla renames the key in every ticket without bumping ``updated_at``, so
    the mirror applies the same change to ``raw_json`` and the values table
    instead of re-fetching every ticket.
    """
    tickets = conn.execute(_TICKETS_WITH_FIELD, {"space": space_id, "title": old}).fetchall()
    updates = []
    for ticket_id, raw in tickets:
        payload = json.loads(raw)
        fields = payload.get("custom_fields")
        if isinstance(fields, dict) and old in fields:
            payload["custom_fields"] = {
                (new if title == old else title): value
                for title, value in fields.items()
                if new is not None or title != old
            }
            updates.append({"raw_json": dump_json(payload), "id": ticket_id})
    if updates:
        conn.execute(_SET_RAW_JSON, updates)
        counter.add("tickets", updated=len(updates))
    ids = [ticket_id for ticket_id, _ in tickets]
    for part in chunks(ids):
        if new is None:
            result = conn.execute(_DELETE_FIELD_VALUES, {"title": old, "ids": list(part)})
            counter.add("ticket_custom_fields", deleted=result.rowcount)
        else:
            values = {"new": new, "title": old, "ids": list(part)}
            result = conn.execute(_RENAME_FIELD_VALUES, values)
            counter.add("ticket_custom_fields", updated=result.rowcount)


def table_totals(engine: Engine) -> dict[str, int]:
    """Rows per mirrored table."""
    with engine.connect() as conn:
        return {
            table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one()
            for table in TABLES
        }
