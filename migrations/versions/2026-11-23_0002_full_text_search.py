"""Full-text search: FTS5 indexes over ticket summaries/descriptions and comments.

External-content FTS5 tables read their text from ``tickets`` and
``ticket_comments``; triggers keep them current on every insert, update and
delete the sync makes. ``remove_diacritics 2`` lets ``cafe`` find ``café``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZER = "unicode61 remove_diacritics 2"

# (fts table, content table, indexed columns)
INDEXES = (
    ("tickets_fts", "tickets", ("summary", "description")),
    ("ticket_comments_fts", "ticket_comments", ("comment",)),
)


def upgrade() -> None:
    for fts, table, columns in INDEXES:
        cols = ", ".join(columns)
        new = ", ".join(f"new.{c}" for c in columns)
        old = ", ".join(f"old.{c}" for c in columns)
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
            f"content_rowid='id', tokenize='{TOKENIZER}')"
        )
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
        # Index what an older database already holds.
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def downgrade() -> None:
    for fts, _table, _columns in reversed(INDEXES):
        for suffix in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {fts}")
