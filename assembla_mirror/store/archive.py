"""The SQL of the archive tables that are not rows of records: tag links, and the
associations of tickets that went.

``ticket_tags`` is written per tag: one walk of a tag's tickets gives every
ticket carrying it, so the stored links of that tag are made to match it whole.
A ticket the mirror does not hold (created after this run's walk of tickets) is
left out: its link arrives with the next run, which sees the ticket changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, bindparam, text

from assembla_mirror.store.writes import ChangeCounter, chunks, delete_keys

_TAGS_AFTER = text("SELECT id FROM tags WHERE space_id = :space AND id > :after ORDER BY id")
_LINK = text("INSERT INTO ticket_tags (ticket_id, tag_id, space_id) VALUES (:ticket, :tag, :space)")
_LINK_WALK_SIZE = text(
    "SELECT count(*), coalesce(sum(pages), 0) FROM (SELECT g.id, "
    "count(k.ticket_id) / 100 + 1 AS pages FROM tags AS g "
    "LEFT JOIN ticket_tags AS k ON k.tag_id = g.id WHERE g.space_id = :space GROUP BY g.id) AS t"
)


def tags_after(conn: Connection, space_id: str, after: int) -> list[int]:
    """A space's tag ids above ``after``, in order."""
    return [int(row[0]) for row in conn.execute(_TAGS_AFTER, {"space": space_id, "after": after})]


def link_walk_size(conn: Connection, space_id: str) -> tuple[int, int]:
    """A space's tags, and the requests a walk of all their tickets takes (a page per 100
    tickets, and one past a full last page), as far as the mirror knows them."""
    tags, pages = conn.execute(_LINK_WALK_SIZE, {"space": space_id}).one()
    return int(tags), int(pages)


@dataclass(frozen=True)
class _Side:
    """One side of ``ticket_tags`` whose links are replaced: its column, the other
    side's column, the other side's table, and each side's name in :data:`_LINK`."""

    column: str
    other: str
    other_table: str
    name: str
    other_name: str

    @cached_property
    def linked(self) -> Any:
        return text(f"SELECT {self.other} FROM ticket_tags WHERE {self.column} = :id")

    @cached_property
    def present(self) -> Any:
        return text(
            f"SELECT id FROM {self.other_table} WHERE space_id = :space AND id IN :ids"
        ).bindparams(bindparam("ids", expanding=True))

    @cached_property
    def unlink(self) -> Any:
        return text(
            f"DELETE FROM ticket_tags WHERE {self.column} = :id AND {self.other} IN :ids"
        ).bindparams(bindparam("ids", expanding=True))


_TAG = _Side("tag_id", "ticket_id", "tickets", "tag", "ticket")
_TICKET = _Side("ticket_id", "tag_id", "tags", "ticket", "tag")


def replace_tag_links(
    conn: Connection,
    space_id: str,
    tag_id: int,
    ticket_ids: Iterable[int],
    counter: ChangeCounter,
    *,
    remove_missing: bool = True,
) -> None:
    """Make the tickets linked to ``tag_id`` exactly ``ticket_ids`` (those the mirror holds
    in the tag's space); without ``remove_missing``, only add the links not stored."""
    _replace_links(conn, _TAG, space_id, tag_id, ticket_ids, counter, remove_missing)


def replace_ticket_links(
    conn: Connection,
    space_id: str,
    ticket_id: int,
    tag_ids: Iterable[int],
    counter: ChangeCounter,
    *,
    remove_missing: bool = True,
) -> None:
    """Make the tags linked to ``ticket_id`` exactly ``tag_ids`` (those the mirror holds in
    the ticket's space); without ``remove_missing``, only add the links not stored."""
    _replace_links(conn, _TICKET, space_id, ticket_id, tag_ids, counter, remove_missing)


def _replace_links(
    conn: Connection,
    side: _Side,
    space_id: str,
    key: int,
    listed_ids: Iterable[int],
    counter: ChangeCounter,
    remove_missing: bool,
) -> None:
    """Make the links of ``key`` (on ``side``) exactly ``listed_ids``, as described above."""
    listed = set(listed_ids)
    stored = {int(row[0]) for row in conn.execute(side.linked, {"id": key})}
    gone = sorted(stored - listed) if remove_missing else []
    for part in chunks(gone):
        conn.execute(side.unlink, {"id": key, "ids": list(part)})
    new: list[int] = []
    for part in chunks(sorted(listed - stored)):
        found = conn.execute(side.present, {"space": space_id, "ids": list(part)})
        new += [int(row[0]) for row in found]
    if new:
        rows = [{side.name: key, side.other_name: other, "space": space_id} for other in new]
        conn.execute(_LINK, rows)
    if gone or new:
        counter.add("ticket_tags", inserted=len(new), deleted=len(gone))


def forget_tickets(conn: Connection, ticket_ids: Sequence[Any], counter: ChangeCounter) -> None:
    """Delete what hangs off tickets deleted upstream beyond their foreign keys: the
    associations naming them (Assembla lists one only under its tickets, so none would
    name it again) and the files attached to them (deleted with the ticket)."""
    for column in ("ticket1_id", "ticket2_id"):
        delete_keys(conn, "ticket_associations", column, ticket_ids, counter)
    delete_keys(conn, "attachments", "ticket_id", ticket_ids, counter)


def forget_space_associations(conn: Connection, space_id: str, counter: ChangeCounter) -> None:
    """Delete the associations listed under the tickets of a space that left the mirror."""
    delete_keys(conn, "ticket_associations", "space_id", [space_id], counter)
