"""Writes of ticket history: changes read from comments, seen by a sync or inferred, and
the tickets deleted upstream (see :mod:`assembla_mirror.model.history`).

Every function takes a connection inside the caller's transaction: a page of
tickets or comments and the history it implies land together or not at all, so
an interrupted sync never leaves history that disagrees with the rows it was
read from. Each writes nothing when nothing changed, so a no-change re-sync
writes no history either.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, text

from assembla_mirror.model import convert as n
from assembla_mirror.model.changes import parse_ticket_changes
from assembla_mirror.model.columns import format_utc
from assembla_mirror.model.history import COMMENT, INFERRED, MIRROR, TRACKED_FIELDS
from assembla_mirror.store import archive
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.writes import ChangeCounter, chunks, delete_keys

#: The columns of ``ticket_changes`` a write supplies (``id`` is the database's).
CHANGE_COLUMNS = (
    "ticket_id",
    "space_id",
    "changed_at",
    "user_id",
    "field",
    "old_value",
    "new_value",
    "source",
    "comment_id",
)
#: A ``ticket_changes`` row as written: the values of :data:`CHANGE_COLUMNS`.
ChangeRow = tuple[Any, ...]

_TICKET = {name: n.TICKETS.columns.index(name) for name in ("id", "space_id", "updated_at")}
_TRACKED_AT = [n.TICKETS.columns.index(name) for name in TRACKED_FIELDS]
_COMMENT = {
    name: n.TICKET_COMMENTS.columns.index(name)
    for name in ("id", "ticket_id", "space_id", "user_id", "ticket_changes", "created_on")
}
#: A custom field's value, keyed apart from the ticket's own columns.
_CUSTOM = "custom:"


def as_text(value: Any) -> str | None:
    """A stored value as history keeps it: text, with ``""`` meaning no value."""
    if value is None or value == "":
        return None
    return str(value)


def _insert(conn: Connection, rows: Sequence[ChangeRow], counter: ChangeCounter) -> None:
    if rows:
        dialect_of(conn).insert_rows(conn, "ticket_changes", CHANGE_COLUMNS, list(rows))
        counter.add("ticket_changes", inserted=len(rows))


# --- what a sync sees itself -----------------------------------------------------------


_TRACKED_SQL = text(
    "SELECT id, 'ticket', NULL, "
    + ", ".join(TRACKED_FIELDS)
    + " FROM tickets WHERE id IN :ids UNION ALL SELECT ticket_id, 'custom', title, value"
    + ", NULL" * (len(TRACKED_FIELDS) - 1)
    + " FROM ticket_custom_fields WHERE ticket_id IN :ids UNION ALL SELECT id, 'deleted', NULL"
    + ", NULL" * len(TRACKED_FIELDS)
    + " FROM deleted_tickets WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True))


@dataclass
class Stored:
    """What the mirror holds of some tickets before a sync writes them."""

    #: The tracked fields (custom fields as ``custom:TITLE``) of the stored ones, as text.
    values: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: Those the mirror holds as deleted.
    deleted: set[int] = field(default_factory=set)


def stored_tickets(conn: Connection, ticket_ids: Sequence[int]) -> Stored:
    """What :func:`record_seen_changes` compares the new versions of ``ticket_ids`` with
    (one statement per few hundred tickets: this runs for every page of tickets)."""
    stored = Stored()
    customs: list[tuple[int, str, Any]] = []
    for part in chunks(list(ticket_ids)):
        for ticket_id, kind, title, *values in conn.execute(_TRACKED_SQL, {"ids": list(part)}):
            if kind == "ticket":
                fields = zip(TRACKED_FIELDS, values, strict=True)
                stored.values[ticket_id] = {name: as_text(value) for name, value in fields}
            elif kind == "custom":
                customs.append((ticket_id, title, values[0]))
            else:
                stored.deleted.add(ticket_id)
    for ticket_id, title, value in customs:
        if ticket_id in stored.values:
            stored.values[ticket_id][_CUSTOM + title] = as_text(value)
    return stored


def record_seen_changes(
    conn: Connection,
    before: Stored,
    written: Iterable[n.Row],
    values: Mapping[int, Sequence[n.Row]],
    counter: ChangeCounter,
    now: datetime,
) -> int:
    """Record, as ``mirror`` changes at each ticket's new ``updated_at``, the tracked fields
    of the ``written`` tickets that differ from what was stored ``before`` (see
    :func:`stored_tickets`); ``values`` holds their custom field rows. A custom field
    counts only when both versions carry its title (a renamed field is no change). A
    deleted ticket written again is no longer deleted. Returns how many changes were
    recorded."""
    rows: list[ChangeRow] = []
    revived: list[int] = []
    for ticket in written:
        if ticket[_TICKET["id"]] in before.deleted:
            revived.append(ticket[_TICKET["id"]])
        old = before.values.get(ticket[_TICKET["id"]])
        if old is None:
            continue  # new to the mirror: its creation is no change
        new = {f: as_text(ticket[at]) for f, at in zip(TRACKED_FIELDS, _TRACKED_AT, strict=True)}
        for row in values.get(ticket[_TICKET["id"]], ()):
            new[_CUSTOM + row[1]] = as_text(row[3])
        when = ticket[_TICKET["updated_at"]] or format_utc(now)
        for key, value in new.items():
            if key in old and old[key] != value:
                rows.append(
                    (
                        ticket[_TICKET["id"]],
                        ticket[_TICKET["space_id"]],
                        when,
                        None,
                        key.removeprefix(_CUSTOM),
                        old[key],
                        value,
                        MIRROR,
                        None,
                    )
                )
    _insert(conn, rows, counter)
    revive_tickets(conn, revived, counter)
    return len(rows)


# --- what comments record ------------------------------------------------------------------


@dataclass
class Unreadable:
    """Change comments whose ``ticket_changes`` could not be read (their text is kept)."""

    count: int = 0
    #: The first few: (comment id, ticket id, why).
    examples: list[tuple[Any, Any, str]] = field(default_factory=list)

    def add(self, comment_id: Any, ticket_id: Any, problem: str) -> None:
        """Count one more."""
        self.count += 1
        if len(self.examples) < 3:
            self.examples.append((comment_id, ticket_id, problem))


def comment_change_rows(comments: Iterable[n.Row], unreadable: Unreadable) -> list[ChangeRow]:
    """The ``comment`` changes the comments record (a comment without a time records none)."""
    rows: list[ChangeRow] = []
    at = _COMMENT
    for comment in comments:
        parsed = parse_ticket_changes(comment[at["ticket_changes"]])
        if parsed.problem is not None:
            unreadable.add(comment[at["id"]], comment[at["ticket_id"]], parsed.problem)
        if comment[at["created_on"]] is None:
            continue
        rows.extend(
            (
                comment[at["ticket_id"]],
                comment[at["space_id"]],
                comment[at["created_on"]],
                comment[at["user_id"]],
                change.field,
                change.old,
                change.new,
                COMMENT,
                comment[at["id"]],
            )
            for change in parsed.changes
        )
    return rows


# Comments are the record: what the mirror saw or inferred up to the newest comment of a
# ticket is what those comments tell, exactly (several changes where a sync saw one).
_SUPERSEDED = text(
    "DELETE FROM ticket_changes WHERE ticket_id IN :ids AND source IN ('mirror', 'inferred') "
    "AND changed_at <= (SELECT max(c.created_on) FROM ticket_comments AS c "
    "WHERE c.ticket_id = ticket_changes.ticket_id)"
).bindparams(bindparam("ids", expanding=True))


def record_comment_changes(
    conn: Connection, comments: Sequence[n.Row], counter: ChangeCounter, unreadable: Unreadable
) -> None:
    """Record the changes of comments just written (new or edited), replacing what they
    recorded before, and what the mirror saw or inferred of their tickets up to the newest
    comment; then close the tickets' status gaps (:func:`close_status_gaps`)."""
    if not comments:
        return
    comment_ids = [row[_COMMENT["id"]] for row in comments]
    ticket_ids = sorted({row[_COMMENT["ticket_id"]] for row in comments})
    delete_keys(conn, "ticket_changes", "comment_id", comment_ids, counter)
    _drop_superseded(conn, ticket_ids, counter)
    _insert(conn, comment_change_rows(comments, unreadable), counter)
    close_status_gaps(conn, ticket_ids, counter)


def _drop_superseded(conn: Connection, ticket_ids: Sequence[int], counter: ChangeCounter) -> None:
    """Drop what syncs saw or inferred of these tickets up to their newest comment."""
    for part in chunks(list(ticket_ids)):
        deleted = conn.execute(_SUPERSEDED, {"ids": list(part)}).rowcount
        if deleted:
            counter.add("ticket_changes", deleted=deleted)


# --- inferred changes ------------------------------------------------------------------------

_STATUS_HISTORY = text(
    "SELECT k.id, k.space_id, k.status, k.updated_at, c.id, c.changed_at, c.old_value, "
    "c.new_value, c.source FROM tickets AS k JOIN ticket_changes AS c ON c.ticket_id = k.id "
    "WHERE k.id IN :ids AND c.field = 'status' ORDER BY k.id, c.changed_at, c.id"
).bindparams(bindparam("ids", expanding=True))


def close_status_gaps(conn: Connection, ticket_ids: Sequence[int], counter: ChangeCounter) -> None:
    """Make each ticket's recorded status changes end in its current status.

    Where the last recorded change (from a comment, or seen) leads elsewhere (changes
    made before comments were mirrored, an edit that left no comment), one ``inferred``
    change at the ticket's ``updated_at`` closes the gap; an inferred change no longer
    needed goes. A ticket without recorded status changes has no gap: it has been in its
    current status since it was created, as far as the mirror knows.
    """
    history: dict[int, list[tuple[Any, ...]]] = {}
    for part in chunks(list(ticket_ids)):
        for row in conn.execute(_STATUS_HISTORY, {"ids": list(part)}):
            history.setdefault(row[0], []).append(tuple(row))
    stale: list[Any] = []
    wanted: list[ChangeRow] = []
    for ticket_id, changes in history.items():
        _, space_id, status, updated_at = changes[0][:4]
        held = [change[4:] for change in changes if change[8] == INFERRED]
        recorded = [change[4:] for change in changes if change[8] != INFERRED]
        want: tuple[Any, ...] | None = None
        if recorded and recorded[-1][3] != status:
            last_at, last_status = recorded[-1][1], recorded[-1][3]
            # Never before the change it follows (a ticket's clock may lag its comments').
            want = (max(updated_at or last_at, last_at), last_status, status)
        if want is not None and [tuple(h[1:4]) for h in held] == [want]:
            continue  # already there
        stale += [change[0] for change in held]
        if want is not None:
            wanted.append((ticket_id, space_id, want[0], None, "status", *want[1:], INFERRED, None))
    delete_keys(conn, "ticket_changes", "id", stale, counter)
    _insert(conn, wanted, counter)


# --- deleted tickets -------------------------------------------------------------------------

_KEEP_DELETED = text(
    "INSERT INTO deleted_tickets (id, space_id, number, summary, status, state, milestone_id, "
    "created_on, updated_at, deleted_at, last_record_json) "
    "SELECT id, space_id, number, summary, status, state, milestone_id, created_on, updated_at, "
    ":deleted_at, raw_json FROM tickets WHERE id IN :ids AND space_id = :space "
    "AND id NOT IN (SELECT id FROM deleted_tickets)"
).bindparams(bindparam("ids", expanding=True))
_DELETE_TICKETS = text("DELETE FROM tickets WHERE id IN :ids AND space_id = :space").bindparams(
    bindparam("ids", expanding=True)
)


def delete_tickets(
    conn: Connection,
    space_id: str,
    ticket_ids: Sequence[int],
    deleted_at: datetime,
    counter: ChangeCounter,
) -> int:
    """Delete tickets of a space deleted upstream, keeping what the mirror knew of each in
    ``deleted_tickets`` (their changes stay in ``ticket_changes``); how many went."""
    deleted = 0
    when = format_utc(deleted_at)
    for part in chunks(list(ticket_ids)):
        values = {"ids": list(part), "space": space_id, "deleted_at": when}
        kept = conn.execute(_KEEP_DELETED, values).rowcount
        if kept:
            counter.add("deleted_tickets", inserted=kept)
        deleted += conn.execute(_DELETE_TICKETS, values).rowcount
    if deleted:
        counter.add("tickets", deleted=deleted)
        archive.forget_tickets(conn, ticket_ids, counter)
    return deleted


def revive_tickets(conn: Connection, ticket_ids: Iterable[int], counter: ChangeCounter) -> None:
    """Forget that tickets were deleted: they are listed again (a deletion the mirror
    inferred wrongly, or one undone upstream)."""
    delete_keys(conn, "deleted_tickets", "id", ticket_ids, counter)


def forget_space(conn: Connection, space_id: str, counter: ChangeCounter) -> None:
    """Drop the history of a space that left the mirror (its tickets went with it), and
    the associations listed under its tickets (they have no foreign key either)."""
    for table in ("ticket_changes", "deleted_tickets"):
        delete_keys(conn, table, "space_id", [space_id], counter)
    archive.forget_space_associations(conn, space_id, counter)


def _comment_columns() -> str:
    # Every column in the spec's order, so rows index like written ones; not the payload.
    return ", ".join("NULL" if c == "raw_json" else c for c in n.TICKET_COMMENTS.columns)


_STORED_COMMENTS = text(
    f"SELECT {_comment_columns()} FROM ticket_comments WHERE id > :after "
    "AND ticket_changes IS NOT NULL ORDER BY id LIMIT :size"
)
_TICKETS_WITH_COMMENTS = text("SELECT DISTINCT ticket_id FROM ticket_comments ORDER BY ticket_id")


def read_stored_comments(
    conn: Connection, counter: ChangeCounter, unreadable: Unreadable, batch: int = 2000
) -> int:
    """Record the changes of every comment already mirrored, as if each was just written:
    how a mirror whose comments predate its history (or whose history was lost) gets it.
    Returns how many comments were read."""
    after, read = -1, 0
    while True:
        comments = conn.execute(_STORED_COMMENTS, {"after": after, "size": batch}).fetchall()
        if not comments:
            break
        rows = [tuple(comment) for comment in comments]
        ids = [row[_COMMENT["id"]] for row in rows]
        delete_keys(conn, "ticket_changes", "comment_id", ids, counter)
        _insert(conn, comment_change_rows(rows, unreadable), counter)
        after, read = ids[-1], read + len(rows)
    tickets = [row[0] for row in conn.execute(_TICKETS_WITH_COMMENTS)]
    _drop_superseded(conn, tickets, counter)
    close_status_gaps(conn, tickets, counter)
    return read
