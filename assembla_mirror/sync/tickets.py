"""Tickets: a newest-first walk per space, checkpointed page by page.

Tickets are listed with ``report=0`` (every ticket, not the space's default
open-only report) sorted by ``updated_at`` descending. The walk's first page
fixes ``walk_top``, the newest change it covers; the cursor becomes that value
only when the walk completes, so changes landing during a walk (which jump to
the front of the list, behind the walk) are fetched by the next one.

* First run / reconciliation: every page; afterwards tickets the mirror holds
  but the walk did not see are checked with one ``number[]`` request per 100
  before being deleted (a deletion during the walk shifts pages, which can hide
  a live ticket from a single pass). An answer that cannot be a true one
  (repeated tickets, tickets not asked for) deletes nothing, and deleting more
  than a small share of a space (:func:`deletion_allowance`) takes one request
  per ticket, each answering 404 for a ticket that is really gone.
* Incremental: pages until one reaches past ``cursor - overlap``. The cursor
  is the newest ``updated_at`` the walk saw that is not in the future.
* Interrupted walks resume one page before where they stopped, then catch up
  from the top, so no finished page is fetched twice more than that.

Each page's rows and the walk checkpoint are committed together.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import NotFoundError, ToolNotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.model.columns import UTC_FORMAT
from assembla_mirror.pages.prepare import Prepared, listed_ids, prepare_tickets, unknown_statuses
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import ResourceState, load_state, save_state
from assembla_mirror.sync import comments
from assembla_mirror.sync.config import NO_TOOL, set_ticket_tool
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.pipeline import FetchJob

EPOCH = "1970-01-01 00:00:00"  # the cursor of a space that had no tickets
UPDATED_AT = n.TICKETS.columns.index("updated_at")
NUMBER = n.TICKETS.columns.index("number")
VERIFY_BATCH = 100
#: Every ticket (not the space's default report), most recently updated first.
WALK_PARAMS: dict[str, str | int] = {"report": 0, "sort_by": "updated_at", "sort_order": "desc"}


def shift(cursor: str, delta: timedelta) -> str:
    """Move a stored UTC text timestamp by ``delta``."""
    return (datetime.strptime(cursor, UTC_FORMAT) + delta).strftime(UTC_FORMAT)


def walk_mode(ctx: SyncContext, state: ResourceState) -> str | None:
    """How this run walks a space's tickets: full, resume, incremental, or not at all."""
    if state.walk_page is not None:
        return "resume"
    if ctx.reconcile_due(state):
        return "full"
    return "incremental" if state.dirty else None


def ticket_jobs(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> list[FetchJob]:
    """The ticket walks this run needs for ``space_ids``."""
    jobs = []
    for space_id in space_ids:
        if ctx.spaces[space_id].has_ticket_tool is False and not ctx.options.full:
            continue
        state = load_state(conn, "tickets", space_id)
        if walk_mode(ctx, state) is not None:
            jobs.append(walk_job(ctx, conn, state))
    return jobs


def walk_job(
    ctx: SyncContext, conn: Connection, state: ResourceState, *, top_up: bool = False
) -> FetchJob:
    """A walk over one space's tickets (see the module docstring for the modes)."""
    space_id = state.space_id
    resumed = state.walk_page is not None and not top_up
    initial = state.cursor is None  # the mirror held none of this space's tickets before
    reconcile = ctx.reconcile_due(state) and not resumed and not top_up
    start_page = max(1, (state.walk_page or 1) - 1) if resumed else 1
    if top_up:
        bound = shift(state.walk_top or EPOCH, -ctx.options.overlap)
    elif reconcile or state.cursor is None:
        bound = None
    else:
        bound = shift(state.cursor, -ctx.options.overlap)
    key = f"tickets:{space_id}"
    seen: set[int] = set()
    with_comments = comments.enabled(ctx)
    # Snapshots for the workers, read through the caller's connection: jobs built
    # in a writer's transaction must see what that transaction wrote.
    field_ids = dict(ctx.field_ids(conn, space_id))
    statuses = set(ctx.status_names(conn, space_id))

    def fetch() -> Iterator[Any]:
        ctx.progress.begin(key, f"tickets · {space_label(ctx.spaces, space_id)}")
        path = f"/v1/spaces/{space_id}/tickets"
        try:
            yield from ctx.decoded_pages(
                path, WALK_PARAMS, "tickets", field_ids, start_page=start_page, bound=bound
            )
        except ToolNotFoundError:
            yield NO_TOOL

    if not resumed:
        state.walk_top = None  # fixed by this walk's newest ticket

    def write(conn: Connection, decoded: Any) -> None:
        if decoded is NO_TOOL:
            set_ticket_tool(ctx, conn, space_id, False)
            return
        set_ticket_tool(ctx, conn, space_id, True)
        page = decoded.prepared
        written = store_tickets(ctx, conn, space_id, page, statuses)
        seen.update(page.listed)
        if state.walk_top is None and not resumed:
            changed = {row[0] for row in written}
            state.walk_top = ctx.newest_present(
                "ticket",
                ((row[0] if row[0] in changed else None, row[UPDATED_AT]) for row in page.rows),
            )
        state.walk_page = page.number + 1
        save_state(conn, state)
        if with_comments:
            comments.queue_comments(ctx, space_id, [(row[0], row[NUMBER]) for row in written])
        ctx.progress.advance(key, len(page.rows))

    def finish(conn: Connection) -> None:
        ctx.progress.end(key)
        top = state.walk_top
        if top is not None and (state.cursor is None or top > state.cursor):
            state.cursor = top
        elif state.cursor is None:
            state.cursor = EPOCH
        missing: list[Any] = []
        if reconcile:
            missing = store.missing_keys(conn, "tickets", "id", {"space_id": space_id}, seen)
        ctx.complete(conn, state, reconciled=(reconcile or initial) and not missing)
        if missing:
            ctx.pipeline.add(verify_job(ctx, conn, space_id, ticket_numbers(conn, missing)))
        if resumed:
            walked = load_state(conn, "tickets", space_id)
            ctx.pipeline.add(walk_job(ctx, conn, walked, top_up=True))

    return FetchJob(key, fetch, write, finish)


def store_tickets(
    ctx: SyncContext, conn: Connection, space_id: str, page: Prepared, statuses: set[str]
) -> list[n.Row]:
    """Upsert a prepared page of the tickets of ``space_id`` and their custom field values;
    return those written (a ticket naming another space is skipped with a warning)."""
    ctx.record(page.warnings)
    page.rows = ctx.in_space(n.TICKETS, page.rows, space_id)
    written = write_ticket_page(conn, page, ctx.counter, ctx.record)
    if page.unknown_field:
        ctx.stale[space_id].add("custom_fields")
    if unknown_statuses(page, statuses):
        ctx.stale[space_id].add("ticket_statuses")
    return written


def write_ticket_page(
    conn: Connection,
    page: Prepared,
    counter: store.ChangeCounter,
    rejected: store.Rejected | None = None,
) -> list[n.Row]:
    """Upsert a page's tickets and the custom field values of those written; return those.

    ``rejected`` receives the warnings of tickets the database refused (a constraint).
    """
    written = store.upsert(conn, n.TICKETS, page.rows, counter, rejected)
    ids = [row[0] for row in written.rows]
    values = [value for ticket_id in ids for value in page.values.get(ticket_id, ())]
    store.replace_ticket_custom_fields(conn, ids, values, counter, written.inserted)
    return written.rows


def ticket_numbers(conn: Connection, ticket_ids: list[Any]) -> dict[int, int]:
    """Stored ticket number by id."""
    numbers: dict[int, int] = {}
    for part in store.chunks(ticket_ids):
        marks = ",".join("?" * len(part))
        numbers.update(
            conn.exec_driver_sql(
                f"SELECT id, number FROM tickets WHERE id IN ({marks})", tuple(part)
            ).fetchall()
        )
    return numbers


def deletion_allowance(stored: int) -> int:
    """How many of a space's ``stored`` rows a reconciliation deletes on a batch check alone.

    Beyond it (a tenth of the space, at least 10) each deletion is confirmed on
    its own: a wrong answer must never empty a mirror.
    """
    return max(10, stored // 10)


def inconsistent(items: list[Any], asked: list[int]) -> str | None:
    """Why a ``number[]`` answer cannot be relied on (repeats, tickets not asked for, one
    whose number cannot be read), if so."""
    records = [item for item in items if isinstance(item, dict)]
    if len(records) < len(items) or len(listed_ids(records, name="number")) < len(records):
        return "a ticket whose number cannot be read"
    ids = Counter(item.get("id") for item in records)
    repeated = [ticket_id for ticket_id, copies in ids.items() if copies > 1]
    if repeated:
        return f"{ids[repeated[0]]} copies of ticket {repeated[0]!r}"
    wanted = set(asked)
    if any(item.get("number") not in wanted for item in records):
        return "tickets that were not asked for"
    return None


def verify_job(
    ctx: SyncContext, conn: Connection, space_id: str, missing: dict[int, int]
) -> FetchJob:
    """Confirm tickets (id -> number) a reconciliation did not see before deleting them.

    ``number[]`` returns exactly the listed tickets that still exist: those were
    hidden from the walk by a page shift and are stored; the rest are deleted.
    Past :func:`deletion_allowance`, each ticket is asked for on its own instead.
    """
    key = f"verify-tickets:{space_id}"
    alive: set[int] = set()  # numbers the server answered for: those tickets exist
    numbers = sorted(missing.values())
    stored = store.count_rows(conn, "tickets", {"space_id": space_id})
    one_by_one = len(missing) > deletion_allowance(stored)
    trouble: list[str] = []
    field_ids = dict(ctx.field_ids(conn, space_id))
    statuses = set(ctx.status_names(conn, space_id))
    path = f"/v1/spaces/{space_id}/tickets"

    def fetch() -> Iterator[Any]:
        if one_by_one:
            for number in numbers:
                try:
                    item, text = ctx.client.get_object(f"{path}/{number}")
                except NotFoundError:
                    continue  # really gone
                yield prepare_tickets(number, [item], field_ids, [text])
            return
        for start in range(0, len(numbers), VERIFY_BATCH):
            batch = numbers[start : start + VERIFY_BATCH]
            body = ctx.client.get_page(path, {"number[]": batch})
            problem = inconsistent(body.items, batch)
            if problem:
                trouble.append(problem)
                return
            yield prepare_tickets(start, body.items, field_ids, body.raw)

    def write(conn: Connection, page: Prepared) -> None:
        store_tickets(ctx, conn, space_id, page, statuses)
        alive.update(page.numbers)  # stored or not (a bad value), they exist: keep them

    def finish(conn: Connection) -> None:
        gone = [ticket_id for ticket_id, number in missing.items() if number not in alive]
        if trouble:
            ctx.warn(
                f"not deleting {len(gone):,} of {stored:,} tickets of space "
                f"{space_label(ctx.spaces, space_id)}: the check of tickets missing from the "
                f"walk answered {trouble[0]}, which cannot be true; the next run checks again"
            )
            return
        store.delete_keys(conn, "tickets", "id", gone, ctx.counter)
        state = load_state(conn, "tickets", space_id)
        state.reconciled_at = ctx.started
        save_state(conn, state)

    return FetchJob(key, fetch, write, finish)
