"""Ticket comments (opt-in with ``--with comments``; the database remembers the choice).

Assembla lists comments per ticket, so they cost one request per ticket. Adding
a comment bumps the ticket's ``updated_at``, so after the first fill only the
tickets a walk found new or changed need their comments fetched again. The
first fill ("backfill") walks a space's tickets in id order and checkpoints the
highest id below which every ticket is done, so it resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import NotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.prepare import listed_ids
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import load_state
from assembla_mirror.store.runs import get_meta
from assembla_mirror.sync.context import SyncContext, fill_checkpoint
from assembla_mirror.sync.pipeline import FetchJob

META_KEY = "with_comments"


def enabled(ctx: SyncContext) -> bool:
    """Whether this run mirrors comments (option, else what the database remembers)."""
    if not ctx.options.wants("comments"):
        return False
    if ctx.options.with_comments is not None:
        return ctx.options.with_comments
    with ctx.engine.connect() as conn:
        return get_meta(conn, META_KEY) == "1"


def ticket_comments_job(
    ctx: SyncContext, space_id: str, ticket_id: int, number: int, on_done: Any = None
) -> FetchJob:
    """Fetch every comment of one ticket; drop stored ones that are gone upstream."""
    seen: set[Any] = set()

    def fetch() -> Iterator[Any]:
        path = f"/v1/spaces/{space_id}/tickets/{number}/ticket_comments"
        try:
            yield from ctx.client.iter_pages(path)
        except NotFoundError:  # the ticket was deleted meanwhile; its removal comes with it
            return

    def write(conn: Connection, page: Any) -> None:
        rows = ctx.rows(n.TICKET_COMMENTS, page.items, lambda _item: (space_id,), page.raw)
        rows = [row for row in rows if row[1] == ticket_id]
        listed = listed_ids(page.items)  # stored or skipped: they exist
        seen.update(listed)
        if len(listed) < len(page.items):
            seen.add(None)  # one cannot be named: remove nothing (see finish)
        ctx.upsert(conn, n.TICKET_COMMENTS, rows)

    def finish(conn: Connection) -> None:
        exists = conn.exec_driver_sql("SELECT 1 FROM tickets WHERE id = ?", (ticket_id,)).first()
        if exists and None not in seen:
            scope = {"ticket_id": ticket_id}
            store.delete_missing(conn, "ticket_comments", "id", scope, seen, ctx.counter)
        ctx.progress.advance("comments", 1)
        if on_done is not None:
            on_done(conn, ticket_id)

    return FetchJob(f"comments:{ticket_id}", fetch, write, finish)


def queue_comments(
    ctx: SyncContext, space_id: str, tickets: list[tuple[int, int]], on_done: Any = None
) -> int:
    """Fetch the comments of ``tickets`` ((id, number) pairs), once each per run.

    Returns how many were queued (those not queued earlier in the run).
    """
    queued = [(i, number) for i, number in tickets if i not in ctx.comments_queued]
    ctx.comments_queued.update(ticket_id for ticket_id, _ in queued)
    ctx.pipeline.add_all(
        ticket_comments_job(ctx, space_id, ticket_id, number, on_done)
        for ticket_id, number in queued
    )
    return len(queued)


def comment_fill(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> int:
    """Queue comments of every ticket a space's first fill (or a reconciliation) lacks.

    Returns how many tickets were queued; progress is checkpointed per space as
    the highest ticket id below which all are done.
    """
    queued = 0
    for space_id in space_ids:
        state = load_state(conn, "comments", space_id)
        if state.cursor is not None and not ctx.reconcile_due(state):
            continue
        tickets = [
            (ticket_id, number)
            for ticket_id, number in conn.exec_driver_sql(
                "SELECT id, number FROM tickets WHERE space_id = ? AND id > ? ORDER BY id",
                (space_id, state.walk_page or 0),
            )
        ]
        ticket_ids = [ticket_id for ticket_id, _ in tickets]
        done = fill_checkpoint(ctx, conn, state, ticket_ids, ctx.comments_queued)
        if done is None:
            continue
        queued += queue_comments(ctx, space_id, tickets, done)
    return queued


def count_fill(conn: Connection, space_ids: list[str]) -> int:
    """How many tickets still need their comments fetched for the first time."""
    total = 0
    for space_id in space_ids:
        state = load_state(conn, "comments", space_id)
        if state.cursor is None:
            total += conn.exec_driver_sql(
                "SELECT count(*) FROM tickets WHERE space_id = ? AND id > ?",
                (space_id, state.walk_page or 0),
            ).scalar_one()
    return total
