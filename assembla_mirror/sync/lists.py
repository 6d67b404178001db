"""Whole lists: one runner for every :class:`~.declare.WholeList` stream.

A space's members, roles, ticket statuses, custom fields and milestones are
small and carry no cursor: each is refetched whole when due (the first run,
``--full``, when activity showed a change, when a ticket named a status or a
custom field the mirror does not know, or once ``config_max_age`` has passed,
statuses and custom fields emitting no events). A whole list lets the mirror
drop what upstream removed, unless one listed record has no readable id: then
nothing is removed that run.

Some lists do more than store rows (their hooks are below). Renaming a custom
field renames the key in every ticket, and removing one removes it, without
bumping anything (see the API contract): the mirror applies the same change to
what it holds. A space without the ticket tool answers "404 Tool not found": it
has no tickets, statuses or custom fields, and is flagged so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ToolNotFoundError
from assembla_mirror.store import lookups
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import load_state
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.declare import Stream, WholeList
from assembla_mirror.sync.pipeline import FetchJob

NO_TOOL = object()  # a "page" meaning: the space lacks this tool (404 Tool not found)


def drop_removed_custom_fields(
    ctx: SyncContext, conn: Connection, space_id: str, seen: set[Any]
) -> None:
    """Remove the keys of custom fields deleted upstream from the tickets' stored payloads
    (before the fields themselves go, while their titles are still known)."""
    for field_id, title in lookups.custom_fields(conn, space_id):
        if field_id not in seen:
            store.rewrite_custom_field_key(conn, space_id, title, None, ctx.counter)


def relink_custom_fields(
    ctx: SyncContext, conn: Connection, space_id: str, _seen: set[Any]
) -> None:
    """Bring the tickets' values in line with the space's current fields (renames)."""
    store.relink_custom_fields(conn, space_id, ctx.counter)
    ctx.forget_config(space_id)


def forget_statuses(ctx: SyncContext, _conn: Connection, space_id: str, _seen: set[Any]) -> None:
    """Drop the run's cached status names of a space (its list was refetched)."""
    ctx.forget_config(space_id)


def set_ticket_tool(ctx: SyncContext, conn: Connection, space_id: str, present: bool) -> None:
    """Record whether the space has the ticket tool (404 "Tool not found" means it has not)."""
    info = ctx.spaces.get(space_id)
    if info is not None and info.has_ticket_tool == present:
        return
    if info is not None:
        info.has_ticket_tool = present
    lookups.set_ticket_tool(conn, space_id, present)


def listing(stream: Stream) -> WholeList:
    """The stream's whole-list declaration."""
    assert isinstance(stream.listing, WholeList)
    return stream.listing


def list_due(ctx: SyncContext, conn: Connection, stream: Stream, space_id: str) -> bool:
    """Whether ``stream`` of a space must be refetched in this run."""
    if stream.name in ctx.stale[space_id]:
        return True
    state = load_state(conn, stream.name, space_id)
    return (
        ctx.options.full
        or not state.complete_once
        or state.dirty
        or ctx.due(state, ctx.options.config_max_age)
    )


def list_jobs(
    ctx: SyncContext, conn: Connection, stream: Stream, space_ids: list[str]
) -> list[FetchJob]:
    """The refetches of ``stream`` this run needs over ``space_ids``."""
    return [
        list_job(ctx, stream, space_id)
        for space_id in space_ids
        if list_due(ctx, conn, stream, space_id)
    ]


def list_job(ctx: SyncContext, stream: Stream, space_id: str) -> FetchJob:
    """Refetch one list of a space and apply it whole."""
    declared = listing(stream)
    key = f"{stream.name}:{space_id}"
    seen: set[Any] = set()
    unreadable: list[bool] = []
    context = space_id if "space_id" in stream.spec.extra else None
    decode = ctx.decoder.for_table(stream.spec, context)

    def fetch() -> Iterator[Any]:
        label = f"{stream.name.replace('_', ' ')} · {space_label(ctx.spaces, space_id)}"
        ctx.progress.begin(key, label)
        path = "/v1/spaces/" + declared.path.format(space=space_id)
        try:
            for _number, page, _last in ctx.client.iter_decoded(path, None, decode):
                if page is not None:
                    yield page
        except ToolNotFoundError:
            yield NO_TOOL

    def write(conn: Connection, page: Any) -> None:
        if page is NO_TOOL:  # an empty list: what the mirror holds for it goes in finish()
            if declared.needs_ticket_tool:
                set_ticket_tool(ctx, conn, space_id, False)
            return
        rows = page.rows
        ctx.record(rows.warnings)
        kept = rows.rows
        if context is None and "space_id" in stream.spec.columns:  # the payload names it
            kept = ctx.in_spaces(stream.spec, kept, [space_id])
        seen.update(rows.listed)  # stored or skipped: they exist
        unreadable.append(len(rows.listed) < page.count)
        ctx.upsert(conn, stream.spec, kept)
        if declared.needs_ticket_tool:
            set_ticket_tool(ctx, conn, space_id, True)
        ctx.progress.advance(key, len(kept))

    def finish(conn: Connection) -> None:
        if any(unreadable):
            ctx.warn(
                f"{stream.name} of space {space_label(ctx.spaces, space_id)}: a listed record "
                "has no readable id, so none is removed this run"
            )
        elif not declared.keeps_missing:
            if declared.prune is not None:
                declared.prune(ctx, conn, space_id, seen)
            scope = {"space_id": space_id}
            store.delete_missing(conn, stream.spec.table, "id", scope, seen, ctx.counter)
        if declared.after is not None:
            declared.after(ctx, conn, space_id, seen)
        ctx.stale[space_id].discard(stream.name)
        ctx.complete(conn, load_state(conn, stream.name, space_id), reconciled=True)
        ctx.progress.end(key)

    return FetchJob(key, fetch, write, finish)
