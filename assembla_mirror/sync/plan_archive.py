"""The dry run's estimates of the archive: the walks of tags' tickets, and downloads."""

from __future__ import annotations

from sqlalchemy import Connection

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.errors import NotFoundError, ToolNotFoundError
from assembla_mirror.pages.jsonlist import JsonList
from assembla_mirror.store import archive, files
from assembla_mirror.store.checkpoints import load_state
from assembla_mirror.store.writes import count_rows
from assembla_mirror.sync import links
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.declare import Stream
from assembla_mirror.sync.plan_items import PER_PAGE, PlanItem, SyncPlan
from assembla_mirror.sync.report import format_bytes


def estimate_links(
    ctx: SyncContext, conn: Connection, plan: SyncPlan, stream: Stream, selected: list[str]
) -> None:
    """One walk per tag, of a page per 100 tickets carrying it, in the spaces due; in the
    others, the same if their tickets changed (tagging emits no event to tell)."""
    for space_id in selected:
        state = load_state(conn, stream.name, space_id)
        tags, requests = archive.link_walk_size(conn, space_id)
        name = ctx.spaces[space_id].name
        if links.walk_due(ctx, state):
            if not tags:  # never listed: its tags' count is what a walk costs at least
                tags = requests = count_tags(ctx.client, space_id)
            mode = "first fill" if not state.complete_once else "reconcile"
            plan.items.append(PlanItem(name, stream.name, mode, requests, f"{tags:,} tags"))
        elif tags:
            note = f"{requests:,} requests"
            plan.items.append(PlanItem(name, stream.name, "if tickets changed", 0, note))


def count_tags(client: AssemblaClient, space_id: str) -> int:
    """How many tags a space has (one request; a space without tags answers 404)."""
    path = f"/v1/spaces/{space_id}/tags"
    try:
        return len(client.read(path, {"per_page": PER_PAGE}, JsonList.decode))
    except (ToolNotFoundError, NotFoundError):
        return 0


def estimate_downloads(
    ctx: SyncContext,
    conn: Connection,
    plan: SyncPlan,
    stream: Stream,
    selected: list[str],
    sizes: dict[str, int],
) -> None:
    """One request per new or changed file: those the mirror lists, and those the walks
    of attachments would list first (their sizes known only then)."""
    pending = files.pending_files(conn, selected)
    size = sum(item.filesize or 0 for item in pending)
    unlisted = sum(size for key, size in sizes.items() if key.startswith("attachments:"))
    stored = sum(count_rows(conn, "attachments", {"space_id": space}) for space in selected)
    new = max(0, unlisted - stored)
    notes = [f"{format_bytes(size)}" if pending else "", f"{new:,} not listed yet" if new else ""]
    note = ", ".join(part for part in notes if part) or "nothing new"
    plan.items.append(
        PlanItem("(account)", stream.name, "new or changed", len(pending) + new, note)
    )
