"""What names a row of the mirror, as SQL: for pages that show a name where a table
holds an id or a code (the Datasette plugin, :mod:`assembla_mirror.read.datasette.plugin`).

Each query reads one row by its ``:id`` and answers one column, the name. They are
SQLite SQL, the only database Datasette serves.
"""

from __future__ import annotations

from assembla_mirror.store.dialect import quote

__all__ = ["FIELD_TYPE_QUERY", "NAMES", "name_query"]

_PERSON = "COALESCE(name, login)"
_TICKET = "'#' || number || ' ' || COALESCE(summary, '')"

#: What names a row, by table: SQL over that row. It titles the row's page and labels
#: the ids that point at the row (tickets by ``#number``, as Assembla shows them).
NAMES: dict[str, str] = {
    "tickets": _TICKET,
    "deleted_tickets": _TICKET,
    "spaces": "name",
    "users": _PERSON,
    "milestones": "title",
    "ticket_statuses": "name",
    "custom_fields": "title",
    "tags": "name",
    "attachments": "filename",
}

#: The type of custom field ``:id`` (``Team List`` ...).
FIELD_TYPE_QUERY = "SELECT type FROM custom_fields WHERE id = :id"


def name_query(table: str) -> str:
    """The name of the row of ``table`` (one of :data:`NAMES`) whose id is ``:id``."""
    return f"SELECT {NAMES[table]} FROM {quote(table)} WHERE id = :id"
