"""Links walked per item: every :class:`~.declare.LinkWalk` stream (which ticket carries
which tag).

Assembla lists a tag's tickets, paged, space-wide: one walk per tag gives every
link of that tag, whatever the number of tickets, where asking each ticket for
its tags would cost a request per ticket. Tagging or untagging a ticket bumps
its ``updated_at`` but emits no activity event, so:

* a ticket page written marks the links of its space *dirty*, in the same
  transaction (an interrupted run cannot lose the mark);
* a dirty space whose changed tickets this run knows all of (it was clean
  before) costs the cheaper of a request per changed ticket (its tags, whole
  tag records: a new tag is stored with them) and a walk of every tag;
* otherwise (a first fill, a reconciliation, a mark an interrupted run left)
  the space's tag list is refetched (unless this run did) and every tag is
  walked whole: a reconciliation of its links;
* a walk is checkpointed by the tag id done through, and an interrupted one
  resumes there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import NotFoundError, ToolNotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.model.convert import Row
from assembla_mirror.pages.decode import Page
from assembla_mirror.store import archive
from assembla_mirror.store.checkpoints import ResourceState, load_state, save_state
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.declare import LinkWalk, Stream
from assembla_mirror.sync.fills import fill_checkpoint, fill_due
from assembla_mirror.sync.pipeline import FetchJob

NUMBER = n.TICKETS.columns.index("number")


def listing(stream: Stream) -> LinkWalk:
    """The stream's link-walk declaration."""
    assert isinstance(stream.listing, LinkWalk)
    return stream.listing


def mirrored(ctx: SyncContext) -> list[Stream]:
    """The link streams this run mirrors."""
    return [
        stream
        for stream in ctx.streams.values()
        if isinstance(stream.listing, LinkWalk) and ctx.mirrors(stream)
    ]


def changed_by(ctx: SyncContext, parent: str) -> list[Stream]:
    """The link streams this run mirrors whose links may change with ``parent``'s rows."""
    return [stream for stream in mirrored(ctx) if listing(stream).changed_by == parent]


def parent_written(
    ctx: SyncContext, conn: Connection, parent: str, space_id: str, rows: list[Row]
) -> None:
    """Rows of ``parent`` (tickets) of a space were written: mark its links dirty, once a
    run, in the writer's transaction, and note the parents changed."""
    for stream in changed_by(ctx, parent):
        key = (stream.name, space_id)
        if key not in ctx.links_marked:
            ctx.links_marked.add(key)
            state = load_state(conn, stream.name, space_id)
            if not state.dirty:  # else an earlier run's changes are unknown: walk them all
                ctx.links_changed[key] = {}
                state.dirty = True
                save_state(conn, state)
        if key in ctx.links_changed:
            ctx.links_changed[key].update((row[0], row[NUMBER]) for row in rows)


def stale_items(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> None:
    """Have the item lists (tags) refetched of the spaces whose links will be walked whole
    because they are dirty (a new tag may be on a changed ticket), unless this run
    fetched them already."""
    for stream in mirrored(ctx):
        items = listing(stream).items
        for space_id in space_ids:
            state = load_state(conn, stream.name, space_id)
            if (
                state.dirty
                and changed_parents(ctx, conn, stream, state) is None
                and load_state(conn, items, space_id).synced_at != ctx.started
            ):
                ctx.stale[space_id].add(items)


def changed_parents(
    ctx: SyncContext, conn: Connection, stream: Stream, state: ResourceState
) -> dict[int, int] | None:
    """The parents whose links to fetch one by one, when that is cheaper than walking every
    item (and no whole walk is due); None to walk every item."""
    changed = ctx.links_changed.get((stream.name, state.space_id))
    if changed is None or fill_due(ctx, state):
        return None
    _items, walk_cost = archive.link_walk_size(conn, state.space_id)
    return changed if len(changed) < walk_cost else None


def walk_due(ctx: SyncContext, state: ResourceState) -> bool:
    """Whether this run walks the links of the state's space."""
    return state.dirty or fill_due(ctx, state)


def queue_links(ctx: SyncContext, conn: Connection, stream: Stream, space_ids: list[str]) -> int:
    """Queue the link fetches due in ``space_ids``; how many requests they start with."""
    queued = 0
    for space_id in space_ids:
        state = load_state(conn, stream.name, space_id)
        if not walk_due(ctx, state):
            continue
        changed = changed_parents(ctx, conn, stream, state)
        if changed is not None:
            queued += queue_parents(ctx, stream, state, changed)
            continue
        items = archive.tags_after(conn, space_id, state.filled_through or 0)
        done = fill_checkpoint(ctx, conn, state, items, set())
        if done is None:
            continue
        # A list, not a generator: drawn later, one would see the loop's last space.
        ctx.pipeline.add_all([link_job(ctx, stream, space_id, item, done) for item in items])
        queued += len(items)
    return queued


def queue_parents(
    ctx: SyncContext, stream: Stream, state: ResourceState, changed: dict[int, int]
) -> int:
    """Fetch the links of each changed parent; the space's links are clean after the last."""
    remaining = set(changed)

    def done(conn: Connection, parent_id: int) -> None:
        remaining.discard(parent_id)
        if not remaining:
            ctx.complete(conn, state, reconciled=False)

    ctx.pipeline.add_all(
        [
            parent_job(ctx, stream, state.space_id, ticket, number, done)
            for ticket, number in changed.items()
        ]
    )
    return len(changed)


def parent_job(
    ctx: SyncContext,
    stream: Stream,
    space_id: str,
    parent_id: int,
    number: int,
    done: Callable[[Connection, int], None],
) -> FetchJob:
    """Fetch one parent's links (a ticket's tags) and make its stored links match them."""
    path = listing(stream).per_parent.format(space=space_id, number=number)
    decode = ctx.decoder.for_table(n.TAGS, None)
    answers: list[Page] = []

    def fetch() -> Iterator[Page]:
        try:
            yield ctx.client.read(path, None, decode)
        except (NotFoundError, ToolNotFoundError):  # gone meanwhile: its links went with it
            return

    def write(_conn: Connection, page: Page) -> None:
        answers.append(page)

    def finish(conn: Connection) -> None:
        for page in answers:  # whole tags: a tag new since the list was read is stored
            ctx.record(page.rows.warnings)
            ctx.upsert(conn, n.TAGS, ctx.in_spaces(n.TAGS, page.rows.rows, [space_id]))
        listed = {item for page in answers for item in page.rows.listed}
        readable = all(len(page.rows.listed) == page.count for page in answers)
        archive.replace_ticket_links(
            conn, space_id, parent_id, listed, ctx.counter, remove_missing=readable
        )
        ctx.progress.advance(stream.name, 1)
        done(conn, parent_id)

    return FetchJob(f"{stream.name}:ticket {parent_id}", fetch, write, finish)


def link_job(ctx: SyncContext, stream: Stream, space_id: str, item_id: int, done: Any) -> FetchJob:
    """Walk one item's list of tickets and make its stored links match it."""
    declared = listing(stream)
    path = declared.path.format(space=space_id, id=item_id)
    decode = ctx.decoder.for_table(stream.spec, None)
    listed: set[int] = set()
    unreadable: list[bool] = []

    def fetch() -> Iterator[Page]:
        try:
            for _number, page, _last in ctx.client.iter_decoded(path, None, decode):
                if page is not None:
                    yield page
        except (NotFoundError, ToolNotFoundError):  # the item went meanwhile: no links
            return

    def write(_conn: Connection, page: Page) -> None:
        ctx.record(page.rows.warnings)
        listed.update(page.rows.listed)
        unreadable.append(len(page.rows.listed) < page.count)

    def finish(conn: Connection) -> None:
        if any(unreadable):  # a link may hide behind the unreadable record: keep them all
            ctx.warn(
                f"{stream.name} of space {space_label(ctx.spaces, space_id)}: a ticket listed "
                f"under item {item_id} has no readable id, so no link of it is removed"
            )
        remove = not any(unreadable)
        archive.replace_tag_links(
            conn, space_id, item_id, listed, ctx.counter, remove_missing=remove
        )
        ctx.progress.advance(stream.name, 1)
        done(conn, [item_id])

    return FetchJob(f"{stream.name}:{item_id}", fetch, write, finish)
