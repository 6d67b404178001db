"""The complete archive: tags, files and the links between tickets.

``tags`` and ``ticket_tags`` (a space's tags, and which ticket carries which),
``attachments`` (every file of a space, with the ticket it is attached to),
``attachment_files`` (the bytes ``--with files`` downloaded, by SHA-256) and
``ticket_associations`` (``--with associations``). A mirror upgraded to this
revision fills them at its next sync, as a first sync would.

Text columns are collated ``"C"`` on PostgreSQL, as every text column there is.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import assembla_mirror.model.columns

revision: str = "0009"
down_revision: str | None = "0008"
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

    def space_key(table: str) -> sa.ForeignKeyConstraint:
        return sa.ForeignKeyConstraint(
            ["space_id"],
            ["spaces.id"],
            name=op.f(f"fk_{table}_space_id_spaces"),
            ondelete="CASCADE",
        )

    op.create_table(
        "tags",
        sa.Column("id", integer, nullable=False, autoincrement=False),
        sa.Column("space_id", text, nullable=False),
        sa.Column("name", text, nullable=True),
        sa.Column("state", integer, nullable=True),
        sa.Column("color", text, nullable=True),
        sa.Column("created_at", moment, nullable=True),
        sa.Column("updated_at", moment, nullable=True),
        sa.Column("raw_json", long_text, nullable=False),
        space_key("tags"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
    )
    op.create_index(op.f("ix_tags_space_id_name"), "tags", ["space_id", "name"])
    op.create_table(
        "ticket_tags",
        sa.Column("ticket_id", integer, nullable=False),
        sa.Column("tag_id", integer, nullable=False),
        sa.Column("space_id", text, nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_tags_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tags.id"], name=op.f("fk_ticket_tags_tag_id_tags"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "tag_id", name=op.f("pk_ticket_tags")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_ticket_tags_tag_id"), "ticket_tags", ["tag_id"])
    op.create_index(op.f("ix_ticket_tags_space_id"), "ticket_tags", ["space_id"])
    op.create_table(
        "attachments",
        sa.Column("id", text, nullable=False),
        sa.Column("space_id", text, nullable=False),
        sa.Column("ticket_id", integer, nullable=True),
        sa.Column("name", text, nullable=True),
        sa.Column("filename", text, nullable=True),
        sa.Column("content_type", text, nullable=True),
        sa.Column("filesize", sa.BigInteger(), nullable=True),
        sa.Column("version", integer, nullable=True),
        sa.Column("description", long_text, nullable=True),
        sa.Column("cached_tag_list", text, nullable=True),
        sa.Column("attachable_type", text, nullable=True),
        sa.Column("attachable_id", integer, nullable=True),
        sa.Column("has_thumbnail", sa.Boolean(), nullable=True),
        sa.Column("url", text, nullable=True),
        sa.Column("created_by", text, nullable=True),
        sa.Column("updated_by", text, nullable=True),
        sa.Column("created_at", moment, nullable=True),
        sa.Column("updated_at", moment, nullable=True),
        sa.Column("raw_json", long_text, nullable=False),
        space_key("attachments"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_space_id"), "attachments", ["space_id"])
    op.create_index(op.f("ix_attachments_ticket_id"), "attachments", ["ticket_id"])
    op.create_index(op.f("ix_attachments_updated_at"), "attachments", ["updated_at"])
    op.create_table(
        "attachment_files",
        sa.Column("attachment_id", text, nullable=False),
        sa.Column("sha256", text, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("version", integer, nullable=True),
        sa.Column("updated_at", moment, nullable=True),
        sa.Column("downloaded_at", moment, nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_attachment_files_attachment_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_attachment_files")),
    )
    op.create_index(op.f("ix_attachment_files_sha256"), "attachment_files", ["sha256"])
    op.create_table(
        "ticket_associations",
        sa.Column("id", integer, nullable=False, autoincrement=False),
        sa.Column("ticket1_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket2_id", sa.BigInteger(), nullable=False),
        sa.Column("relationship", integer, nullable=True),
        sa.Column("created_at", moment, nullable=True),
        sa.Column("relationship_name", text, nullable=True),
        sa.Column("space_id", text, nullable=True),
        sa.Column("raw_json", long_text, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_associations")),
    )
    for column in ("ticket1_id", "ticket2_id", "space_id"):
        op.create_index(op.f(f"ix_ticket_associations_{column}"), "ticket_associations", [column])


#: Views over these tables (the next open creates the views it knows again; see
#: ``store.views``).
ARCHIVE_VIEWS = ("ticket_hierarchy",)


def downgrade() -> None:
    for view in ARCHIVE_VIEWS:
        op.execute(f'DROP VIEW IF EXISTS "{view}"')
    for table in ("ticket_associations", "attachment_files", "attachments", "ticket_tags", "tags"):
        op.drop_table(table)
