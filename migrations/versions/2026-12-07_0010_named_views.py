"""Names beside the ids: the lookup views and the named views.

``ticket_priorities``, ``ticket_states``, ``ticket_overview`` and ``time_entries``
(``store.named_views``) are views, and every open creates the views it knows
(``store.views``), so this revision changes no table on the way up. It exists for
the way down: those views read tables the earlier revisions drop, so they must go
first (PostgreSQL refuses to drop a table a view reads; SQLite would keep a view
that reads nothing).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The views this revision accounts for, each after the views it reads.
NAMED_VIEWS = ("ticket_priorities", "ticket_states", "ticket_overview", "time_entries")


def upgrade() -> None:
    """Nothing: the next open creates the views (see the module docstring)."""


def downgrade() -> None:
    for view in reversed(NAMED_VIEWS):
        op.execute(f'DROP VIEW IF EXISTS "{view}"')
