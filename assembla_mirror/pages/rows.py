"""Records to rows: what one answer gives the writer, for any table.

Pure: a record that cannot be stored becomes a warning in the result, which the
writer records. The writer thread is the one bottleneck of a large sync (SQLite
has one writer), so this runs in the fetch threads or in a worker process
(:mod:`assembla_mirror.pages.offload`), and the writer only applies rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assembla_mirror.errors import DataError
from assembla_mirror.model import specs as n
from assembla_mirror.model.values import Converter, integer


@dataclass
class Rows:
    """The rows one answer gives a table, and what the writer must note about them."""

    rows: list[n.Row] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Ticket id -> its custom field value rows (tickets only).
    values: dict[int, list[n.Row]] = field(default_factory=dict)
    #: A custom field title the mirror does not know appeared (a rename upstream).
    unknown_field: bool = False
    #: The id of every record the answer listed, stored or skipped: each exists upstream,
    #: so a reconciliation must not delete it (a bad record must not cost the good copy).
    listed: list[Any] = field(default_factory=list)
    #: The same for ticket numbers (a ticket's number outlives a garbled id).
    numbers: list[int] = field(default_factory=list)

    def as_wire(self) -> tuple[Any, ...]:
        """Plain values for the wire to and from a worker (see :mod:`.decode`)."""
        return (
            self.rows,
            self.warnings,
            self.values,
            self.unknown_field,
            self.listed,
            self.numbers,
        )


def listed_ids(items: Sequence[Any], convert: Converter = integer, name: str = "id") -> list[Any]:
    """The ids (or another field ``name``) of ``items`` that can be read by ``convert``
    (integer ids by default, :func:`~assembla_mirror.model.values.ident` for string
    ids), whether or not the records can be stored."""
    ids = []
    for item in items:
        if isinstance(item, dict):
            raw = item.get(name)
        else:
            raw = getattr(item, "record_id", None) if name == "id" else None
        try:
            key = convert(raw)
        except (TypeError, ValueError):
            continue
        if key is not None:
            ids.append(key)
    return ids


def normalize_items(
    spec: n.TableSpec,
    items: Sequence[Any],
    extra: Callable[[Any], tuple[Any, ...]] | None = None,
    raw: Sequence[str] | None = None,
) -> tuple[list[tuple[n.Row, dict[str, Any]]], list[str]]:
    """Rows of ``items`` paired with their source objects, and warnings for the rejects.

    ``raw`` gives each item's JSON text as sent, stored as its ``raw_json``.
    """
    pairs, warnings = [], []
    texts: Sequence[str | None] = raw if raw is not None else [None] * len(items)
    for item, text in zip(items, texts, strict=True):
        if isinstance(item, n.UnreadableItem):
            warnings.append(item.warning(spec.entity))
            continue
        if not isinstance(item, dict):
            warnings.append(f"skipped {spec.entity}: expected a JSON object, got {item!r:.60}")
            continue
        try:
            pairs.append((n.to_row(spec, item, extra(item) if extra else (), text), item))
        except DataError as exc:
            warnings.append(f"skipped {exc}")
    return pairs, warnings


def table_rows(
    spec: n.TableSpec,
    items: Sequence[Any],
    raw: Sequence[str] | None = None,
    extra: tuple[Any, ...] = (),
) -> Rows:
    """The rows of ``items`` for ``spec``'s table; ``extra`` fills the caller's columns."""
    pairs, warnings = normalize_items(spec, items, (lambda _item: extra) if extra else None, raw)
    return Rows([row for row, _ in pairs], warnings, listed=listed_ids(items, spec.fields[0][1]))


def ticket_rows(
    spec: n.TableSpec,
    items: Sequence[Any],
    field_ids: Mapping[str, int],
    raw: Sequence[str] | None = None,
) -> Rows:
    """Tickets (``spec`` is their table's), with their custom field values keyed by
    ``field_ids`` (title -> id)."""
    pairs, warnings = normalize_items(spec, items, raw=raw)
    result = Rows(
        [row for row, _ in pairs],
        warnings,
        listed=listed_ids(items),
        numbers=listed_ids(items, name="number"),
    )
    for row, item in pairs:
        try:
            values = n.ticket_custom_field_rows(item, field_ids)
        except DataError as exc:
            result.warnings.append(f"ticket {row[0]}: custom fields not stored: {exc}")
            values = []
        result.values[row[0]] = values
        if any(value[2] is None for value in values):
            result.unknown_field = True
    return result


def event_rows(spec: n.TableSpec, items: Sequence[Any]) -> Rows:
    """Activity events (``spec`` is their table's); each row's id is that of a first
    occurrence (``<digest>-0``).

    Events carry no id: the read that takes them numbers identical events
    (see :mod:`assembla_mirror.sync.activity`), which one answer alone cannot.
    """
    result = Rows()
    for item in items:
        if not isinstance(item, dict):
            unreadable = isinstance(item, n.UnreadableItem)
            what = "nested too deeply to read" if unreadable else "no object"
            result.warnings.append(f"skipped event: {what}")
            continue
        try:
            result.rows.append(n.event_row(spec, item, 0))
        except (DataError, TypeError, ValueError, OverflowError) as exc:
            result.warnings.append(f"skipped event: {exc}")
    return result


def association_rows(
    spec: n.TableSpec, items: Sequence[Any], space_id: Any, raw: Sequence[str] | None = None
) -> Rows:
    """Ticket associations (``spec`` is their table's), each with its relationship in
    words and the space of the ticket it was listed under."""

    def extra(item: Any) -> tuple[Any, ...]:
        return (n.relationship_name(item.get("relationship")), space_id)

    pairs, warnings = normalize_items(spec, items, extra, raw)
    return Rows([row for row, _ in pairs], warnings, listed=listed_ids(items))
