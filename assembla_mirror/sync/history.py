"""What a sync adds to ticket history (see :mod:`assembla_mirror.model.history`).

* Comments: each comment written records the changes its ``ticket_changes``
  lists, and makes what the mirror saw of its ticket up to then redundant.
* Tickets: a ticket written with a tracked field different from the stored
  row records that change (``source`` mirror), so history accumulates from the
  first sync even without comments (:func:`~.tickets.write_tickets`).
* Deletions keep the ticket's history and what the mirror knew of it.
* A mirror whose comments predate its history reads them once, locally.
* Change comments that cannot be read never fail the run: they are counted and
  named once in its warnings; their text stays in ``ticket_comments``.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from assembla_mirror.model.convert import Row
from assembla_mirror.store import history
from assembla_mirror.store.runs import get_meta, set_meta
from assembla_mirror.sync.context import SyncContext

#: The ``mirror_meta`` key saying the stored comments' changes have been recorded.
READ_META_KEY = "history_from_comments"


def record_comments(ctx: SyncContext, conn: Connection, written: list[Row]) -> None:
    """The changes the comments just written record (the ``comments`` stream's hook)."""
    history.record_comment_changes(conn, written, ctx.counter, ctx.unreadable_changes)


def read_stored_comments(ctx: SyncContext, engine: Engine) -> None:
    """Record the changes of the comments mirrored before the mirror kept history (once)."""
    with engine.begin() as conn:
        if get_meta(conn, READ_META_KEY) == "1":
            return
        read = history.read_stored_comments(conn, ctx.counter, ctx.unreadable_changes)
        set_meta(conn, READ_META_KEY, "1")
    if read:
        ctx.note(f"history: read the changes of {read:,} comments mirrored before")


def report_unreadable(ctx: SyncContext) -> None:
    """Name the change comments whose changes could not be read, once per run."""
    unreadable = ctx.unreadable_changes
    if not unreadable.count:
        return
    comment, ticket, problem = unreadable.examples[0]
    ctx.warn(
        f"history: {unreadable.count:,} change comment(s) could not be read (comment "
        f"{comment} of ticket {ticket}: {problem}); their text is kept in "
        "ticket_comments.ticket_changes"
    )
