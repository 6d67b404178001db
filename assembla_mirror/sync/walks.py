"""Newest-first walks: one walker for every :class:`~.declare.NewestFirst` stream.

A walk lists a resource sorted by ``updated_at``, newest first, page by page.
Its first page fixes ``walk_top``, the newest change it covers (never one dated
after the server's present); the cursor becomes that value only when the walk
completes, so changes landing during a walk (which jump to the front of the
list, behind the walk) are fetched by the next one. Each page's rows and the
walk's checkpoint (the next page) are committed together.

* Incremental: pages until one reaches past ``cursor - overlap``.
* First walk / reconciliation: every page; afterwards the rows the mirror holds
  but the walk did not see are confirmed by the stream's verifier before they
  are deleted (a deletion during the walk shifts pages, which can hide a live
  row from a single pass). A row listed with a value the mirror cannot store
  still counts as seen.
* Interrupted: resumed one page before where it stopped, then topped up from
  the front down to the interrupted walk's top, so no finished page is fetched
  twice more than that.

A stream whose spaces can share one walk (tasks: ``spaces[]``) walks each space
on its own the first time and when reconciling, and all the others together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ToolNotFoundError
from assembla_mirror.model.columns import UTC_FORMAT, format_utc
from assembla_mirror.model.convert import Row
from assembla_mirror.pages.decode import Page
from assembla_mirror.pages.rows import Rows
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import ACCOUNT, ResourceState, load_state, save_state
from assembla_mirror.sync import fills
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.declare import NewestFirst, Scope, Stream
from assembla_mirror.sync.lists import NO_TOOL, set_ticket_tool
from assembla_mirror.sync.pipeline import FetchJob


def listing(stream: Stream) -> NewestFirst:
    """The stream's walk declaration."""
    assert isinstance(stream.listing, NewestFirst)
    return stream.listing


def shift(moment: str, delta: timedelta) -> str:
    """Move a stored UTC text timestamp by ``delta``."""
    return (datetime.strptime(moment, UTC_FORMAT) + delta).strftime(UTC_FORMAT)


def walk_mode(ctx: SyncContext, stream: Stream, state: ResourceState) -> str | None:
    """How this run walks a scope: resume, full, incremental, or not at all."""
    if state.next_page is not None:
        return "resume"
    if ctx.reconcile_due(state):
        return "full"
    declared = listing(stream)
    if state.dirty or not (declared.hinted_by_activity or declared.polled):
        return "incremental"
    polled = declared.polled or any(
        ctx.mirrors(ctx.streams[name]) for name in declared.unhinted_for
    )
    if polled and ctx.due(state, ctx.options.poll_every):
        return "incremental"  # changes nothing announces may be waiting
    return None


def scopes(
    ctx: SyncContext,
    conn: Connection,
    stream: Stream,
    space_ids: list[str],
    *,
    dirty: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Scope]:
    """The walks this run needs for ``stream`` over ``space_ids``; ``dirty`` names spaces
    known to have changed beyond what the mirror records (a dry run's reading of activity)."""
    declared = listing(stream)
    walked: list[Scope] = []
    together: list[str] = []
    for space_id in space_ids:
        if (
            declared.needs_ticket_tool
            and ctx.spaces[space_id].has_ticket_tool is False
            and not ctx.options.full
        ):
            continue
        state = load_state(conn, stream.name, space_id)
        state.dirty = state.dirty or space_id in dirty
        mode = walk_mode(ctx, stream, state)
        if mode == "incremental" and declared.shared_across_spaces:
            together.append(space_id)
        elif mode is not None:
            walked.append(Scope(stream, space_id, [space_id]))
    if together:
        walked.append(Scope(stream, ACCOUNT, together))
    return walked


def walk_jobs(
    ctx: SyncContext, conn: Connection, stream: Stream, space_ids: list[str]
) -> list[FetchJob]:
    """The walk jobs this run needs for ``stream`` over ``space_ids``."""
    return [walk_job(ctx, conn, scope) for scope in scopes(ctx, conn, stream, space_ids)]


def walk_job(ctx: SyncContext, conn: Connection, scope: Scope, *, top_up: bool = False) -> FetchJob:
    """One walk of a scope (see the module docstring for its modes)."""
    stream, declared = scope.stream, listing(scope.stream)
    state = load_state(conn, stream.name, scope.state_space)
    covered = (
        {space: load_state(conn, stream.name, space) for space in scope.spaces}
        if scope.shared
        else {scope.state_space: state}
    )
    resumed = state.next_page is not None and not top_up
    reconcile = not scope.shared and ctx.reconcile_due(state) and not resumed and not top_up
    start_page = max(1, (state.next_page or 1) - 1) if resumed else 1
    bound = walk_bound(ctx, state, covered.values(), reconcile=reconcile, top_up=top_up)
    scope.params = {**declared.params}
    if declared.scope_params is not None:
        scope.params.update(declared.scope_params(ctx, conn, scope.spaces))
    # Read through the caller's connection: jobs built in a writer's transaction
    # must see what that transaction wrote.
    scope.context = declared.context(ctx, conn, scope) if declared.context else None
    path = declared.path.format(space=scope.spaces[0])
    key = f"{stream.name}:{scope.state_space or 'all'}"
    label = (
        space_label(ctx.spaces, scope.spaces[0])
        if not scope.shared
        else f"{len(scope.spaces)} spaces"
    )
    seen: set[Any] = set()
    if not resumed:
        state.walk_top = None  # fixed by this walk's newest row

    def fetch() -> Iterator[Any]:
        ctx.progress.begin(key, f"{stream.name.replace('_', ' ')} · {label}")
        try:
            yield from pages(ctx, scope, path, start_page=start_page, bound=bound)
        except ToolNotFoundError:
            if not (declared.needs_ticket_tool or declared.tool_optional):
                raise
            yield NO_TOOL

    def write(conn: Connection, page: Any) -> None:
        if page is NO_TOOL:  # an empty list: a reconciliation drops what is stored
            if declared.needs_ticket_tool:
                set_ticket_tool(ctx, conn, scope.spaces[0], False)
            return
        if declared.needs_ticket_tool:
            set_ticket_tool(ctx, conn, scope.spaces[0], True)
        rows: Rows = page.rows
        ctx.record(rows.warnings)
        written = (declared.write or write_rows)(ctx, conn, scope, rows)
        seen.update(rows.listed)
        if state.walk_top is None and not resumed:
            changed = {row[0] for row in written}
            at = stream.spec.columns.index("updated_at")
            dated = ((row[0] if row[0] in changed else None, row[at]) for row in rows.rows)
            state.walk_top = ctx.newest_present(stream.spec.entity, dated)
        state.next_page = page.number + 1
        save_state(conn, state)
        fills.queue_children(ctx, stream, written)
        ctx.progress.advance(key, len(rows.rows))

    def finish(conn: Connection) -> None:
        ctx.progress.end(key)
        top = state.walk_top
        missing: list[Any] = []
        if reconcile:
            scope_of = {"space_id": scope.state_space}
            missing = store.missing_keys(conn, stream.spec.table, "id", scope_of, seen)
        for space_state in covered.values():
            if top is not None and (space_state.cursor is None or top > space_state.cursor):
                space_state.cursor = top
            fresh = not space_state.complete_once
            ctx.complete(conn, space_state, reconciled=(reconcile or fresh) and not missing)
        if scope.shared:
            ctx.complete(conn, state, reconciled=False)
        if missing:
            ctx.pipeline.add(verify_job(ctx, conn, stream, scope.state_space, missing))
        if resumed:  # what changed while the walk was interrupted
            again = Scope(stream, scope.state_space, scope.spaces)
            ctx.pipeline.add(walk_job(ctx, conn, again, top_up=True))

    return FetchJob(key, fetch, write, finish)


def walk_bound(
    ctx: SyncContext,
    state: ResourceState,
    covered: Iterable[ResourceState],
    *,
    reconcile: bool,
    top_up: bool,
) -> str | None:
    """Where a walk may stop (UTC text): a page older than this ends it; None walks all.

    A top-up goes down to the top of the walk it completes; an incremental walk
    to the oldest cursor of the spaces it covers (a space walked whole but empty
    has no cursor: when it was walked stands in), less the overlap that catches
    late and same-second updates.
    """
    if top_up:
        return shift(state.walk_top, -ctx.options.overlap) if state.walk_top else None
    states = list(covered)
    if reconcile or any(not each.complete_once for each in states):
        return None
    marks = [each.cursor or format_utc(each.synced_at) for each in states if each.synced_at]
    return shift(min(marks), -ctx.options.overlap)


def pages(
    ctx: SyncContext, scope: Scope, path: str, *, start_page: int = 1, bound: str | None = None
) -> Iterator[Page]:
    """The numbered pages of a scope's list, decoded (in a worker process when the run has
    one). The final page is empty when it brought nothing new. With a ``bound`` (UTC
    text) the walk ends after the first page updated before it, the list being newest first.
    """
    decode = ctx.decoder.for_table(scope.stream.spec, scope.context)
    walk = ctx.client.iter_decoded(path, scope.params, decode, start_page=start_page)
    for number, page, _last in walk:
        page = page if page is not None else Page.empty()
        page.number = number
        yield page
        oldest = page.oldest_updated_at
        if bound is not None and oldest is not None and oldest < bound:
            return


def write_rows(ctx: SyncContext, conn: Connection, scope: Scope, rows: Rows) -> list[Row]:
    """A page's rows of the scope's spaces, upserted; return those written."""
    kept = ctx.in_spaces(scope.stream.spec, rows.rows, scope.spaces)
    return ctx.upsert(conn, scope.stream.spec, kept).rows


# --- reconciliation ---------------------------------------------------------------


def deletion_allowance(stored: int) -> int:
    """How many of a space's ``stored`` rows a reconciliation deletes on a batch check alone.

    Beyond it (a tenth of the space, at least 10) each deletion is confirmed on
    its own: a wrong answer must never empty a mirror.
    """
    return max(10, stored // 10)


def verify_job(
    ctx: SyncContext, conn: Connection, stream: Stream, space_id: str, missing: list[Any]
) -> FetchJob:
    """Confirm rows a reconciliation did not see, then delete those really gone."""
    declared = listing(stream)
    if declared.verify is not None:
        return declared.verify(ctx, conn, space_id, missing)
    stored = store.count_rows(conn, stream.spec.table, {"space_id": space_id})

    def finish(conn: Connection) -> None:
        if len(missing) > deletion_allowance(stored):
            ctx.warn(
                f"not deleting {len(missing):,} of {stored:,} {stream.spec.table} of space "
                f"{space_label(ctx.spaces, space_id)}: more than a reconciliation deletes "
                "unconfirmed; the next one checks again"
            )
            return
        store.delete_keys(conn, stream.spec.table, "id", missing, ctx.counter)
        mark_reconciled(ctx, conn, stream, space_id)

    return FetchJob(f"verify-{stream.name}:{space_id}", lambda: iter(()), no_page, finish)


def no_page(_conn: Connection, _page: Any) -> None:
    """The write of a job that fetches nothing."""


def mark_reconciled(ctx: SyncContext, conn: Connection, stream: Stream, space_id: str) -> None:
    """Record that a space's reconciliation of ``stream`` completed with its deletions."""
    state = load_state(conn, stream.name, space_id)
    state.reconciled_at = ctx.started
    save_state(conn, state)
