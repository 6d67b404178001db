"""A resumable activity read: ``sync_state.walk_bottom``.

The activity stream is read newest first; an interrupted read now remembers
the oldest event date it has stored (``walk_bottom``), so the next run goes on
from there instead of only asking for events newer than the newest stored one,
which lost every older event for good. Mirrors upgraded to this revision read
the whole 60-day window once (their activity has no cursor yet), which also
brings back events an interrupted first sync had lost.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 18:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite needs no table rebuild for a nullable column.
    op.add_column("sync_state", sa.Column("walk_bottom", sa.String(), nullable=True))
    # Earlier versions never set the activity cursor; clear any value so the next
    # run reads the whole window (see the module docstring).
    op.execute("UPDATE sync_state SET cursor = NULL WHERE resource = 'events'")


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch_op:
        batch_op.drop_column("walk_bottom")
