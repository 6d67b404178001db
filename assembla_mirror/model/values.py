"""Value converters: one field of an Assembla record as the value its column stores.

The models name one of these for every column filled from the payload
(:func:`~assembla_mirror.model.declare.payload_column`); :mod:`.convert` applies
them. They are deliberately forgiving where the meaning is unambiguous and
strict where it is not:

* datetimes with any offset (``Z``, ``+05:30``, ``-08:00``) become UTC text
  ``YYYY-MM-DD HH:MM:SS``; a datetime without an offset is ambiguous and rejected;
* ``hours: "1.25"`` becomes a float, ``hours: "abc"`` is rejected;
* an integer where a string id belongs (``space_id: 123``) is kept as text ``"123"``;
* text keeps unicode as given; NUL (which PostgreSQL text cannot hold) and a lone
  surrogate (which no UTF-8 database can store) become U+FFFD in the column, while
  ``raw_json`` keeps them escaped.

A rejected value raises TypeError or ValueError; :func:`.convert.to_row` turns
that into a :class:`~assembla_mirror.errors.DataError` naming the record and field.
Pure functions of the standard library only: a decode worker runs them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

Converter = Callable[[Any], Any]
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def text(value: Any) -> str | None:
    """Text as given; lone surrogates and NUL characters replaced (by U+FFFD); non-text
    scalars kept as their JSON text.

    NUL: PostgreSQL's text cannot hold it, and a mirror must read the same on
    every database (the record's ``raw_json`` keeps it, escaped).
    """
    if value is None:
        return None
    if type(value) is str:
        string: str = value
        if "\x00" in string:
            string = string.replace("\x00", "\ufffd")
        if string.isascii():
            return string
        try:
            string.encode("utf-8")
        except UnicodeEncodeError:
            # JSON decoding joins valid pairs, so any surrogate left is a lone one.
            return LONE_SURROGATE.sub("\ufffd", string)
        return string
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


# Not called "number": a model's class body would see its ``number`` column
# (tickets have one) under that name instead of this function.
def real(value: Any) -> float | None:
    """A finite real number (a float); decimal strings such as ``"1.25"`` are parsed."""
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
