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

#: Called as a job's items are done: (connection, their ids).
Done = Callable[[Connection, Sequence[int]], None]
#: Most items one job fetches (one after another) and writes together.
MAX_ITEMS_PER_JOB = 8


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
    """Fetch the children of ``items`` (once each per run); how many were queued.

    Items go to jobs a few at a time (:func:`items_job`), as many jobs as there
    are workers while that keeps each small: every request still has a worker,
    and the writer handles a job's items together.
    """
    fresh = [item for item in items if item.id not in ctx.queued[stream.name]]
    ctx.queued[stream.name].update(item.id for item in fresh)
    size = min(MAX_ITEMS_PER_JOB, max(1, -(-len(fresh) // ctx.pipeline.workers)))
    ctx.pipeline.add_all(
        items_job(ctx, stream, fresh[start : start + size], on_done)
        for start in range(0, len(fresh), size)
    )
    return len(fresh)


def items_job(
    ctx: SyncContext, stream: Stream, items: Sequence[Item], on_done: Done | None
) -> FetchJob:
    """Fetch the children of a few items, one after another, and make the stored ones match.

    Their pages are kept until the last is in (an item has a page or two), then
    written together, deletions included, in a handful of statements for all of
    them: each statement is a round trip to a database server, and a fill has
    thousands of items.
    """
    declared = listing(stream)
    parent_table = PARENT_TABLE[stream.parent]
    parent_columns = declared.parent_columns or (PARENT_KEY[stream.parent],)
    parent_at = [stream.spec.columns.index(column) for column in parent_columns]
    context_of = (
        (lambda item: item.space_id) if "space_id" in stream.spec.extra else (lambda _item: None)
    )
    answers: dict[int, list[Page]] = {item.id: [] for item in items}

    def fetch_item(item: Item) -> Iterator[tuple[int, Page]]:
        path = declared.path.format(space=item.space_id, number=item.number, id=item.id)
        decode = ctx.decoder.for_table(stream.spec, context_of(item))
        try:
            if declared.legacy:
                yield item.id, ctx.client.read(path, None, decode, legacy=True)
                return
            for _number, page, _last in ctx.client.iter_decoded(path, None, decode):
                yield item.id, page if page is not None else Page.empty()
        except NotFoundError:  # deleted meanwhile (or not the caller's task after all)
            yield item.id, Page.empty()

    def fetch() -> Iterator[tuple[int, Page]]:
        for item in items:
            yield from fetch_item(item)

    def write(_conn: Connection, answer: tuple[int, Page]) -> None:
        item_id, page = answer
        answers[item_id].append(page)

    def finish(conn: Connection) -> None:
        children: dict[Any, store.Children] = {}
        for item_id, pages in answers.items():
            seen: set[Any] = set()  # stored or skipped: they exist
            rows: list[Row] = []
            for page in pages:
                ctx.record(page.rows.warnings)
                seen.update(page.rows.listed)
                rows += [
                    row for row in page.rows.rows if any(row[at] == item_id for at in parent_at)
                ]
            readable = all(len(page.rows.listed) == page.count for page in pages)
            # An unreadable record may be a stored one: then nothing is deleted.
            children[item_id] = store.Children(rows, seen if readable else None)
        parent = (parent_table, parent_columns)
        written = store.replace_children(
            conn, stream.spec, parent, children, ctx.counter, ctx.record
        )
        if declared.written is not None:
            declared.written(ctx, conn, written.rows)
        ctx.progress.advance(stream.name, len(answers))
        if on_done is not None:
            on_done(conn, list(answers))

    return FetchJob(f"{stream.name}:{items[0].id}+{len(items) - 1}", fetch, write, finish)


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

    The returned callback marks some done, saving the completed prefix in
    ``filled_through`` (once per call: a statement is a round trip to a database
    server) so that an interrupted fill resumes there, and marks the state
    complete after the last. Items in ``fetched`` (already fetched earlier
    in this run) count as done at once. With no items the state is complete
    straight away and ``None`` is returned.
    """
    if not item_ids:
        ctx.complete(conn, state, reconciled=True)
        return None
    tracker = CompletionPrefix(item_ids)

    def done(conn: Connection, done_ids: Sequence[int]) -> None:
        # The fill alone writes this state while it runs: no need to read it back.
        prefixes = [tracker.complete(item_id) for item_id in done_ids]
        prefix = max((found for found in prefixes if found is not None), default=None)
        if tracker.finished:
            ctx.complete(conn, state, reconciled=True)
        elif prefix is not None:
            state.filled_through = prefix
            save_state(conn, state)

    already = [item_id for item_id in item_ids if item_id in fetched]
    if already:
        done(conn, already)
    return done
