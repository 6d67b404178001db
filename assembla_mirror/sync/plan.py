"""``mirror sync --dry-run``: what a sync would fetch, how many requests, how long.

The plan makes only read requests (the caller, the spaces, the activity stream,
and a few probes to size lists that were never synced) and writes nothing: an
existing mirror is opened read-only, a missing one is planned as empty without
creating the file.

List sizes come from the mirror when it knows them; otherwise from probes: the
highest ticket number of a space (one request) and, for task lists, the number
of pages found by doubling then bisecting the page number.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import Credentials, load_credentials
from assembla_mirror.api.settings import ClientSettings, RateLimit
from assembla_mirror.errors import DataError, ToolNotFoundError
from assembla_mirror.model.convert import event_digest, event_row
from assembla_mirror.store.checkpoints import ACCOUNT, load_state
from assembla_mirror.store.database import current_revision, head_revision, open_db, open_readonly
from assembla_mirror.sync import account, comments, config, tickets
from assembla_mirror.sync.activity import read_params, stored_keys
from assembla_mirror.sync.context import SpaceInfo, SyncContext
from assembla_mirror.sync.options import SyncOptions
from assembla_mirror.sync.pipeline import Pipeline
from assembla_mirror.sync.progress import NullProgress
from assembla_mirror.sync.tasks import visible_users

PER_PAGE = 100


@dataclass
class PlanItem:
    """One resource of one space (or the account) and what it would cost."""

    space: str
    resource: str
    mode: str
    requests: int
    note: str = ""


@dataclass
class SyncPlan:
    """The dry run's answer."""

    items: list[PlanItem] = field(default_factory=list)
    probe_requests: int = 0
    rate_limit: RateLimit | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        """Requests the sync itself would make."""
        return sum(item.requests for item in self.items)

    @property
    def seconds_at_limit(self) -> float | None:
        """The floor the rate limit puts on the sync's duration (None without pacing)."""
        if self.rate_limit is None:
            return None
        paced = max(0, self.requests - self.rate_limit.per_second)
        return paced / (self.rate_limit.per_minute / 60)


def pages(rows: int) -> int:
    """Requests to list ``rows`` items, including the end-of-list probe a full last page needs."""
    return rows // PER_PAGE + 1


@contextmanager
def planning_engine(path: str | Path) -> Iterator[Engine]:
    """A read-only view of the mirror, or an empty mirror in a temporary file.

    ``path`` is what ``--db`` names (a path or a ``sqlite:///`` URL). What a sync
    would refuse is refused here too (a directory or device, another
    application's database, a newer mirror); a mirror behind head, or no file
    at all, is planned as an empty one. A mirror in a read-only location is read
    as it is (see :func:`~assembla_mirror.store.database.open_readonly`).
    """
    # Imported here, not at the top: this function is kept in step with store.database.
    from assembla_mirror.store.database import database_target

    target = database_target(path)
    if target.file.exists():
        engine = open_readonly(target)
        try:
            if current_revision(engine) == head_revision():
                yield engine
                return
        finally:
            engine.dispose()
    with tempfile.TemporaryDirectory() as scratch:
        engine = open_db(Path(scratch) / "plan.db")
        try:
            yield engine
        finally:
            engine.dispose()


def plan_sync(
    options: SyncOptions,
    settings: ClientSettings | None = None,
    credentials: Credentials | None = None,
    *,
    transport: Any = None,
) -> SyncPlan:
    """Work out what :func:`~assembla_mirror.sync.sync` would do, without writing anything."""
    settings = settings or ClientSettings.from_env()
    credentials = credentials or load_credentials()
    plan = SyncPlan(rate_limit=settings.rate_limit)
    with (
        planning_engine(options.db_path) as engine,
        AssemblaClient(settings, credentials, transport=transport) as client,
    ):
        ctx = SyncContext(options, engine, client, Pipeline(engine), NullProgress(), caller_id="")
        ctx.time_logs_enabled = bool(credentials.username and credentials.password)
        with engine.connect() as conn:
            _plan(ctx, conn, plan)
        plan.probe_requests = client.stats.requests
    return plan


def _plan(ctx: SyncContext, conn: Connection, plan: SyncPlan) -> None:
    me = ctx.client.whoami()
    ctx.started = ctx.client.server_clock.now()  # as a sync does: the server's present
    ctx.caller_id = str(me.get("id"))
    listed = [item for page in ctx.client.iter_pages("/v1/spaces") for item in page.items]
    plan.items.append(PlanItem("(account)", "caller and spaces", "always", 2))
    known = {
        row[0]: None if row[1] is None else bool(row[1])
        for row in conn.exec_driver_sql("SELECT id, has_ticket_tool FROM spaces")
    }
    spaces = {
        str(item.get("id")): SpaceInfo(
            str(item.get("id")),
            str(item.get("name")),
            item.get("wiki_name"),
            config.caller_owns(conn, str(item.get("id")), ctx.caller_id),
            known.get(str(item.get("id"))),
        )
        for item in listed
        if isinstance(item, dict)
    }
    ctx.spaces = account.select_spaces(spaces, ctx.options.spaces)
    dirty = _activity(ctx, conn, plan) if ctx.options.wants("events") else set(ctx.spaces)
    with_comments = comments.enabled(ctx)
    for space_id, info in ctx.spaces.items():
        for resource in config.LISTS:
            if ctx.options.wants(resource) and config.config_due(ctx, conn, resource, space_id):
                plan.items.append(PlanItem(info.name, resource, "refresh", 1))
        if ctx.options.wants("tickets") and info.has_ticket_tool is not False:
            _plan_tickets(ctx, conn, plan, info, space_id in dirty, with_comments)
    if ctx.options.wants("tasks"):
        _plan_tasks(ctx, conn, plan)
    if ctx.options.wants("time_logs") and not ctx.time_logs_enabled:
        plan.notes.append("time logs would be skipped: ASSEMBLA_USERNAME/ASSEMBLA_PASSWORD not set")


def _activity(ctx: SyncContext, conn: Connection, plan: SyncPlan) -> set[str]:
    """Spaces with events the mirror has not seen (fetched, not stored)."""
    params, _resumed = read_params(ctx, load_state(conn, "events", ACCOUNT))
    count, new_keys, dirty = 0, [], set()
    events = []
    for page in ctx.client.iter_pages("/v1/activity", params):
        count += 1
        for item in page.items:
            if isinstance(item, dict):
                events.append(item)
    occurrences: dict[str, int] = {}
    for event in events:
        try:
            digest = event_digest(event)
            key = event_row(event, occurrences.get(digest, 0), digest)[-4]
        except DataError:
            continue  # a sync skips it too (with a warning)
        occurrences[digest] = occurrences.get(digest, 0) + 1
        new_keys.append((key, event))
    stored = stored_keys(conn, [key for key, _ in new_keys])
    for key, event in new_keys:
        if key not in stored and event.get("object") in ("Ticket", "Ticket Comment"):
            dirty.add(str(event.get("space_id")))
    plan.items.append(PlanItem("(account)", "events", "since last event", max(count, 1)))
    return dirty


def _plan_tickets(
    ctx: SyncContext,
    conn: Connection,
    plan: SyncPlan,
    info: SpaceInfo,
    dirty: bool,
    with_comments: bool,
) -> None:
    state = load_state(conn, "tickets", info.id)
    if dirty and not state.dirty:
        state.dirty = True
    mode = tickets.walk_mode(ctx, state)
    stored = conn.exec_driver_sql(
        "SELECT count(*) FROM tickets WHERE space_id = ?", (info.id,)
    ).scalar_one()
    size: int | None = None
    if mode == "incremental":
        plan.items.append(
            PlanItem(info.name, "tickets", "incremental", 1, "changed since last run")
        )
    elif mode is not None:
        size = stored or _highest_ticket_number(ctx, info.id)
        resumed = mode == "resume"
        remaining = size - (state.walk_page or 1) * PER_PAGE + PER_PAGE if resumed else size
        plan.items.append(
            PlanItem(info.name, "tickets", mode, pages(max(0, remaining)), f"~{size:,} tickets")
        )
    if not with_comments:
        return
    if load_state(conn, "comments", info.id).cursor is None:
        todo = comments.count_fill(conn, [info.id]) if stored else size or 0
        plan.items.append(
            PlanItem(info.name, "comments", "first fill", todo, "one request per ticket")
        )
    elif mode is not None:
        plan.items.append(
            PlanItem(info.name, "comments", "changed tickets", 1, "one per changed ticket")
        )


def _highest_ticket_number(ctx: SyncContext, space_id: str) -> int:
    params = {"report": 0, "sort_by": "number", "sort_order": "desc", "per_page": 1}
    try:
        items = ctx.client.get_list(f"/v1/spaces/{space_id}/tickets", params)
    except ToolNotFoundError:
        return 0
    return int(items[0].get("number") or 0) if items else 0


def _plan_tasks(ctx: SyncContext, conn: Connection, plan: SyncPlan) -> None:
    shared = []
    for space_id, info in ctx.spaces.items():
        state = load_state(conn, "tasks", space_id)
        if ctx.reconcile_due(state) or state.walk_page is not None:
            params: dict[str, Any] = {"spaces[]": [space_id]}
            users = visible_users(conn, [space_id], ctx.caller_id)
            if users:
                params["users[]"] = users
            count = _count_items(ctx, "/v1/tasks", params)
            mode = "full" if state.cursor is None else "reconcile"
            plan.items.append(PlanItem(info.name, "tasks", mode, pages(count), f"~{count:,} tasks"))
            if ctx.time_logs_enabled:
                mine = _count_items(ctx, "/v1/tasks", {"spaces[]": [space_id]})
                plan.items.append(
                    PlanItem(
                        info.name, "time_logs", "first fill", mine, "one request per task of yours"
                    )
                )
        else:
            shared.append(space_id)
    if shared:
        plan.items.append(PlanItem("(account)", "tasks", "incremental", 1, f"{len(shared)} spaces"))
    state = load_state(conn, "time_logs", ACCOUNT)
    if (
        ctx.time_logs_enabled
        and state.cursor is None
        and not any(item.resource == "time_logs" for item in plan.items)
    ):
        plan.items.append(
            PlanItem("(account)", "time_logs", "first fill", 0, "tasks already mirrored")
        )


def _count_items(ctx: SyncContext, path: str, params: dict[str, Any]) -> int:
    """Items in a paged list, found by doubling then bisecting the last non-empty page."""

    def size(page: int) -> int:
        return len(ctx.client.get_list(path, {**params, "page": page, "per_page": PER_PAGE}))

    first = size(1)
    if first < PER_PAGE:
        return first
    low, high = 1, 2
    while size(high) == PER_PAGE:
        low, high = high, high * 2
    # low is full; the last non-empty page lies in (low, high]
    while high - low > 1:
        middle = (low + high) // 2
        if size(middle) == PER_PAGE:
            low = middle
        else:
            high = middle
    return low * PER_PAGE + size(high)
