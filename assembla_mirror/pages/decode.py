"""One answer of a list, as rows: the CPU-heavy half of fetching, for every kind of list.

Every list the mirror reads becomes a :class:`Page` here, in one way: the JSON
list is split into its items and their exact texts (:mod:`.jsonlist`; the legacy
host's time logs are XML, :mod:`.legacy`), then each item becomes a row of its
table as the table's spec says (:mod:`.rows`). It is pure, bytes in and rows
out, so ticket and task pages can be decoded in a worker process
(:mod:`.offload`); the wire format between the two is here.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assembla_mirror.api.paging import item_key
from assembla_mirror.errors import ResponseFormatError
from assembla_mirror.model.specs import TableSpec, spec_from_wire, spec_wire
from assembla_mirror.model.values import dump_json
from assembla_mirror.pages.jsonlist import read_json_list
from assembla_mirror.pages.legacy import parse_time_logs
from assembla_mirror.pages.rows import (
    Rows,
    association_rows,
    event_rows,
    table_rows,
    ticket_rows,
)


@dataclass
class Page:
    """One answer of a list: how many items it held, what identifies them, and its rows.

    Paging reads ``count`` and ``keys`` (a :class:`~assembla_mirror.api.paging.Listing`),
    a walk the page's ``oldest_updated_at`` (UTC text), the writer :attr:`rows`.
    From a worker, the rows stay in their wire form until :attr:`rows` is first
    read, which the writer does: loading them in a fetch thread would hold the
    GIL for a millisecond a page and stall the writer each time.
    """

    count: int
    keys: list[str]
    oldest_updated_at: str | None = None
    #: The page's number in its list (1-based); 0 for a single answer.
    number: int = 0
    _rows: Rows | None = None
    _wire: bytes | None = None

    def __len__(self) -> int:
        return self.count

    def item_keys(self) -> set[str]:
        """The :func:`~assembla_mirror.api.paging.item_key` of every item."""
        return set(self.keys)

    @property
    def rows(self) -> Rows:
        """The rows (loaded from their wire form on first use)."""
        if self._rows is None:
            assert self._wire is not None, "a page holds its rows or their wire form"
            self._rows, self._wire = Rows(*marshal.loads(self._wire)), None  # noqa: S302
        return self._rows

    @classmethod
    def empty(cls, number: int = 0) -> Page:
        """A page that brought nothing (the end of a list)."""
        return cls(0, [], None, number, Rows())


def rows_of(spec: TableSpec, items: list[Any], texts: list[str], context: Any) -> Rows:
    """The rows ``items`` give ``spec``'s table. Tickets take their space's custom field
    ids by title as ``context``; a table with a column the caller supplies (the space
    of a status or a comment) takes its value; events are numbered by the reader.
    """
    if spec.table == "tickets":
        return ticket_rows(spec, items, context, texts)
    if spec.table == "events":
        # Kept as re-encoded JSON (never their text as sent): a stored event's
        # raw_json is compared with the next read's to spot nothing new.
        return event_rows(spec, items)
    if spec.table == "ticket_associations":
        return association_rows(spec, items, context, texts)
    return table_rows(spec, items, texts, (context,) if spec.extra else ())


def decode_page(spec: TableSpec, context: Any, content: bytes) -> Page:
    """The rows of a list answer for ``spec``'s table (see :func:`rows_of` for
    ``context``); ``b""`` is an empty list.

    Raises ValueError for a body that is not what it should be (cut short, say:
    worth a retry) and :class:`ResponseFormatError` for JSON that is not a list
    of objects.
    """
    items, texts = read_items(spec, content)
    rows = rows_of(spec, items, texts, context)
    # A page's oldest update tells a newest-first walk how far back it has come.
    at = spec.columns.index("updated_at") if "updated_at" in spec.columns else None
    times = [row[at] for row in rows.rows if row[at] is not None] if at is not None else []
    keys = [item_key(item) for item in items]
    return Page(len(items), keys, min(times) if times else None, 0, rows)


def read_items(spec: TableSpec, content: bytes) -> tuple[list[Any], list[str]]:
    """The items of an answer and the exact text of each (XML items are re-encoded)."""
    if spec.table == "time_logs":  # the legacy host's
        if not content.strip():
            return [], []
        try:
            logs: list[Any] = list(parse_time_logs(content))
        except ResponseFormatError as exc:  # broken XML comes from a proxy far more often
            raise ValueError(str(exc)) from None  # than from a change of format: retried
        return logs, [dump_json(log) for log in logs]
    return read_json_list(content)


# --- the wire format between a sync and its decode workers -----------------------
# marshal rather than pickle: the values are plain (tuples, strings, numbers),
# it is faster both ways, and loading it can never run code. Both ends are this
# package on a private pipe, which is why loading it is safe (S302).


def request_bytes(spec: TableSpec, context: Any, content: bytes) -> bytes:
    """A decode request as sent to a worker: the spec travels as data (a worker does
    not load the models it was derived from)."""
    return marshal.dumps((spec_wire(spec), context, content))


def answer(request: bytes) -> bytes:
    """A worker's answer to ``request``: the decoded page, or the error it raised."""
    wire, context, content = marshal.loads(request)  # noqa: S302
    try:
        page = decode_page(spec_from_wire(wire), context, content)
    except (ValueError, ResponseFormatError) as exc:
        return marshal.dumps(("error", isinstance(exc, ValueError), str(exc)))
    rows = marshal.dumps(page.rows.as_wire())
    return marshal.dumps(("page", page.count, page.keys, page.oldest_updated_at, rows))


def from_answer(data: bytes) -> Page:
    """The page a worker's answer holds; its error raised as the same type."""
    message: Sequence[Any] = marshal.loads(data)  # noqa: S302
    if message[0] == "error":
        _, retryable, text = message
        raise ValueError(text) if retryable else ResponseFormatError(text)
    _, count, keys, oldest_updated_at, rows = message
    return Page(count, keys, oldest_updated_at, _wire=rows)
