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
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import Credentials, load_credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.errors import ConfigError, ToolNotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.jsonlist import JsonList
from assembla_mirror.store import lookups
from assembla_mirror.store.checkpoints import ACCOUNT, load_state
from assembla_mirror.store.database import (
    current_revision,
    database_target,
    head_revision,
    mirror_exists,
    open_db,
    open_readonly,
)
from assembla_mirror.store.writes import count_rows
from assembla_mirror.sync import account, plan_archive
from assembla_mirror.sync.activity import KEY, Event, numbered, read_params
from assembla_mirror.sync.context import SpaceInfo, SyncContext
from assembla_mirror.sync.declare import (
    Download,
    LinkWalk,
    NewestFirst,
    Parent,
    PerItem,
    Scope,
    Stream,
    WholeList,
)
from assembla_mirror.sync.fills import fill_due, fill_scopes, pending_items
from assembla_mirror.sync.lists import list_due
from assembla_mirror.sync.options import SyncOptions
from assembla_mirror.sync.pipeline import Pipeline

# Handed on: the plan's parts are part of this module's interface.
from assembla_mirror.sync.plan_items import PER_PAGE as PER_PAGE
from assembla_mirror.sync.plan_items import PlanItem as PlanItem
from assembla_mirror.sync.plan_items import SyncPlan as SyncPlan
from assembla_mirror.sync.plan_items import pages as pages
from assembla_mirror.sync.progress import NullProgress
from assembla_mirror.sync.streams import STREAMS
from assembla_mirror.sync.switches import files_folder, switched_off
from assembla_mirror.sync.walks import listing as walk_listing
from assembla_mirror.sync.walks import scopes, walk_mode


@contextmanager
def planning_engine(path: str | Path) -> Iterator[Engine]:
    """A read-only view of the mirror, or an empty mirror in a temporary file.

    ``path`` is what ``--db`` names (a path or a ``sqlite:///`` URL). What a sync
    would refuse is refused here too (a directory or device, another
    application's database, a newer mirror); a mirror behind head, or no file
    at all, is planned as an empty one. A mirror in a read-only location is read
    as it is (see :func:`~assembla_mirror.store.database.open_readonly`).
    """
    if mirror_exists(path):
        engine = open_readonly(path)
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
    plan = SyncPlan(rate_limit=settings.rate_limit, database=str(database_target(options.db_path)))
    with (
        planning_engine(options.db_path) as engine,
        AssemblaClient(settings, credentials, transport=transport) as client,
    ):
        ctx = SyncContext(options, engine, client, Pipeline(engine), NullProgress(), caller_id="")
        ctx.time_logs_enabled = bool(credentials.username and credentials.password)
        ctx.streams = STREAMS
        with engine.connect() as conn:
            _plan(ctx, conn, plan)
        plan.probe_requests = client.stats.requests
    return plan


def _plan(ctx: SyncContext, conn: Connection, plan: SyncPlan) -> None:
    """Ask every declared stream the run would sync what it would cost."""
    me = ctx.client.whoami()
    ctx.started = ctx.client.server_clock.now()  # as a sync does: the server's present
    ctx.caller_id = str(me.get("id"))
    listed = account.read_spaces(ctx)
    plan.items.append(PlanItem("(account)", "caller and spaces", "always", 2))
    known = {space_id: tool for space_id, _name, _wiki, tool in lookups.spaces(conn)}
    spaces = {
        str(row[0]): SpaceInfo(str(row[0]), str(row[1]), row[2], known.get(str(row[0])))
        for row in listed.rows.rows
    }
    ctx.spaces = account.select_spaces(spaces, ctx.options.spaces)
    ctx.switched_off = switched_off(ctx, conn)
    selected = list(ctx.spaces)
    events = STREAMS["events"]
    dirty = estimate_events(ctx, conn, plan) if ctx.mirrors(events) else set(selected)
    sizes: dict[str, int] = {}
    for stream in STREAMS.values():
        if not ctx.mirrors(stream):
            continue
        if isinstance(stream.listing, WholeList):
            estimate_list(ctx, conn, plan, stream, selected)
        elif isinstance(stream.listing, NewestFirst):
            estimate_walk(ctx, conn, plan, stream, selected, dirty, sizes)
        elif isinstance(stream.listing, PerItem):
            estimate_fill(ctx, conn, plan, stream, selected, sizes)
        elif isinstance(stream.listing, LinkWalk):
            plan_archive.estimate_links(ctx, conn, plan, stream, selected)
        elif isinstance(stream.listing, Download):
            plan_archive.estimate_downloads(ctx, conn, plan, stream, selected, sizes)
    if ctx.options.wants("time_logs") and not ctx.time_logs_enabled:
        plan.notes.append("time logs would be skipped: ASSEMBLA_USERNAME/ASSEMBLA_PASSWORD not set")
    plan.notes.append(history_note(ctx.mirrors(STREAMS["comments"])))
    if ctx.mirrors(STREAMS["files"]):
        try:
            folder = files_folder(ctx.options, conn, remember=False)
            plan.notes.append(f"files would be downloaded into {folder}")
        except ConfigError as exc:
            plan.notes.append(f"the sync would stop: {exc}")


def history_note(with_comments: bool) -> str:
    """What ticket history the run would record, with comments or without."""
    if with_comments:
        return (
            "ticket history: every change, with who made it and when, read from the "
            "tickets' change comments"
        )
    return (
        "ticket history: only what each sync sees change (the net change of each field "
        "since the last sync, at the ticket's update time, no author); --with comments "
        "records every change with who and when, at one request per ticket on the first fill"
    )


def estimate_events(ctx: SyncContext, conn: Connection, plan: SyncPlan) -> set[str]:
    """The stream read, and the spaces with ticket events the mirror has not seen."""
    params, _resumed = read_params(ctx, load_state(conn, "events", ACCOUNT))
    decode = ctx.decoder.for_table(n.EVENTS, None)
    count, rows = 0, []
    for _number, page, _last in ctx.client.iter_decoded("/v1/activity", params, decode):
        count += 1
        if page is not None:
            rows += page.rows.rows
    occurrences: Counter[str] = Counter()
    numbered_rows = [numbered(row, occurrences) for row in rows]
    stored = lookups.stored_event_keys(conn, [row[KEY] for row in numbered_rows])
    dirty = {
        str(event.space_id)
        for row in numbered_rows
        if row[KEY] not in stored
        and (event := Event.of(row)).object in ("Ticket", "Ticket Comment")
    }
    plan.items.append(PlanItem("(account)", "events", "since last event", max(count, 1)))
    return dirty


def estimate_list(
    ctx: SyncContext, conn: Connection, plan: SyncPlan, stream: Stream, selected: list[str]
) -> None:
    """One request for each space whose list is due."""
    for space_id in selected:
        if list_due(ctx, conn, stream, space_id):
            plan.items.append(PlanItem(ctx.spaces[space_id].name, stream.name, "refresh", 1))


def estimate_walk(
    ctx: SyncContext,
    conn: Connection,
    plan: SyncPlan,
    stream: Stream,
    selected: list[str],
    dirty: set[str],
    sizes: dict[str, int],
) -> None:
    """The walks the run would make (:func:`.walks.scopes` decides, as in a sync)."""
    # Activity marks only what it tells of (tickets), not the files of a space.
    marked = dirty if walk_listing(stream).hinted_by_activity else set()
    for scope in scopes(ctx, conn, stream, selected, dirty=marked):
        if scope.shared:
            note = f"{len(scope.spaces)} spaces"
            plan.items.append(PlanItem("(account)", stream.name, "incremental", 1, note))
            continue
        space_id = scope.state_space
        info = ctx.spaces[space_id]
        state = load_state(conn, stream.name, space_id)
        mode = walk_mode(ctx, stream, state) or "incremental"
        if mode == "incremental":
            note = "changed since last run"
            plan.items.append(PlanItem(info.name, stream.name, mode, 1, note))
            continue
        size = count_rows(conn, stream.spec.table, {"space_id": space_id}) or count_listed(
            ctx, conn, scope
        )
        sizes[f"{stream.name}:{space_id}"] = size
        remaining = size - ((state.next_page or 1) - 1) * PER_PAGE if mode == "resume" else size
        if mode == "full" and state.complete_once:
            mode = "reconcile"
        note = f"~{size:,} {stream.spec.table}"
        plan.items.append(PlanItem(info.name, stream.name, mode, pages(max(0, remaining)), note))


def estimate_fill(
    ctx: SyncContext,
    conn: Connection,
    plan: SyncPlan,
    stream: Stream,
    selected: list[str],
    sizes: dict[str, int],
) -> None:
    """One request per item: every item on a first fill, the changed ones otherwise."""
    parent = "tickets" if stream.parent is Parent.TICKET else "tasks"
    for scope in fill_scopes(ctx, stream, selected):
        state = load_state(conn, stream.name, scope)
        where = ctx.spaces[scope].name if scope else "(account)"
        if fill_due(ctx, state):
            stored = len(pending_items(ctx, conn, stream, state, selected))
            walked = [size for key, size in sizes.items() if key.startswith(f"{parent}:")]
            todo = stored or (sizes.get(f"{parent}:{scope}", 0) if scope else sum(walked))
            mode = "first fill" if not state.complete_once else "reconcile"
            plan.items.append(
                PlanItem(where, stream.name, mode, todo, f"one request per {parent[:-1]}")
            )
        elif any(
            item.resource == parent and item.space in (where, "(account)") for item in plan.items
        ):
            plan.items.append(
                PlanItem(
                    where, stream.name, f"changed {parent}", 1, f"one per changed {parent[:-1]}"
                )
            )


def count_listed(ctx: SyncContext, conn: Connection, scope: Scope) -> int:
    """Items in a scope's list, found by doubling then bisecting the last non-empty page."""
    declared = scope.stream.listing
    assert isinstance(declared, NewestFirst)
    params = dict(declared.params)
    if declared.scope_params is not None:
        params.update(declared.scope_params(ctx, conn, scope.spaces))
    path = declared.path.format(space=scope.spaces[0])

    def size(page: int) -> int:
        query = {**params, "page": page, "per_page": PER_PAGE}
        try:
            return len(ctx.client.read(path, query, JsonList.decode))
        except ToolNotFoundError:
            return 0

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
