"""What the read side's questions return, and the pieces their statements share.

A question of the read side (a report, a listing for a DataFrame) returns
:class:`Rows`: the column names as the statement labels them, and the rows as
plain tuples. Its statements are ``text()`` with named binds; a list of values
(the spaces a user chose) is one expanding bind, and a range of days becomes
text bounds on the stored UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, text


@dataclass(frozen=True)
class Rows:
    """Rows of a question, with the column names its statement gives them."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def fetch(conn: Connection, sql: str, params: Mapping[str, Any], lists: Iterable[str] = ()) -> Rows:
    """Run ``sql`` (named binds ``:name``) with ``params``; ``lists`` name the binds that
    hold a list of values (written ``column IN :name``)."""
    statement = text(sql)
    expanding: list[BindParameter[Any]] = [bindparam(name, expanding=True) for name in lists]
    if expanding:
        statement = statement.bindparams(*expanding)
    result = conn.execute(statement, dict(params))
    return Rows(tuple(result.keys()), [tuple(row) for row in result])


def one_of(column: str, name: str, values: list[Any]) -> tuple[str, dict[str, Any], list[str]]:
    """``column IN :name`` with its parameter and list bind (always true when ``values`` is
    empty, which means no restriction): (condition, params, lists)."""
    if not values:
        return "1 = 1", {}, []
    return f"{column} IN :{name}", {name: list(values)}, [name]


def day_bounds(since: date | None, until: date | None) -> tuple[str | None, str | None]:
    """Text bounds for a stored UTC datetime column: ``since`` inclusive, ``until`` inclusive.

    Stored datetimes read ``YYYY-MM-DD HH:MM:SS``, so ``>= 'YYYY-MM-DD'`` starts at
    that midnight and ``< 'the day after until'`` ends after the last second of
    ``until``: plain text comparison, which the indexes on the columns serve.
    """
    low = since.isoformat() if since is not None else None
    high = (until + timedelta(days=1)).isoformat() if until is not None else None
    return low, high


def between(column: str, since: date | None, until: date | None) -> tuple[str, dict[str, Any]]:
    """The condition that ``column`` (a stored UTC datetime) falls on ``since`` .. ``until``
    (inclusive days; either may be open), with its parameters ``low`` and ``high``."""
    low, high = day_bounds(since, until)
    conditions = ["1 = 1"]
    if low:
        conditions.append(f"{column} >= :low")
    if high:
        conditions.append(f"{column} < :high")
    return " AND ".join(conditions), {"low": low, "high": high}
