"""The activity stream: mirrored into ``events`` and used as a hint of what changed.

Assembla serves the last 60 days of events; the mirror keeps every event it has
ever seen. An event carries no id, so its key is a digest of its content with
the date in UTC plus its occurrence number among identical events of one fetch
(identical events share a second, so overlapping fetches number them alike).

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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from assembla_mirror import normalize as n
from assembla_mirror import store
from assembla_mirror.state import ACCOUNT, load_state, mark_dirty
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.pipeline import FetchJob
from assembla_mirror.types import UTC_FORMAT

WINDOW = timedelta(days=60)
DATE = n.EVENTS.columns.index("date")
HINTED = ("tickets", "milestones", "users", "user_roles")


def activity_job(ctx: SyncContext, conn: Connection, *, marks_since: str | None = None) -> FetchJob:
    """Fetch events since the newest stored one (minus the overlap) and apply them.

    With ``marks_since`` (UTC text) only events dated from then on mark work to
    do: a run that fetches everything whole covers whatever happened before it.
    """
    state = load_state(conn, "events", ACCOUNT)
    latest = conn.exec_driver_sql("SELECT max(date) FROM events").scalar_one_or_none()
    oldest_served = ctx.started - WINDOW
    params: dict[str, Any] = {}
    if latest is not None:
        since = datetime.strptime(latest, UTC_FORMAT).replace(tzinfo=ctx.started.tzinfo)
        since = max(since - ctx.options.overlap, oldest_served)
        params["from"] = since.strftime("%Y-%m-%d %H:%M")
    previous = state.synced_at
    gap = previous is not None and previous.replace(tzinfo=ctx.started.tzinfo) < oldest_served
    occurrences: Counter[str] = Counter()

    def fetch() -> Iterator[Any]:
        ctx.progress.begin("events", "activity")
        yield from ctx.client.iter_pages("/v1/activity", params)

    def write(conn: Connection, page: Any) -> None:
        rows, events = [], []
        for item in page.items:
            if not isinstance(item, dict):
                continue
            try:
                digest = n.event_digest(item)
                rows.append(n.event_row(item, occurrences[digest], digest))
            except Exception as exc:
                ctx.warn(f"skipped event: {exc}")
                continue
            occurrences[digest] += 1
            events.append(item)
        key_at = n.EVENTS.columns.index("id")
        known = stored_keys(conn, [row[key_at] for row in rows])
        store.upsert(conn, n.EVENTS, rows, ctx.counter)
        for row, event in zip(rows, events, strict=True):
            if row[key_at] not in known:
                marks = marks_since is None or row[DATE] >= marks_since
                apply_event(ctx, conn, event, marks=marks)
        ctx.progress.advance("events", len(rows))

    def finish(conn: Connection) -> None:
        ctx.progress.end("events")
        if gap:
            ctx.note("activity has a gap (last fetched over 60 days ago): walking every space")
            mark_all(conn, ctx.spaces)
        ctx.complete(conn, state, reconciled=False)

    return FetchJob("events", fetch, write, finish)


def stored_keys(conn: Connection, keys: list[str]) -> set[str]:
    """Which of ``keys`` the events table already holds."""
    found: set[str] = set()
    for part in store.chunks(keys):
        marks = ",".join("?" * len(part))
        found.update(
            row[0]
            for row in conn.exec_driver_sql(
                f"SELECT id FROM events WHERE id IN ({marks})", tuple(part)
            )
        )
    return found


def apply_event(
    ctx: SyncContext, conn: Connection, event: dict[str, Any], *, marks: bool = True
) -> None:
    """Mark (with ``marks``) what a newly seen event says changed; apply deletions directly."""
    space_id = event.get("space_id")
    kind, operation = event.get("object"), event.get("operation")
    if not isinstance(space_id, str):
        return
    resources: tuple[str, ...] = ()
    if kind in ("Ticket", "Ticket Comment"):
        resources = ("tickets",)
        if kind == "Ticket" and operation == "deleted":
            delete_object(ctx, conn, "tickets", event.get("object_id"), space_id)
    elif kind == "Milestone":
        resources = ("milestones",)
        if operation == "deleted":
            delete_object(ctx, conn, "milestones", event.get("object_id"), space_id)
    elif kind == "User":
        resources = ("users", "user_roles")
    for resource in resources if marks else ():
        mark_dirty(conn, resource, space_id)


def delete_object(
    ctx: SyncContext, conn: Connection, table: str, object_id: Any, space_id: str
) -> None:
    """Delete a ticket or milestone a delete event names (ids are never reused)."""
    try:
        key = n.integer(object_id)
    except (TypeError, ValueError):
        ctx.warn(f"delete event for {table} has an unusable object_id {object_id!r}")
        return
    result = conn.exec_driver_sql(
        f"DELETE FROM {table} WHERE id = ? AND space_id = ?", (key, space_id)
    )
    if result.rowcount:
        ctx.counter.add(table, deleted=result.rowcount)


def mark_all(conn: Connection, space_ids: Any) -> None:
    """Activity cannot vouch for any space: mark every hinted resource of each dirty."""
    for space_id in space_ids:
        for resource in HINTED:
            mark_dirty(conn, resource, space_id)
