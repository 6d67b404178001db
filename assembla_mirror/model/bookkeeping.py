"""The sync's own tables: where each resource stands, each run, the search queue, remembered facts.

Nothing here comes from an Assembla record: every column is a
:func:`~assembla_mirror.model.declare.mirror_column`. Import the tables from
:mod:`.tables`, which holds them all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped

from assembla_mirror.model.declare import Base, mirror_column


class SyncState(Base):
    """Where each resource of each space stands: cursor, pending work, reconciliation time."""

    __tablename__ = "sync_state"

    resource: Mapped[str] = mirror_column(
        "What is synced: tickets, tasks, milestones ...", primary_key=True
    )
    space_id: Mapped[str] = mirror_column(
        "The space ('' for account-wide resources: spaces, activity, the task walk).",
        primary_key=True,
    )
    cursor: Mapped[str | None] = mirror_column(
        "The newest updated_at (UTC) the resource is complete up to; null: none yet."
    )
    dirty: Mapped[bool] = mirror_column("Activity showed a change not fetched yet.", default=False)
    next_page: Mapped[int | None] = mirror_column("The next page of a walk in progress.")
    walk_top: Mapped[str | None] = mirror_column("The cursor that walk will set when it ends.")
    walk_bottom: Mapped[str | None] = mirror_column(
        "The oldest date the activity read in progress has stored."
    )
    filled_through: Mapped[int | None] = mirror_column(
        "The id through which a fill in progress (comments, time logs) is done."
    )
    synced_at: Mapped[datetime | None] = mirror_column(
        "When the resource was last brought complete (UTC); null: never."
    )
    reconciled_at: Mapped[datetime | None] = mirror_column(
        "When deletions were last reconciled (UTC)."
    )


class SyncRun(Base):
    """One ``mirror sync``: when, how it ended, requests made and rows changed per table."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mirror_column("Run number.", primary_key=True)
    started_at: Mapped[datetime] = mirror_column("When the run started (UTC).", index=True)
    finished_at: Mapped[datetime | None] = mirror_column("When it ended (UTC).")
    outcome: Mapped[str] = mirror_column("running, success, failed or interrupted.")
    mode: Mapped[str] = mirror_column("full or incremental.")
    requests: Mapped[int] = mirror_column("API requests made.", default=0)
    rows_json: Mapped[str] = mirror_column(
        'Rows inserted, updated and deleted per table (JSON: {"tickets": {"inserted": n, '
        '"updated": n, "deleted": n}, ...}).',
        Text,
        default="{}",
    )
    options_json: Mapped[str] = mirror_column(
        "The options it ran with (JSON; never credentials).", Text, default="{}"
    )
    warnings_json: Mapped[str] = mirror_column("Warnings (JSON list).", Text, default="[]")
    error: Mapped[str | None] = mirror_column("Why it failed.", Text)


class SearchPending(Base):
    """Rows whose full-text entry is still to be written (see :mod:`assembla_mirror.store.search`).

    The sync queues every ticket and comment it inserts here, and triggers every
    one edited, in the writing transaction; the sync indexes the queue in one
    pass at its end, which is many times cheaper than indexing page by page.
    """

    __tablename__ = "search_pending"

    source: Mapped[str] = mirror_column(
        "The table of a row still to be added to the full-text index: tickets or ticket_comments.",
        primary_key=True,
    )
    id: Mapped[int] = mirror_column(
        "That row's id; the sync indexes every queued row when its walks are done.",
        primary_key=True,
        autoincrement=False,
    )


class MirrorMeta(Base):
    """Key/value facts about the mirror: whose account, remembered options (e.g. comments)."""

    __tablename__ = "mirror_meta"

    key: Mapped[str] = mirror_column(
        "What the fact is about (caller_login, with_comments ...).", primary_key=True
    )
    value: Mapped[str | None] = mirror_column("Its value.", Text)
