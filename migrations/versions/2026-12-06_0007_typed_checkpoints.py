"""Typed checkpoints: one meaning per ``sync_state`` column.

``walk_page`` was the next page of a walk in progress, and for the comment and
time-log fills the id below which every item was done; ``cursor`` held a
timestamp, an epoch placeholder for a space without tickets, or the word
``complete`` for a finished fill. Now:

* ``cursor``: the newest ``updated_at`` (UTC text) a resource is complete up to, or NULL;
* ``next_page``: the next page of a walk in progress;
* ``filled_through``: the id through which a fill in progress is done;
* ``synced_at``: when the resource was last brought complete (NULL: never), which
  is what the placeholders stood for.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FILLS = "('comments', 'time_logs')"


def upgrade() -> None:
    op.add_column("sync_state", sa.Column("next_page", sa.Integer(), nullable=True))
    op.add_column("sync_state", sa.Column("filled_through", sa.Integer(), nullable=True))
    op.execute(f"UPDATE sync_state SET filled_through = walk_page WHERE resource IN {FILLS}")
    op.execute(f"UPDATE sync_state SET next_page = walk_page WHERE resource NOT IN {FILLS}")
    op.execute(
        "UPDATE sync_state SET cursor = NULL WHERE cursor IN ('complete', '1970-01-01 00:00:00')"
    )
    with op.batch_alter_table("sync_state") as batch_op:
        batch_op.drop_column("walk_page")


def downgrade() -> None:
    op.add_column("sync_state", sa.Column("walk_page", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE sync_state SET walk_page = coalesce(next_page, filled_through), "
        f"cursor = CASE WHEN resource IN {FILLS} AND synced_at IS NOT NULL THEN 'complete' "
        "ELSE cursor END"
    )
    with op.batch_alter_table("sync_state") as batch_op:
        batch_op.drop_column("next_page")
        batch_op.drop_column("filled_through")
