"""Cheaper bulk writes: rows appended in arrival order, no statement journals.

Two things made a large sync's writes several times dearer than the rows:

* ``tickets``, ``ticket_comments``, ``tasks`` and ``time_logs`` had their
  Assembla id as ``INTEGER PRIMARY KEY``, which SQLite makes the rowid, so rows
  were stored in id order. The API lists them in another order, so every ~1 KB
  row landed on a random page. The ids become ``BIGINT`` primary keys (kept in
  their own index) and rows are stored in the order they arrive.
* A statement that fires a trigger (or is an upsert) makes SQLite copy every
  page each row touches to a statement journal first. The insert triggers that
  queued new tickets and comments for full-text indexing are dropped: the sync
  now queues them itself (:func:`assembla_mirror.store.search.queue_new_rows`) and
  writes new rows with a plain ``INSERT``. The update and delete triggers stay:
  edits are few, and they must remove the old text while it is still at hand.

Rebuilding a table drops its triggers, so those of ``tickets`` and
``ticket_comments`` are created again, as revision 0003 defined them; the
report views are set aside meanwhile (SQLite will not rename a table into
place while a view names it) and restored unchanged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("tickets", "ticket_comments", "tasks", "time_logs")

# (fts table, content table, indexed columns) as in revision 0003
INDEXES = (
    ("tickets_fts", "tickets", ("summary", "description")),
    ("ticket_comments_fts", "ticket_comments", ("comment",)),
)


def upgrade() -> None:
    rebuild("INTEGER", "BIGINT")
    create_triggers(with_insert=False)


def downgrade() -> None:
    rebuild("BIGINT", "INTEGER")
    create_triggers(with_insert=True)


def rebuild(old: str, new: str) -> None:
    """Copy each table into one whose ``id`` is declared ``new`` (this drops the triggers).

    SQLite's own recipe (create, copy, drop, rename), written out rather than
    left to Alembic's batch mode, whose reflection took longer than the copy
    for a new mirror.
    """
    bind = op.get_bind()
    schema = bind.exec_driver_sql(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE type IN ('view', 'table', 'index') AND sql IS NOT NULL ORDER BY rowid"
    ).fetchall()
    views = [sql for kind, _name, _table, sql in schema if kind == "view"]
    for kind, name, _table, _sql in schema:
        if kind == "view":
            op.execute(f'DROP VIEW "{name}"')
    for table in TABLES:
        (create,) = [sql for kind, name, _t, sql in schema if kind == "table" and name == table]
        indexes = [sql for kind, _n, owner, sql in schema if kind == "index" and owner == table]
        _name, _, body = create.partition("(")
        column = f"id {old} NOT NULL,"
        if column not in body:
            raise RuntimeError(f"revision 0005: unexpected definition of {table}: {create}")
        op.execute(f'CREATE TABLE "_new_{table}" ({body.replace(column, f"id {new} NOT NULL,", 1)}')
        op.execute(f'INSERT INTO "_new_{table}" SELECT * FROM "{table}"')
        op.execute(f'DROP TABLE "{table}"')
        op.execute(f'ALTER TABLE "_new_{table}" RENAME TO "{table}"')
        for sql in indexes:
            op.execute(sql)
    for sql in views:
        op.execute(sql)


def create_triggers(*, with_insert: bool) -> None:
    """The full-text triggers of revision 0003 (the insert one only when going back)."""
    for fts, table, columns in INDEXES:
        cols = ", ".join(columns)
        old = ", ".join(f"old.{c}" for c in columns)
        queued = f"SELECT 1 FROM search_pending WHERE source = '{table}' AND id = old.id"
        if with_insert:
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
