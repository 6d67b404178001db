"""Names for the ids and codes the mirror's tables hold, as Datasette pages show them.

Assembla's cross references are not declared as foreign keys (they may name a row
the mirror does not hold), so Datasette cannot label them itself. These tables say
what names each kind of id or code, for the plugin's cells and row titles (the SQL
that reads a row's name is the store's: :mod:`assembla_mirror.store.row_names`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from assembla_mirror.store.named_views import PRIORITIES, STATES

__all__ = ["CODES", "REFERENCES", "NameCache"]

#: Columns holding another row's id, by column name: the table of that row.
REFERENCES: dict[str, str] = {
    "space_id": "spaces",
    "milestone_id": "milestones",
    "user_id": "users",
    "assigned_to_id": "users",
    "reporter_id": "users",
    "ticket_id": "tickets",
    "custom_field_id": "custom_fields",
    "tag_id": "tags",
}

#: Columns holding a code, by table and column: the code's names.
CODES: dict[tuple[str, str], dict[int, str]] = {
    ("tickets", "priority"): PRIORITIES,
    ("tickets", "state"): STATES,
    ("deleted_tickets", "state"): STATES,
    ("ticket_statuses", "state"): STATES,
}

#: How long a name is reused: a sync may rename things while Datasette runs, and a
#: page shows the same id on many rows.
CACHE_SECONDS = 10.0
#: How many names are kept at most (then the cache starts afresh).
CACHE_SIZE = 10_000

Lookup = Callable[[str, Any], Awaitable[str | None]]


class NameCache:
    """Recently looked-up names of one database, by (table, id), for :data:`CACHE_SECONDS`."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], tuple[float, str | None]] = {}

    async def name(self, table: str, key: Any, lookup: Lookup) -> str | None:
        """The name of row ``key`` of ``table``, from the cache or from ``lookup``."""
        slot = (table, str(key))
        now = time.monotonic()
        held = self._names.get(slot)
        if held is not None and now - held[0] < CACHE_SECONDS:
            return held[1]
        name = await lookup(table, key)
        if len(self._names) >= CACHE_SIZE:
            self._names.clear()
        self._names[slot] = (now, name)
        return name
