"""What every report shares: the :class:`Report` shape, space selection, day ranges.

Reports read the mirror through a SQLAlchemy ``Connection`` (as
:func:`assembla_mirror.store.search.search_tickets` does), so a caller can run several
in one transaction. The questions themselves are the store's
(:mod:`assembla_mirror.store.reports`); a report adds its title and shape.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError
from assembla_mirror.store.database import open_existing
from assembla_mirror.store.reports import space_references


@dataclass(frozen=True)
class Report:
    """Rows with their column names, and a title saying what they are and over which range."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """All values of one column."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


@contextmanager
def connect(path: str | Path) -> Iterator[Connection]:
    """A connection to the existing mirror at ``path``; its engine is released afterwards."""
    engine = open_existing(path)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def resolve_spaces(conn: Connection, refs: Sequence[str]) -> list[str]:
    """Ids of the spaces ``refs`` name, each by id, wiki_name or name (case-insensitive).

    Raises :class:`ConfigError` for a name matching no space or several.
    The spaces table is small (one row per project), so it is read whole and
    matched with Python's ``casefold``, which, unlike SQLite's ``lower``,
    folds non-ASCII names too.
    """
    if not refs:
        return []
    spaces = space_references(conn)
    ids: list[str] = []
    for ref in refs:
        folded = ref.strip().casefold()
        matches = [
            space_id
            for space_id, wiki_name, name in spaces
            if folded in (space_id.casefold(), (wiki_name or "").casefold(), name.casefold())
        ]
        if not matches:
            known = ", ".join(sorted(wiki_name or name for _id, wiki_name, name in spaces))
            raise ConfigError(f"no space matches {ref!r}; the mirror has: {known or 'none'}")
        if len(matches) > 1:
            raise ConfigError(f"{ref!r} matches several spaces; use its wiki_name or id")
        if matches[0] not in ids:
            ids.append(matches[0])
    return ids


def check_days(since: date | None, until: date | None) -> None:
    """Refuse a range of days that ends before it starts (:class:`ConfigError`)."""
    if since is not None and until is not None and since > until:
        raise ConfigError(f"--from {since} is after --to {until}")


def range_title(since: date | None, until: date | None) -> str:
    """How a date range reads in a report title."""
    if since is None and until is None:
        return "all time"
    if since is None:
        return f"until {until}"
    if until is None:
        return f"since {since}"
    return f"{since} to {until}"
