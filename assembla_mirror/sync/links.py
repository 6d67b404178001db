"""Links walked per item: every :class:`~.declare.LinkWalk` stream (which ticket carries
which tag).

Assembla lists a tag's tickets, paged, space-wide: one walk per tag gives every
link of that tag, whatever the number of tickets, where asking each ticket for
its tags would cost a request per ticket. Tagging or untagging a ticket bumps
its ``updated_at`` but emits no activity event, so:

* a ticket page written marks the links of its space *dirty*, in the same
  transaction (an interrupted run cannot lose the mark), and the space's tag
  list is refetched before the links (a new tag may be on the page);
* the links of a dirty space are walked for every tag of the space, as on a
  first fill or a reconciliation, so each run that walks a space's links walks
  them whole: that pass is a reconciliation, and tags removed from tickets go;
* a walk is checkpointed by the tag id done through, and an interrupted one
  resumes there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import NotFoundError, ToolNotFoundError
from assembla_mirror.pages.decode import Page
from assembla_mirror.store import archive
from assembla_mirror.store.checkpoints import ResourceState, load_state, mark_dirty
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.declare import LinkWalk, Stream
from assembla_mirror.sync.fills import fill_checkpoint, fill_due
from assembla_mirror.sync.pipeline import FetchJob


def listing(stream: Stream) -> LinkWalk:
    """The stream's link-walk declaration."""
    assert isinstance(stream.listing, LinkWalk)
    return stream.listing


def changed_by(ctx: SyncContext, parent: str) -> list[Stream]:
    """The link streams this run mirrors whose links may change with ``parent``'s rows."""
    return [
        stream
        for stream in ctx.streams.values()
        if isinstance(stream.listing, LinkWalk)
        and stream.listing.changed_by == parent
        and ctx.mirrors(stream)
    ]


def parent_written(ctx: SyncContext, conn: Connection, parent: str, space_id: str) -> None:
    """Rows of ``parent`` (tickets) of a space were written: mark its links dirty, once a
    run, in the writer's transaction, and have its item list (tags) refetched."""
    for stream in changed_by(ctx, parent):
        if (stream.name, space_id) in ctx.links_marked:
            continue
        ctx.links_marked.add((stream.name, space_id))
        mark_dirty(conn, stream.name, space_id)
        ctx.stale[space_id].add(listing(stream).items)


def stale_items(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> None:
    """Have the item lists of spaces with dirty links refetched (an earlier run marked
    them and stopped before walking them)."""
    for stream in ctx.streams.values():
        if isinstance(stream.listing, LinkWalk) and ctx.mirrors(stream):
            for space_id in space_ids:
                if load_state(conn, stream.name, space_id).dirty:
                    ctx.stale[space_id].add(stream.listing.items)


def walk_due(ctx: SyncContext, state: ResourceState) -> bool:
    """Whether this run walks the links of the state's space."""
    return state.dirty or fill_due(ctx, state)


def queue_links(ctx: SyncContext, conn: Connection, stream: Stream, space_ids: list[str]) -> int:
    """Queue the link walks due in ``space_ids``; how many items (tags) they cover."""
    queued = 0
    for space_id in space_ids:
        state = load_state(conn, stream.name, space_id)
        if not walk_due(ctx, state):
            continue
        items = archive.tags_after(conn, space_id, state.filled_through or 0)
        done = fill_checkpoint(ctx, conn, state, items, set())
        if done is None:
            continue
        # A list, not a generator: drawn later, one would see the loop's last space.
        ctx.pipeline.add_all([link_job(ctx, stream, space_id, item, done) for item in items])
        queued += len(items)
    return queued


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
