"""Where each resource of each space stands: ``sync_state``, the sync's checkpoints.

Checkpoints are written with the same connection (hence the same transaction)
as the rows they cover, so the database can never claim more than it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select

from assembla_mirror.model.columns import format_utc
from assembla_mirror.model.tables import Base

ACCOUNT = ""  # space_id of account-wide resources in sync_state

STATE_TABLE = Base.metadata.tables["sync_state"]


def utc_now() -> datetime:
    """The current time, aware, in UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class ResourceState:
    """One ``sync_state`` row: where a resource of a space (or the account) stands."""

    resource: str
    space_id: str = ACCOUNT
    cursor: str | None = None
    dirty: bool = False
    walk_page: int | None = None
    walk_top: str | None = None
    walk_bottom: str | None = None
    synced_at: datetime | None = None
    reconciled_at: datetime | None = None


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


SAVE_STATE_SQL = (
    "INSERT INTO sync_state (resource, space_id, cursor, dirty, walk_page, walk_top, "
    "walk_bottom, synced_at, reconciled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (resource, space_id) DO UPDATE SET cursor = excluded.cursor, "
    "dirty = excluded.dirty, walk_page = excluded.walk_page, walk_top = excluded.walk_top, "
    "walk_bottom = excluded.walk_bottom, synced_at = excluded.synced_at, "
    "reconciled_at = excluded.reconciled_at"
)


def save_state(conn: Connection, state: ResourceState) -> None:
    """Write ``state`` (insert or replace) in the caller's transaction."""
    # Plain SQL: this runs once per page of every walk, where building a Core
    # statement cost about a millisecond each time.
    conn.exec_driver_sql(
        SAVE_STATE_SQL,
        (
            state.resource,
            state.space_id,
            state.cursor,
            state.dirty,
            state.walk_page,
            state.walk_top,
            state.walk_bottom,
            None if state.synced_at is None else format_utc(state.synced_at),
            None if state.reconciled_at is None else format_utc(state.reconciled_at),
        ),
    )


def mark_dirty(conn: Connection, resource: str, space_id: str) -> None:
    """Flag that activity showed a change ``resource`` of ``space_id`` has not fetched yet."""
    state = load_state(conn, resource, space_id)
    if not state.dirty:
        state.dirty = True
        save_state(conn, state)


def delete_states(conn: Connection, space_id: str) -> None:
    """Forget every cursor of a space (it left the mirror)."""
    conn.execute(STATE_TABLE.delete().where(STATE_TABLE.c.space_id == space_id))
