"""Per-space configuration lists: members, roles, ticket statuses, custom fields, milestones.

They are small, carry no cursor, and are refetched whole when due: on the first
run, with ``--full``, when activity showed a change (milestone or membership
events), when a ticket mentioned a status or custom field the mirror does not
know, or once ``config_max_age`` has passed (statuses and custom fields emit no
events). A whole list lets the mirror drop what upstream removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ToolNotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.prepare import listed_ids
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import load_state
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.pipeline import FetchJob

#: resource -> (path under /v1/spaces/<id>/, table spec, needs the ticket tool)
LISTS: dict[str, tuple[str, n.TableSpec, bool]] = {
    "users": ("users", n.USERS, False),
    "user_roles": ("user_roles", n.USER_ROLES, False),
    "ticket_statuses": ("tickets/statuses", n.TICKET_STATUSES, True),
    "custom_fields": ("tickets/custom_fields", n.CUSTOM_FIELDS, True),
    "milestones": ("milestones/all", n.MILESTONES, False),
}

NO_TOOL = object()  # a "page" meaning: the space lacks this tool (404 Tool not found)


def fetch_list(ctx: SyncContext, path: str) -> Iterator[Any]:
    """Pages of a list; a space without the tool yields :data:`NO_TOOL` instead."""
    try:
        yield from ctx.client.iter_pages(path)
    except ToolNotFoundError:
        yield NO_TOOL


def config_due(ctx: SyncContext, conn: Connection, resource: str, space_id: str) -> bool:
    """Whether ``resource`` of a space must be refetched in this run."""
    if resource in ctx.stale[space_id]:
        return True
    state = load_state(conn, resource, space_id)
    return (
        ctx.options.full
        or state.synced_at is None
        or state.dirty
        or ctx.due(state, ctx.options.config_max_age)
    )


def list_job(ctx: SyncContext, resource: str, space_id: str) -> FetchJob:
    """A job that refetches one configuration list of a space and applies it whole."""
    path, spec, ticket_tool = LISTS[resource]
    key = f"{resource}:{space_id}"
    seen: set[Any] = set()
    unreadable: list[int] = []  # listed records whose id cannot be read

    def write(conn: Connection, page: Any) -> None:
        if page is NO_TOOL:  # an empty list: what the mirror holds for it goes in finish()
            if ticket_tool:
                set_ticket_tool(ctx, conn, space_id, False)
            return
        extra = (space_id,) if "space_id" in spec.extra else ()
        rows = ctx.rows(spec, page.items, lambda _item: extra, page.raw)
        if "space_id" in spec.columns and not extra:  # the payload names the space
            rows = ctx.in_space(spec, rows, space_id)
        listed = listed_ids(page.items, spec.fields[0][1])  # stored or skipped: they exist
        seen.update(listed)
        unreadable.append(len(page.items) - len(listed))
        ctx.upsert(conn, spec, rows)
        if ticket_tool:
            set_ticket_tool(ctx, conn, space_id, True)
        ctx.progress.advance(key, len(rows))

    def finish(conn: Connection) -> None:
        if any(unreadable):
            ctx.warn(
                f"{resource} of space {space_label(ctx.spaces, space_id)}: a listed record has "
                "no readable id, so none is removed this run"
            )
        elif resource != "users":  # users are shared across spaces and kept when they leave
            if resource == "custom_fields":
                drop_removed_custom_fields(ctx, conn, space_id, seen)
            scope = {"space_id": space_id}
            store.delete_missing(conn, spec.table, "id", scope, seen, ctx.counter)
        if resource == "custom_fields":
            store.relink_custom_fields(conn, space_id, ctx.counter)
        if resource in ("custom_fields", "ticket_statuses"):
            ctx.forget_config(space_id)
        if resource == "user_roles":
            refresh_ownership(ctx, conn, space_id)
        ctx.stale[space_id].discard(resource)
        ctx.complete(conn, load_state(conn, resource, space_id), reconciled=True)
        ctx.progress.end(key)

    def fetch() -> Iterator[Any]:
        ctx.progress.begin(
            key, f"{resource.replace('_', ' ')} · {space_label(ctx.spaces, space_id)}"
        )
        return fetch_list(ctx, f"/v1/spaces/{space_id}/{path}")

    return FetchJob(key, fetch, write, finish)


def drop_removed_custom_fields(
    ctx: SyncContext, conn: Connection, space_id: str, seen: set[Any]
) -> None:
    """Remove the keys of custom fields deleted upstream from the tickets' stored payloads."""
    for field_id, title in conn.exec_driver_sql(
        "SELECT id, title FROM custom_fields WHERE space_id = ?", (space_id,)
    ).fetchall():
        if field_id not in seen:
            store.rewrite_custom_field_key(conn, space_id, title, None, ctx.counter)


def refresh_ownership(ctx: SyncContext, conn: Connection, space_id: str) -> None:
    """Re-read whether the caller owns the space (it decides whose tasks are visible)."""
    info = ctx.spaces.get(space_id)
    if info is not None:
        info.owned = caller_owns(conn, space_id, ctx.caller_id)


def caller_owns(conn: Connection, space_id: str, caller_id: str) -> bool:
    """Whether the mirror records the caller as an owner of the space."""
    row = conn.exec_driver_sql(
        "SELECT 1 FROM user_roles WHERE space_id = ? AND user_id = ? AND role = 'owner'",
        (space_id, caller_id),
    ).first()
    return row is not None


def set_ticket_tool(ctx: SyncContext, conn: Connection, space_id: str, present: bool) -> None:
    """Record whether the space has the ticket tool (404 "Tool not found" means it has not)."""
    info = ctx.spaces.get(space_id)
    if info is not None and info.has_ticket_tool == present:
        return
    if info is not None:
        info.has_ticket_tool = present
    conn.exec_driver_sql(
        "UPDATE spaces SET has_ticket_tool = ? WHERE id = ? AND has_ticket_tool IS NOT ?",
        (present, space_id, present),
    )


def config_jobs(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> list[FetchJob]:
    """The configuration refreshes this run needs for ``space_ids``."""
    jobs = []
    for space_id in space_ids:
        for resource in LISTS:
            if ctx.options.wants(resource) and config_due(ctx, conn, resource, space_id):
                jobs.append(list_job(ctx, resource, space_id))
    return jobs
