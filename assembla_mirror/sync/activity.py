"""The activity stream: mirrored into ``events`` and used as a hint of what changed.

Assembla serves the last 60 days of events, newest first; the mirror keeps every
event it has ever seen. An event carries no id, so its key is a digest of its
content with the date in UTC plus its occurrence number among identical events
of one read (identical events share a second, and every read is bounded by whole
minutes, so overlapping reads number them alike).

The read is a walk like the ticket walks, bounded by dates instead of pages:
from ``cursor`` minus the overlap (the whole window on a first sync or with
``--full``) down from the newest event. Each page is committed with the oldest
date it reached (``walk_bottom``), so an interrupted read resumes below that
date (``to``), and only a complete read moves ``cursor`` to the newest event it
saw, which is never later than the server's present. A resumed read is followed
by one from the new cursor up, for what arrived meanwhile.

A *new* event marks what must be fetched: ticket and comment events a space's
tickets, milestone events its milestones, joined/left its members. Delete events
are applied at once. The stream is never trusted for data it does not carry:
tasks and time logs emit no events, and when the stream cannot prove it covers
the time since the last fetch (a gap over 60 days, or ``--only`` without
events), every selected space is walked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.model import convert as n
from assembla_mirror.model.columns import UTC_FORMAT
from assembla_mirror.pages.decode import Page
from assembla_mirror.store import history, lookups
from assembla_mirror.store.checkpoints import (
    ACCOUNT,
    ResourceState,
    load_state,
    mark_dirty,
    save_state,
)
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.pipeline import FetchJob

WINDOW = timedelta(days=60)
DATE = n.EVENTS.columns.index("date")
KEY = n.EVENTS.columns.index("id")
HINTED = ("tickets", "milestones", "users", "user_roles")
MINUTE = "%Y-%m-%d %H:%M"  # the API's form of ``from`` and ``to``


def read_params(
    ctx: SyncContext, state: ResourceState, *, top_up: bool = False
) -> tuple[dict[str, Any], bool]:
    """The ``from``/``to`` of this run's read of the stream, and whether it resumes one.

    ``from`` is the cursor minus the overlap (none: the whole window); a resumed
    read stops at ``to``, the minute after the oldest event stored (bounds are
    whole minutes, so the boundary minute is read again, whole).
    """
    full = ctx.options.full and not top_up
    resumed = state.walk_bottom is not None and not full and not top_up
    params: dict[str, Any] = {}
    if state.cursor is not None and not full:
        since = datetime.strptime(state.cursor, UTC_FORMAT) - ctx.options.overlap
        params["from"] = since.strftime(MINUTE)
    if resumed:
        assert state.walk_bottom is not None
        until = datetime.strptime(state.walk_bottom, UTC_FORMAT) + timedelta(minutes=1)
        params["to"] = until.strftime(MINUTE)
    return params, resumed


def activity_job(
    ctx: SyncContext, conn: Connection, *, marks_since: str | None = None, top_up: bool = False
) -> FetchJob:
    """Read the events the mirror lacks and apply them (see the module docstring).

    With ``marks_since`` (UTC text) only events dated from then on mark work to
    do: a run that fetches everything whole covers whatever happened before it.
    """
    state = load_state(conn, "events", ACCOUNT)
    params, resumed = read_params(ctx, state, top_up=top_up)
    previous = state.synced_at
    gap = previous is not None and previous.replace(tzinfo=ctx.started.tzinfo) < (
        ctx.started - WINDOW
    )
    if not resumed:
        state.walk_top = None  # this read fixes its own top
    occurrences: Counter[str] = Counter()
    decode = ctx.decoder.for_table(n.EVENTS, None)

    def fetch() -> Iterator[Page]:
        ctx.progress.begin("events", "activity")
        for _number, page, _last in ctx.client.iter_decoded("/v1/activity", params, decode):
            if page is not None:
                yield page

    def write(conn: Connection, page: Page) -> None:
        ctx.record(page.rows.warnings)
        rows = [numbered(row, occurrences) for row in page.rows.rows]
        known = lookups.stored_event_keys(conn, [row[KEY] for row in rows])
        ctx.upsert(conn, n.EVENTS, rows)
        for row in rows:
            if row[KEY] not in known:
                marks = marks_since is None or row[DATE] >= marks_since
                apply_event(ctx, conn, Event.of(row), marks=marks)
        if state.walk_top is None:
            # Future-dated events are named once, when first seen (each read sees them again).
            dated = (
                (Event.of(row).label if row[KEY] not in known else None, row[DATE]) for row in rows
            )
            state.walk_top = ctx.newest_present("activity event", dated)
        if rows:
            oldest = min(row[DATE] for row in rows)
            state.walk_bottom = min(oldest, state.walk_bottom or oldest)
            save_state(conn, state)
        ctx.progress.advance("events", len(rows))

    def finish(conn: Connection) -> None:
        ctx.progress.end("events")
        if gap:
            ctx.note("activity has a gap (last fetched over 60 days ago): walking every space")
            mark_all(conn, ctx.spaces)
        top = state.walk_top
        if top is not None and (state.cursor is None or top > state.cursor):
            state.cursor = top
        ctx.complete(conn, state, reconciled=False)
        if resumed:  # what arrived while the read was interrupted
            ctx.pipeline.add(activity_job(ctx, conn, marks_since=marks_since, top_up=True))

    return FetchJob("events", fetch, write, finish)


def numbered(row: n.Row, occurrences: Counter[str]) -> n.Row:
    """An event row keyed by its digest and its occurrence among identical events so far."""
    digest = row[KEY].rpartition("-")[0]
    key = f"{digest}-{occurrences[digest]}"
    occurrences[digest] += 1
    return (*row[:KEY], key, *row[KEY + 1 :])


@dataclass(frozen=True)
class Event:
    """What applying an event needs of its row."""

    space_id: str | None
    object: str | None
    object_id: str | None
    operation: str | None

    @classmethod
    def of(cls, row: n.Row) -> Event:
        """The event an ``events`` row holds."""
        return cls(
            *(
                row[n.EVENTS.columns.index(name)]
                for name in ("space_id", "object", "object_id", "operation")
            )
        )

    @property
    def label(self) -> str:
        """How a warning names the event: its object and operation, and its space."""
        return f"'{self.object} {self.operation}' in space {self.space_id}"


def apply_event(ctx: SyncContext, conn: Connection, event: Event, *, marks: bool = True) -> None:
    """Mark (with ``marks``) what a newly seen event says changed; apply deletions directly."""
    space_id = event.space_id
    kind, operation = event.object, event.operation
    if not isinstance(space_id, str):
        return
    resources: tuple[str, ...] = ()
    if kind in ("Ticket", "Ticket Comment"):
        resources = ("tickets",)
        if kind == "Ticket" and operation == "deleted":
            delete_object(ctx, conn, "tickets", event.object_id, space_id)
    elif kind == "Milestone":
        resources = ("milestones",)
        if operation == "deleted":
            delete_object(ctx, conn, "milestones", event.object_id, space_id)
    elif kind == "User":
        resources = ("users", "user_roles")
    for resource in resources if marks else ():
        mark_dirty(conn, resource, space_id)


def delete_object(
    ctx: SyncContext, conn: Connection, table: str, object_id: Any, space_id: str
) -> None:
    """Delete a ticket or milestone a delete event names (ids are never reused); a
    ticket's history is kept (see :func:`~assembla_mirror.store.history.delete_tickets`)."""
    try:
        key = n.integer(object_id)
    except (TypeError, ValueError):
        ctx.warn(f"delete event for {table} has an unusable object_id {object_id!r}")
        return
    if table == "tickets" and key is not None:
        history.delete_tickets(conn, space_id, [key], ctx.started, ctx.counter)
        return
    deleted = lookups.delete_in_space(conn, table, key, space_id)
    if deleted:
        ctx.counter.add(table, deleted=deleted)


def mark_all(conn: Connection, space_ids: Any) -> None:
    """Activity cannot vouch for any space: mark every hinted resource of each dirty."""
    for space_id in space_ids:
        for resource in HINTED:
            mark_dirty(conn, resource, space_id)
