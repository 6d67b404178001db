"""Turning fetched items into rows, away from the writer.

The writer thread is the one bottleneck of a large sync (SQLite has one
writer). Normalizing happens in the fetch threads, or for ticket and task pages
in a worker process (:mod:`assembla_mirror.pages.decode`), so the writer only applies
rows. Everything here is pure: a record that cannot be stored becomes a warning
in the result, which the writer records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assembla_mirror.errors import DataError
from assembla_mirror.model import convert as n

TICKET_STATUS = n.TICKETS.columns.index("status")


@dataclass
class Prepared:
    """A page as rows: what the writer stores, plus what it must note."""

    number: int
    rows: list[n.Row] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Ticket id -> its custom field value rows (tickets only).
    values: dict[int, list[n.Row]] = field(default_factory=dict)
    #: A custom field title the mirror does not know appeared (a rename upstream).
    unknown_field: bool = False
    #: The id of every record the page listed, stored or skipped: each exists upstream,
    #: so a reconciliation must not delete it (a bad record must not cost the good copy).
    listed: list[int] = field(default_factory=list)
    #: The same for ticket numbers (a ticket's number outlives a garbled id).
    numbers: list[int] = field(default_factory=list)


def listed_ids(
    items: Sequence[Any], convert: n.Converter = n.integer, name: str = "id"
) -> list[Any]:
    """The ids (or another field ``name``) of ``items`` that can be read by ``convert``
    (integer ids by default, :func:`normalize.ident` for string ids), whether or not the
    records can be stored."""
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

    ``raw`` gives each item's JSON text as sent (see :meth:`AssemblaClient.get_page`).
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


def prepare(
    number: int,
    spec: n.TableSpec,
    items: Sequence[Any],
    extra: Callable[[Any], tuple[Any, ...]] | None = None,
    raw: Sequence[str] | None = None,
) -> Prepared:
    """A page of any table."""
    pairs, warnings = normalize_items(spec, items, extra, raw)
    return Prepared(number, [row for row, _ in pairs], warnings, listed=listed_ids(items))


def prepare_tickets(
    number: int,
    items: Sequence[Any],
    field_ids: Mapping[str, int],
    raw: Sequence[str] | None = None,
) -> Prepared:
    """A page of tickets with their custom field values keyed by ``field_ids`` (title -> id)."""
    pairs, warnings = normalize_items(n.TICKETS, items, raw=raw)
    prepared = Prepared(
        number,
        [row for row, _ in pairs],
        warnings,
        listed=listed_ids(items),
        numbers=listed_ids(items, name="number"),
    )
    for row, item in pairs:
        try:
            values = n.ticket_custom_field_rows(item, field_ids)
        except DataError as exc:
            prepared.warnings.append(f"ticket {row[0]}: custom fields not stored: {exc}")
            values = []
        prepared.values[row[0]] = values
        if any(value[2] is None for value in values):
            prepared.unknown_field = True
    return prepared


def unknown_statuses(prepared: Prepared, known: set[str]) -> bool:
    """Whether a ticket names a status the mirror does not know (the list changed)."""
    return any(
        row[TICKET_STATUS] is not None and row[TICKET_STATUS] not in known for row in prepared.rows
    )
