"""Reading a JSON list answer: its items, and the exact text of each, at any depth.

Keeping each item's text as sent spares encoding it again for ``raw_json`` and
stores the payload untouched. Python's JSON parser recurses, so an element
nested deeper than it can follow (200,000 levels, say) is not parsed: it
becomes an :class:`~assembla_mirror.model.specs.UnreadableItem` describing
itself as far as it can be read, and the rest of the list is kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from assembla_mirror.api.paging import item_key
from assembla_mirror.errors import ResponseFormatError
from assembla_mirror.model.specs import UnreadableItem, is_record

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


def parse_json(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep to parse reported as :class:`ResponseFormatError`."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ResponseFormatError("the answer is nested too deeply to read") from None


def read_json_list(content: bytes) -> tuple[list[Any], list[str]]:
    """The items of a JSON list answer and the exact text of each; ``b""`` (a 204) is none.

    Raises ValueError for a body that is not JSON (cut short, say: worth a retry)
    and :class:`ResponseFormatError` for JSON that is not a list of objects.
    """
    if not content.strip():
        return [], []
    text = content.decode("utf-8")  # UnicodeDecodeError is a ValueError too
    try:
        items, texts = split_json_array(text)
    except ValueError:
        value = parse_json(text)  # raises ValueError again when it is not JSON at all
        kind_of = type(value).__name__
        raise ResponseFormatError(f"expected a JSON list of objects, got {kind_of}") from None
    if not all(is_record(item) for item in items):
        raise ResponseFormatError("expected a JSON list of objects, got other values in it")
    return items, texts


@dataclass(frozen=True)
class JsonList:
    """A JSON list answer as items and their texts, unconverted (for ``mirror get --all``)."""

    items: list[Any]
    texts: list[str]

    @classmethod
    def decode(cls, content: bytes) -> JsonList:
        """The list in ``content`` (see :func:`read_json_list`)."""
        return cls(*read_json_list(content))

    def __len__(self) -> int:
        return len(self.items)

    def item_keys(self) -> set[str]:
        """The :func:`~assembla_mirror.api.paging.item_key` of every item."""
        return {item_key(item) for item in self.items}
