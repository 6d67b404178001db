"""Deferred full-text indexing: triggers queue rows, the sync indexes them in one pass.

Indexing through FTS5 triggers page by page made every commit merge index
segments, the largest cost of a sync. Now inserting or editing a ticket or
comment only queues its id in ``search_pending`` (same transaction, so a killed
sync loses nothing); :func:`assembla_mirror.store.search.index_pending` writes the
queue into the index in one transaction. An edit or delete of a row already in
the index removes its old entry at once, while the old text is still at hand.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (fts table, content table, indexed columns) as in revision 0002
INDEXES = (
    ("tickets_fts", "tickets", ("summary", "description")),
    ("ticket_comments_fts", "ticket_comments", ("comment",)),
)


def upgrade() -> None:
    op.create_table(
        "search_pending",
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("source", "id", name=op.f("pk_search_pending")),
    )
    for fts, table, columns in INDEXES:
        cols = ", ".join(columns)
        old = ", ".join(f"old.{c}" for c in columns)
        queued = f"SELECT 1 FROM search_pending WHERE source = '{table}' AND id = old.id"
        for suffix in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {fts}_{suffix}")
        op.execute(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT OR IGNORE INTO search_pending (source, id) VALUES ('{table}', new.id); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} "
            f"WHEN NOT EXISTS ({queued}) BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
            f"INSERT OR IGNORE INTO search_pending (source, id) VALUES ('{table}', new.id); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) "
            f"SELECT 'delete', old.id, {old} WHERE NOT EXISTS ({queued}); "
            f"DELETE FROM search_pending WHERE source = '{table}' AND id = old.id; END"
        )


def downgrade() -> None:
    for fts, table, columns in INDEXES:
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        op.execute(
            f"INSERT INTO {fts}(rowid, {cols}) SELECT t.id, {', '.join(f't.{c}' for c in columns)} "
            f"FROM search_pending AS p JOIN {table} AS t ON t.id = p.id WHERE p.source = '{table}'"
        )
        for suffix in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {fts}_{suffix}")
        op.execute(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.id, {new}); END"
        )
    op.drop_table("search_pending")
