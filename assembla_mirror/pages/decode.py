"""The body of a page of tickets or tasks, as rows: the CPU-heavy half of fetching.

Splitting a JSON array into its items and their exact text, then normalizing
each item, costs more than the request itself on a fast connection. It is pure
(bytes in, rows out) so it can run in this process or in a worker process
(:mod:`assembla_mirror.pages.offload`); the wire format between the two is here.
Nothing here imports HTTP or database code, which keeps a worker light.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assembla_mirror.api.paging import item_key
from assembla_mirror.errors import ResponseFormatError
from assembla_mirror.model import convert as n
from assembla_mirror.model.convert import UnreadableItem, is_record
from assembla_mirror.pages.prepare import Prepared, prepare, prepare_tickets

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
#: A JSON string, or one bracket: what matters when skipping over a value unparsed.
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def skip_json_value(text: str, at: int) -> int:
    """Where the JSON value starting at ``at`` ends, found without parsing it.

    Only brackets and strings matter, so any depth costs one pass and no recursion.
    Raises ValueError when the value does not end.
    """
    if text[at : at + 1] not in ("[", "{"):
        return _DECODER.raw_decode(text, at)[1]  # a scalar: no recursion to fear
    depth = 0
    for match in _STRUCTURE.finditer(text, at):
        mark = match.group()
        if mark in "[{":
            depth += 1
        elif mark in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    raise ValueError("a JSON value does not end")


def unreadable_item(text: str) -> UnreadableItem:
    """Describe a too deeply nested element: its ``id`` (or ``number``) and the culprit field."""
    key = "unreadable:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    record_id: Any = "?"
    culprit: str | None = None
    at = _SPACE.match(text, 1).end()  # type: ignore[union-attr]
    if text[:1] != "{":
        return UnreadableItem(record_id, None, key)
    try:
        while text[at : at + 1] == '"':
            name, at = _DECODER.raw_decode(text, at)
            at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]  # past ":"
            end = skip_json_value(text, at)
            try:
                value = _DECODER.decode(text[at:end])
            except RecursionError:
                culprit = culprit or str(name)
            else:
                if name in ("id", "number") and record_id == "?":
                    record_id = value
            at = _SPACE.match(text, end).end()  # type: ignore[union-attr]
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]  # past ","
    except ValueError:
        pass  # described as far as it could be read
    return UnreadableItem(record_id, culprit, key)


def split_json_array(text: str) -> tuple[list[Any], list[str]]:
    """Parse a JSON array, returning its elements and the exact text of each.

    An element nested too deeply to parse becomes an :class:`UnreadableItem`.
    Raises ValueError when ``text`` is not a JSON array.
    """
    at = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[at : at + 1] != "[":
        raise ValueError("not a JSON array")
    at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    items: list[Any] = []
    raw: list[str] = []
    if text[at : at + 1] == "]":
        at += 1
    else:
        while True:
            try:
                item, end = _DECODER.raw_decode(text, at)
            except RecursionError:
                end = skip_json_value(text, at)
                item = unreadable_item(text[at:end])
            items.append(item)
            raw.append(text[at:end])
            at = _SPACE.match(text, end).end()  # type: ignore[union-attr]
            separator = text[at : at + 1]
            at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            if separator == "]":
                break
            if separator != ",":
                raise ValueError("malformed JSON array")
    if text[at:].strip():
        raise ValueError("trailing data after the JSON array")
    return items, raw


@dataclass
class DecodedPage:
    """A page as rows, and what paging and the walk read before the writer takes it.

    Paging needs the item ``count`` and ``keys`` (a :class:`paging.Listing`),
    the walk the page's ``oldest_updated_at`` (UTC text). From a worker, the rows
    stay in their wire form until :attr:`prepared` is first read, which the
    writer does: loading them in a fetch thread would hold the GIL for a
    millisecond a page and stall the writer each time.
    """

    count: int
    keys: list[str]
    oldest_updated_at: str | None
    number: int = 0
    _prepared: Prepared | None = None
    _wire: bytes | None = None

    def __len__(self) -> int:
        return self.count

    def item_keys(self) -> set[str]:
        """The :func:`paging.item_key` of every item."""
        return set(self.keys)

    @property
    def prepared(self) -> Prepared:
        """The rows (loaded from their wire form on first use)."""
        if self._prepared is None:
            assert self._wire is not None, "a page holds its rows or their wire form"
            rows, warnings, values, unknown, listed, numbers = marshal.loads(self._wire)  # noqa: S302
            prepared = Prepared(0, rows, warnings, values, unknown, listed, numbers)
            self._prepared, self._wire = prepared, None
        self._prepared.number = self.number
        return self._prepared


Preparer = Callable[[list[dict[str, Any]], list[str], Any], Prepared]

#: What each kind of page becomes (its table, and how); the context is plain data.
KINDS: dict[str, tuple[n.TableSpec, Preparer]] = {
    # Tickets: the context is the space's custom field ids by title.
    "tickets": (n.TICKETS, lambda items, raw, field_ids: prepare_tickets(0, items, field_ids, raw)),
    "tasks": (n.TASKS, lambda items, raw, _context: prepare(0, n.TASKS, items, raw=raw)),
}


def decode_page(kind: str, context: Any, content: bytes) -> DecodedPage:
    """Rows of a JSON list answer of ``kind`` (see ``KINDS``).

    Raises ValueError for a body that is not JSON (cut short, say: worth a retry)
    and :class:`ResponseFormatError` for JSON that is not a list of objects.
    """
    text = content.decode("utf-8")  # UnicodeDecodeError is a ValueError too
    try:
        items, raw = split_json_array(text)
    except ValueError:
        value = parse_json(text)  # raises ValueError again when it is not JSON at all
        kind_of = type(value).__name__
        raise ResponseFormatError(f"expected a JSON list of objects, got {kind_of}") from None
    if not all(is_record(item) for item in items):
        raise ResponseFormatError("expected a JSON list of objects, got other values in it")
    spec, prepare_page = KINDS[kind]
    prepared = prepare_page(items, raw, context)
    column = spec.columns.index("updated_at")
    times = [row[column] for row in prepared.rows if row[column] is not None]
    keys = [item_key(item) for item in items]
    return DecodedPage(len(items), keys, min(times) if times else None, _prepared=prepared)


def parse_json(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep to parse reported as :class:`ResponseFormatError`."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ResponseFormatError("the answer is nested too deeply to read") from None


# --- the wire format between a sync and its decode workers -----------------------
# marshal rather than pickle: the values are plain (tuples, strings, numbers),
# it is faster both ways, and loading it can never run code. Both ends are this
# package on a private pipe, which is why loading it is safe (S302).


def request_bytes(kind: str, context: Any, content: bytes) -> bytes:
    """A decode request as sent to a worker."""
    return marshal.dumps((kind, context, content))


def answer(request: bytes) -> bytes:
    """A worker's answer to ``request``: the decoded page, or the error it raised."""
    kind, context, content = marshal.loads(request)  # noqa: S302
    try:
        page = decode_page(kind, context, content)
    except (ValueError, ResponseFormatError) as exc:
        return marshal.dumps(("error", isinstance(exc, ValueError), str(exc)))
    p = page.prepared
    rows = marshal.dumps((p.rows, p.warnings, p.values, p.unknown_field, p.listed, p.numbers))
    return marshal.dumps(("page", page.count, page.keys, page.oldest_updated_at, rows))


def from_answer(data: bytes) -> DecodedPage:
    """The page a worker's answer holds; its error raised as the same type."""
    message: Sequence[Any] = marshal.loads(data)  # noqa: S302
    if message[0] == "error":
        _, retryable, text = message
        raise ValueError(text) if retryable else ResponseFormatError(text)
    _, count, keys, oldest_updated_at, rows = message
    return DecodedPage(count, keys, oldest_updated_at, _wire=rows)
