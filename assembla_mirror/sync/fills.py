"""One request per parent item: every :class:`~.declare.PerItem` stream (comments, time logs).

Assembla lists a ticket's comments and a task's time logs per item, so they
cost one request each. Their parent walk queues the items it wrote (new or
changed: adding a comment bumps its ticket's ``updated_at``). The first fill,
and every reconciliation, covers every item instead, in id order, checkpointing
the id through which every item is done (``filled_through``), so an
interrupted fill resumes where it stopped. Each item's children are made to
match what Assembla lists: new and changed ones written, missing ones deleted
(unless a listed one could not be read, when nothing is deleted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import NotFoundError
from assembla_mirror.model.convert import Row
from assembla_mirror.pages.decode import Page
from assembla_mirror.store import lookups
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import ACCOUNT, ResourceState, load_state, save_state
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.declare import Parent, PerItem, Stream
from assembla_mirror.sync.pipeline import FetchJob

#: The table of a parent, and the column of its children naming it.
PARENT_TABLE = {Parent.TICKET: "tickets", Parent.TASK: "tasks"}
PARENT_KEY = {Parent.TICKET: "ticket_id", Parent.TASK: "task_id"}

#: Called as each item is done: (connection, item id).
Done = Callable[[Connection, int], None]


@dataclass(frozen=True)
class Item:
    """A parent item whose children are fetched: its id, its space, its number (tickets)."""

    id: int
    space_id: str
    number: int | None = None


def listing(stream: Stream) -> PerItem:
    """The stream's per-item declaration."""
    assert isinstance(stream.listing, PerItem)
    return stream.listing


def children(ctx: SyncContext, parent: Stream) -> list[Stream]:
    """The streams fetched per item of ``parent``'s table that this run mirrors."""
    return [
        stream
        for stream in ctx.streams.values()
        if isinstance(stream.listing, PerItem)
        and PARENT_TABLE.get(stream.parent) == parent.spec.table
        and ctx.mirrors(stream)
    ]


def queue_children(ctx: SyncContext, parent: Stream, written: Sequence[Row]) -> None:
    """Fetch the children of the parent rows a walk just wrote (new or changed)."""
    for stream in children(ctx, parent):
        queue(ctx, stream, listing(stream).select(ctx, parent, list(written)))


def items_of(parent: Stream, rows: Sequence[Row]) -> list[Item]:
    """The :class:`Item` of each parent row (tickets carry their number)."""
    columns = parent.spec.columns
    space_at = columns.index("space_id")
    number_at = columns.index("number") if "number" in columns else None
    return [
        Item(row[0], row[space_at], None if number_at is None else row[number_at]) for row in rows
    ]


def queue(
    ctx: SyncContext, stream: Stream, items: Sequence[Item], on_done: Done | None = None
) -> int:
    """Fetch the children of ``items`` (once each per run); how many were queued."""
    fresh = [item for item in items if item.id not in ctx.queued[stream.name]]
    ctx.queued[stream.name].update(item.id for item in fresh)
    ctx.pipeline.add_all(item_job(ctx, stream, item, on_done) for item in fresh)
    return len(fresh)


def item_job(ctx: SyncContext, stream: Stream, item: Item, on_done: Done | None) -> FetchJob:
    """Fetch one item's children and make the stored ones match."""
    declared = listing(stream)
    parent_table, parent_key = PARENT_TABLE[stream.parent], PARENT_KEY[stream.parent]
    key_at = stream.spec.columns.index(parent_key)
    path = declared.path.format(space=item.space_id, number=item.number, id=item.id)
    context = item.space_id if "space_id" in stream.spec.extra else None
    decode = ctx.decoder.for_table(stream.spec, context)
    seen: set[Any] = set()
    unreadable: list[bool] = []

    def fetch() -> Iterator[Page]:
        try:
            if declared.legacy:
                yield ctx.client.read(path, None, decode, legacy=True)
                return
            for _number, page, _last in ctx.client.iter_decoded(path, None, decode):
                yield page if page is not None else Page.empty()
        except NotFoundError:  # deleted meanwhile (or not the caller's task after all)
            yield Page.empty()

    def write(conn: Connection, page: Page) -> None:
        if not lookups.row_exists(conn, parent_table, item.id):
            return  # the parent went meanwhile, and its children with it
        rows = page.rows
        ctx.record(rows.warnings)
        seen.update(rows.listed)  # stored or skipped: they exist
        unreadable.append(len(rows.listed) < page.count)
        ctx.upsert(conn, stream.spec, [row for row in rows.rows if row[key_at] == item.id])

    def finish(conn: Connection) -> None:
        if not any(unreadable) and lookups.row_exists(conn, parent_table, item.id):
            scope = {parent_key: item.id}
            store.delete_missing(conn, stream.spec.table, "id", scope, seen, ctx.counter)
        ctx.progress.advance(stream.name, 1)
        if on_done is not None:
            on_done(conn, item.id)

    return FetchJob(f"{stream.name}:{item.id}", fetch, write, finish)


# --- first fills and reconciliations ------------------------------------------------


def fill_due(ctx: SyncContext, state: ResourceState) -> bool:
    """Whether this run fetches the children of every item (first fill or reconciliation)."""
    return not state.complete_once or ctx.reconcile_due(state)


def fill_scopes(ctx: SyncContext, stream: Stream, space_ids: list[str]) -> list[str]:
    """The ``sync_state`` spaces a fill of ``stream`` keeps its place in."""
    return list(space_ids) if stream.parent is Parent.TICKET else [ACCOUNT]


def pending_items(
    ctx: SyncContext, conn: Connection, stream: Stream, state: ResourceState, space_ids: list[str]
) -> list[Item]:
    """The items a fill still has to do, past its checkpoint, in id order."""
    after = state.filled_through or 0
    if stream.parent is Parent.TICKET:
        found = lookups.tickets_after(conn, state.space_id, after)
    else:
        found = lookups.tasks_of_user_after(conn, ctx.caller_id, space_ids, after)
    return [Item(item_id, space_id, number) for item_id, space_id, number in found]


def fill(ctx: SyncContext, conn: Connection, stream: Stream, space_ids: list[str]) -> int:
    """Queue a first fill or reconciliation of ``stream`` where due; how many items it takes."""
    queued = 0
    for scope in fill_scopes(ctx, stream, space_ids):
        state = load_state(conn, stream.name, scope)
        if not fill_due(ctx, state):
            continue
        items = pending_items(ctx, conn, stream, state, space_ids)
        done = fill_checkpoint(
            ctx, conn, state, [item.id for item in items], ctx.queued[stream.name]
        )
        if done is not None:
            queued += queue(ctx, stream, items, done)
    return queued


def count_first_fill(
    ctx: SyncContext, conn: Connection, stream: Stream, space_ids: list[str]
) -> int:
    """How many items still need their children fetched for the first time (tickets)."""
    total = 0
    for scope in fill_scopes(ctx, stream, space_ids):
        state = load_state(conn, stream.name, scope)
        if not state.complete_once and stream.parent is Parent.TICKET:
            total += lookups.count_tickets_after(conn, scope, state.filled_through or 0)
    return total


class CompletionPrefix:
    """Over ids completed in any order, the largest id below which every id is done.

    Concurrent per-item fetches finish out of order; checkpointing this prefix
    lets an interrupted fill resume without redoing completed items.
    """

    def __init__(self, ordered_ids: list[int]) -> None:
        self._ids = ordered_ids
        self._done: set[int] = set()
        self._next = 0

    @property
    def finished(self) -> bool:
        """Whether every id is done."""
        return self._next >= len(self._ids)

    def complete(self, item_id: int) -> int | None:
        """Mark ``item_id`` done; return the new prefix end if it moved."""
        self._done.add(item_id)
        moved = False
        while self._next < len(self._ids) and self._ids[self._next] in self._done:
            self._done.discard(self._ids[self._next])
            self._next += 1
            moved = True
        return self._ids[self._next - 1] if moved else None


def fill_checkpoint(
    ctx: SyncContext,
    conn: Connection,
    state: ResourceState,
    item_ids: list[int],
    fetched: set[int],
) -> Done | None:
    """Checkpointing of a fill over ``item_ids`` (ascending, all past ``filled_through``).

    The returned callback marks one done, saving the completed prefix in
    ``filled_through`` so that an interrupted fill resumes there, and marks the
    state complete after the last. Items in ``fetched`` (already fetched earlier
    in this run) count as done at once. With no items the state is complete
    straight away and ``None`` is returned.
    """
    if not item_ids:
        ctx.complete(conn, state, reconciled=True)
        return None
    tracker = CompletionPrefix(item_ids)
    resource, scope = state.resource, state.space_id

    def done(conn: Connection, item_id: int) -> None:
        current = load_state(conn, resource, scope)
        prefix = tracker.complete(item_id)
        if prefix is not None:
            current.filled_through = prefix
        if tracker.finished:
            ctx.complete(conn, current, reconciled=True)
        else:
            save_state(conn, current)

    for item_id in item_ids:
        if item_id in fetched:
            done(conn, item_id)
    return done
