"""Where each resource of each space stands: ``sync_state``, the sync's checkpoints.

Checkpoints are written with the same connection (hence the same transaction)
as the rows they cover, so the database can never claim more than it holds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, text

from assembla_mirror.model.columns import format_utc
from assembla_mirror.model.tables import Base

ACCOUNT = ""  # space_id of account-wide resources in sync_state

STATE_TABLE = Base.metadata.tables["sync_state"]


def utc_now() -> datetime:
    """The current time, aware, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class ResourceState:
    """One ``sync_state`` row: where a resource of a space (or the account) stands.

    Each field has one meaning: ``cursor`` is the newest ``updated_at`` the
    resource is complete up to; a walk in progress keeps its ``next_page`` and
    the ``walk_top`` it will set as the cursor (a date-bounded walk its
    ``walk_bottom``); a fill in progress the id it is ``filled_through``.
    ``synced_at`` says when the resource was last brought complete.
    """

    resource: str
    space_id: str = ACCOUNT
    cursor: str | None = None
    dirty: bool = False
    next_page: int | None = None
    walk_top: str | None = None
    walk_bottom: str | None = None
    filled_through: int | None = None
    synced_at: datetime | None = None
    reconciled_at: datetime | None = None

    @property
    def complete_once(self) -> bool:
        """Whether the resource was ever brought complete (a first sync of it is over)."""
        return self.synced_at is not None

    @property
    def in_progress(self) -> bool:
        """Whether a walk or a fill of it stopped before its end."""
        return (
            self.next_page is not None
            or self.walk_bottom is not None
            or self.filled_through is not None
        )


def load_state(conn: Connection, resource: str, space_id: str = ACCOUNT) -> ResourceState:
    """The stored state of ``resource`` in ``space_id`` (a fresh one if never synced)."""
    table = STATE_TABLE
    row = (
        conn.execute(
            select(table).where(table.c.resource == resource, table.c.space_id == space_id)
        )
        .mappings()
        .first()
    )
    return ResourceState(resource, space_id) if row is None else ResourceState(**row)


def load_states(conn: Connection, resource: str) -> dict[str, ResourceState]:
    """Every stored state of ``resource``, by space id."""
    table = STATE_TABLE
    rows = conn.execute(select(table).where(table.c.resource == resource)).mappings()
    return {row["space_id"]: ResourceState(**row) for row in rows}


#: One statement, compiled once: it runs with every page of every walk.
SAVE_STATE = text(
    "INSERT INTO sync_state (resource, space_id, cursor, dirty, next_page, walk_top, "
    "walk_bottom, filled_through, synced_at, reconciled_at) VALUES (:resource, :space_id, "
    ":cursor, :dirty, :next_page, :walk_top, :walk_bottom, :filled_through, :synced_at, "
    ":reconciled_at) ON CONFLICT (resource, space_id) DO UPDATE SET "
    "cursor = excluded.cursor, dirty = excluded.dirty, next_page = excluded.next_page, "
    "walk_top = excluded.walk_top, walk_bottom = excluded.walk_bottom, "
    "filled_through = excluded.filled_through, synced_at = excluded.synced_at, "
    "reconciled_at = excluded.reconciled_at"
)


def save_state(conn: Connection, state: ResourceState) -> None:
    """Write ``state`` (insert or replace) in the caller's transaction."""
    values = asdict(state)
    for moment in ("synced_at", "reconciled_at"):
        if values[moment] is not None:
            values[moment] = format_utc(values[moment])
    conn.execute(SAVE_STATE, values)


def mark_dirty(conn: Connection, resource: str, space_id: str) -> None:
    """Flag that activity showed a change ``resource`` of ``space_id`` has not fetched yet."""
    state = load_state(conn, resource, space_id)
    if not state.dirty:
        state.dirty = True
        save_state(conn, state)


def delete_states(conn: Connection, space_id: str) -> None:
    """Forget every cursor of a space (it left the mirror)."""
    conn.execute(STATE_TABLE.delete().where(STATE_TABLE.c.space_id == space_id))
