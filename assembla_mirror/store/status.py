"""What ``mirror status`` reads besides the run records: every cursor, with its space's name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from assembla_mirror.model.tables import Base


def cursors(conn: Connection) -> list[dict[str, Any]]:
    """Every ``sync_state`` row with ``space_name`` (None for the account's), by resource
    and space name."""
    state, spaces = Base.metadata.tables["sync_state"], Base.metadata.tables["spaces"]
    statement = (
        select(state, spaces.c.name.label("space_name"))
        .outerjoin(spaces, spaces.c.id == state.c.space_id)
        .order_by(state.c.resource, spaces.c.name)
    )
    return [dict(row._mapping) for row in conn.execute(statement)]
