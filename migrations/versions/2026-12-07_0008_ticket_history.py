"""Ticket history: ``ticket_changes`` and ``deleted_tickets``.

``ticket_changes`` holds one row per changed field of a ticket, read from its
change comments, seen by a sync, or inferred; ``deleted_tickets`` what the
mirror last knew of each ticket deleted upstream, so that its history keeps a
subject. Neither has a foreign key: history outlives what it is about. Mirrors
upgraded to this revision start their history empty; a sync with comments
fills it from the comments already mirrored (see ``sync.history``).

The first revision to run on both databases (a new PostgreSQL mirror is created
at 0007): text columns are collated ``"C"`` on PostgreSQL, as there every text
column is, so both databases sort alike.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import assembla_mirror.model.columns

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    collation = "C" if postgres else None
    text = sa.String(collation=collation)
    long_text = sa.Text(collation=collation)
    integer = sa.BigInteger() if postgres else sa.Integer()
    # UTC text either way (see model.columns); collated like the rest on PostgreSQL.
    moment = (
        sa.String(19, collation="C")
        if postgres
        else assembla_mirror.model.columns.UTCDateTime(length=19)
    )

    op.create_table(
        "ticket_changes",
        sa.Column("id", integer, nullable=False),
        sa.Column("ticket_id", integer, nullable=False),
        sa.Column("space_id", text, nullable=False),
        sa.Column("changed_at", moment, nullable=False),
        sa.Column("user_id", text, nullable=True),
        sa.Column("field", text, nullable=False),
        sa.Column("old_value", long_text, nullable=True),
        sa.Column("new_value", long_text, nullable=True),
        sa.Column("source", text, nullable=False),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_changes")),
    )
    op.create_index(
        op.f("ix_ticket_changes_ticket_id_field_changed_at"),
        "ticket_changes",
        ["ticket_id", "field", "changed_at"],
    )
    op.create_index(op.f("ix_ticket_changes_space_id"), "ticket_changes", ["space_id"])
    op.create_index(op.f("ix_ticket_changes_comment_id"), "ticket_changes", ["comment_id"])
    op.create_table(
        "deleted_tickets",
        sa.Column("id", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("space_id", text, nullable=False),
        sa.Column("number", integer, nullable=False),
        sa.Column("summary", text, nullable=True),
        sa.Column("status", text, nullable=True),
        sa.Column("state", integer, nullable=True),
        sa.Column("milestone_id", integer, nullable=True),
        sa.Column("created_on", moment, nullable=True),
        sa.Column("updated_at", moment, nullable=True),
        sa.Column("deleted_at", moment, nullable=False),
        sa.Column("last_record_json", long_text, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deleted_tickets")),
    )
    op.create_index(op.f("ix_deleted_tickets_space_id"), "deleted_tickets", ["space_id"])


#: The views over these tables when this revision was written: they go first (the next
#: open creates the views it knows again; see ``store.views``).
FLOW_VIEWS = (
    "milestone_burndown",
    "cumulative_flow",
    "ticket_flow",
    "time_in_status_by_space",
    "time_in_status",
    "ticket_status_intervals",
)


def downgrade() -> None:
    for view in FLOW_VIEWS:
        op.execute(f'DROP VIEW IF EXISTS "{view}"')
    op.drop_table("deleted_tickets")
    op.drop_table("ticket_changes")
