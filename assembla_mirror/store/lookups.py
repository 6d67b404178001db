"""The questions a sync asks the mirror, and the few small changes it makes outside rows.

Each is a named function over a connection already in the caller's
transaction, so what a job reads is what its transaction wrote. Statements are
plain SQL that every supported database reads alike, with named parameters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, text

from assembla_mirror.store.writes import chunks


def _ids(statement: str, name: str = "ids") -> Any:
    """``statement`` with ``:name`` expanding to a list of values."""
    return text(statement).bindparams(bindparam(name, expanding=True))


_FIELD_IDS = text("SELECT title, id FROM custom_fields WHERE space_id = :space")
_FIELDS = text("SELECT id, title FROM custom_fields WHERE space_id = :space")
_STATUS_NAMES = text("SELECT name FROM ticket_statuses WHERE space_id = :space")
_OWNED = text("SELECT space_id FROM user_roles WHERE user_id = :user AND role = 'owner'")
_TASK_USERS = text(
    "SELECT user_id FROM user_roles WHERE space_id = :space "
    "UNION SELECT user_id FROM tasks WHERE space_id = :space AND user_id IS NOT NULL"
)
_SET_TOOL = text(
    "UPDATE spaces SET has_ticket_tool = :present "
    "WHERE id = :space AND (has_ticket_tool IS NULL OR has_ticket_tool != :present)"
)
_SPACES = text("SELECT id, name, wiki_name, has_ticket_tool FROM spaces")
_TICKET_NUMBERS = _ids("SELECT id, number FROM tickets WHERE id IN :ids")
_EVENT_KEYS = _ids("SELECT id FROM events WHERE id IN :ids")
_TICKETS_AFTER = text(
    "SELECT id, space_id, number FROM tickets WHERE space_id = :space AND id > :after ORDER BY id"
)
_COUNT_TICKETS_AFTER = text("SELECT count(*) FROM tickets WHERE space_id = :space AND id > :after")
_TASKS_OF_USER_AFTER = _ids(
    "SELECT id, space_id, NULL FROM tasks WHERE user_id = :user AND id > :after "
    "AND space_id IN :ids ORDER BY id"
)


def custom_field_ids(conn: Connection, space_id: str) -> dict[str, int]:
    """A space's custom field ids by title."""
    return {str(row[0]): int(row[1]) for row in conn.execute(_FIELD_IDS, {"space": space_id})}


def custom_fields(conn: Connection, space_id: str) -> list[tuple[int, str]]:
    """A space's custom fields as (id, title)."""
    return [(field_id, title) for field_id, title in conn.execute(_FIELDS, {"space": space_id})]


def status_names(conn: Connection, space_id: str) -> set[str]:
    """A space's ticket status names."""
    return {row[0] for row in conn.execute(_STATUS_NAMES, {"space": space_id})}


def task_users(conn: Connection, space_ids: Sequence[str], caller_id: str) -> list[str]:
    """Users whose tasks to ask for: members of the listed spaces the caller owns, and
    anyone the mirror already holds tasks of there (members who left); not the caller."""
    owned = [row[0] for row in conn.execute(_OWNED, {"user": caller_id}) if row[0] in space_ids]
    users: set[str] = set()
    for space_id in owned:
        users.update(row[0] for row in conn.execute(_TASK_USERS, {"space": space_id}))
    users.discard(caller_id)
    return sorted(users)


def set_ticket_tool(conn: Connection, space_id: str, present: bool) -> None:
    """Record whether a space has the ticket tool."""
    conn.execute(_SET_TOOL, {"present": present, "space": space_id})


def spaces(conn: Connection) -> list[tuple[str, str, str | None, bool | None]]:
    """Every mirrored space as (id, name, wiki_name, has_ticket_tool)."""
    return [
        (space_id, name, wiki_name, None if tool is None else bool(tool))
        for space_id, name, wiki_name, tool in conn.execute(_SPACES)
    ]


def ticket_numbers(conn: Connection, ticket_ids: Sequence[Any]) -> dict[int, int]:
    """Stored ticket number by id."""
    numbers: dict[int, int] = {}
    for part in chunks(list(ticket_ids)):
        numbers.update(
            (row[0], row[1]) for row in conn.execute(_TICKET_NUMBERS, {"ids": list(part)})
        )
    return numbers


def stored_event_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` the events table holds."""
    found: set[str] = set()
    for part in chunks(list(keys)):
        found.update(row[0] for row in conn.execute(_EVENT_KEYS, {"ids": list(part)}))
    return found


def tickets_after(conn: Connection, space_id: str, after: int) -> list[tuple[int, str, int | None]]:
    """A space's tickets with an id above ``after``, as (id, space_id, number), by id."""
    rows = conn.execute(_TICKETS_AFTER, {"space": space_id, "after": after})
    return [(row[0], row[1], row[2]) for row in rows]


def count_tickets_after(conn: Connection, space_id: str, after: int) -> int:
    """How many of a space's tickets have an id above ``after``."""
    return int(conn.execute(_COUNT_TICKETS_AFTER, {"space": space_id, "after": after}).scalar_one())


def tasks_of_user_after(
    conn: Connection, user_id: str, space_ids: Iterable[str], after: int
) -> list[tuple[int, str, int | None]]:
    """A user's tasks in ``space_ids`` with an id above ``after``, as (id, space_id, None)."""
    values = {"user": user_id, "after": after, "ids": list(space_ids)}
    return [(row[0], row[1], row[2]) for row in conn.execute(_TASKS_OF_USER_AFTER, values)]


def delete_in_space(conn: Connection, table: str, key: Any, space_id: str) -> int:
    """Delete the row ``key`` of ``table`` if it belongs to ``space_id``; how many went."""
    statement = text(f'DELETE FROM "{table}" WHERE id = :key AND space_id = :space')
    return int(conn.execute(statement, {"key": key, "space": space_id}).rowcount)
