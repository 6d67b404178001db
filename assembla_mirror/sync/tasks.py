"""Tasks (time entries) and their time logs.

``/v1/tasks`` returns the caller's own entries, plus other users' entries
(``users[]``) only in spaces the caller owns. A space is walked on its own
(newest ``updated_at`` first) the first time and when reconciling; after that
one account-wide walk over every incremental space stops at the oldest of
their cursors, so a run with no changes costs a single request.

Tasks emit no activity events, so deletions are found only by reconciliation:
a task the walk did not see is re-queried by its day (``from``/``to``) before
it is deleted, guarding against a page shift hiding a live task.

Time logs live on the legacy XML host, one request per task and only for the
caller's own tasks: fetched for tasks a walk found new or changed, and for all
of them on the first fill and on reconciliation.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import NotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.decode import DecodedPage
from assembla_mirror.pages.prepare import listed_ids
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import ACCOUNT, ResourceState, load_state, save_state
from assembla_mirror.sync.context import SyncContext, fill_checkpoint, space_label
from assembla_mirror.sync.pipeline import FetchJob
from assembla_mirror.sync.tickets import EPOCH, deletion_allowance, shift

SPACE_ID = n.TASKS.columns.index("space_id")
USER_ID = n.TASKS.columns.index("user_id")
BEGIN_AT = n.TASKS.columns.index("begin_at")
UPDATED_AT = n.TASKS.columns.index("updated_at")


def visible_users(conn: Connection, space_ids: list[str], caller_id: str) -> list[str]:
    """Users whose tasks to ask for: members of the listed spaces the caller owns,
    and anyone the mirror already holds tasks of there (members who left)."""
    owned = [
        row[0]
        for row in conn.exec_driver_sql(
            "SELECT space_id FROM user_roles WHERE user_id = ? AND role = 'owner'", (caller_id,)
        )
        if row[0] in space_ids
    ]
    users: set[str] = set()
    for space_id in owned:
        users.update(
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT user_id FROM user_roles WHERE space_id = ? "
                "UNION SELECT user_id FROM tasks WHERE space_id = ? AND user_id IS NOT NULL",
                (space_id, space_id),
            )
        )
    users.discard(caller_id)
    return sorted(users)


def task_jobs(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> list[FetchJob]:
    """Per-space walks for spaces that need one, one shared walk for the others."""
    jobs = []
    incremental: list[str] = []
    for space_id in space_ids:
        state = load_state(conn, "tasks", space_id)
        if ctx.reconcile_due(state) or state.walk_page is not None:
            jobs.append(walk_job(ctx, conn, state, [space_id]))
        else:
            incremental.append(space_id)
    if incremental:
        shared = load_state(conn, "tasks", ACCOUNT)
        jobs.append(walk_job(ctx, conn, shared, incremental))
    return jobs


def walk_job(
    ctx: SyncContext, conn: Connection, state: ResourceState, space_ids: list[str]
) -> FetchJob:
    """A newest-first walk of the tasks of ``space_ids``, checkpointed in ``state``."""
    per_space = state.space_id != ACCOUNT
    space_states = {s: load_state(conn, "tasks", s) for s in space_ids}
    resumed = state.walk_page is not None
    reconcile = per_space and ctx.reconcile_due(state) and not resumed
    cursors = [s.cursor for s in space_states.values()]
    if reconcile or any(cursor is None for cursor in cursors):
        bound = None
    else:
        bound = shift(min(c for c in cursors if c is not None), -ctx.options.overlap)
    start_page = max(1, (state.walk_page or 1) - 1) if resumed else 1
    users = visible_users(conn, space_ids, ctx.caller_id)
    params: dict[str, Any] = {"sort_by": "updated_at", "sort_order": "desc", "spaces[]": space_ids}
    if users:
        params["users[]"] = users
    label = space_label(ctx.spaces, space_ids[0]) if per_space else f"{len(space_ids)} spaces"
    key = f"tasks:{state.space_id or 'all'}"
    seen: set[int] = set()

    def fetch() -> Iterator[Any]:
        ctx.progress.begin(key, f"tasks · {label}")
        yield from ctx.decoded_pages(
            "/v1/tasks", params, "tasks", None, start_page=start_page, bound=bound
        )

    if not resumed:
        state.walk_top = None  # fixed by this walk's newest task

    def write(conn: Connection, decoded: DecodedPage) -> None:
        page = decoded.prepared
        ctx.record(page.warnings)
        rows = in_spaces(ctx, page.rows, space_states)
        seen.update(page.listed)
        written = ctx.upsert(conn, n.TASKS, rows).rows
        if state.walk_top is None and not resumed:
            changed = {row[0] for row in written}
            state.walk_top = ctx.newest_present(
                "task", ((row[0] if row[0] in changed else None, row[UPDATED_AT]) for row in rows)
            )
        state.walk_page = page.number + 1
        save_state(conn, state)
        queue_time_logs(ctx, [row[0] for row in written if row[USER_ID] == ctx.caller_id])
        ctx.progress.advance(key, len(rows))

    def finish(conn: Connection) -> None:
        ctx.progress.end(key)
        top = state.walk_top or EPOCH
        for space_state in space_states.values():
            if space_state.cursor is None or top > space_state.cursor:
                space_state.cursor = top
            ctx.complete(
                conn, space_state, reconciled=reconcile or space_state.reconciled_at is None
            )
        if not per_space:
            ctx.complete(conn, state, reconciled=False)
        if reconcile:
            missing = store.missing_keys(conn, "tasks", "id", {"space_id": state.space_id}, seen)
            if missing:
                ctx.pipeline.add(verify_job(ctx, conn, state.space_id, missing, users))

    return FetchJob(key, fetch, write, finish)


def in_spaces(ctx: SyncContext, rows: list[n.Row], space_ids: Collection[str]) -> list[n.Row]:
    """The tasks of ``rows`` in the spaces asked for (``spaces[]``); others are warned about."""
    kept = [row for row in rows if row[SPACE_ID] in space_ids]
    if len(kept) < len(rows):
        ctx.record(
            [
                f"skipped task {row[0]!r}: field 'space_id' is {row[SPACE_ID]!r}, a space "
                "that was not asked for"
                for row in rows
                if row[SPACE_ID] not in space_ids
            ]
        )
    return kept


def verify_job(
    ctx: SyncContext, conn: Connection, space_id: str, missing: list[Any], users: list[str]
) -> FetchJob:
    """Re-query unseen tasks by when they began; delete those that really are gone.

    A batch check asks for each day; past :func:`tickets.deletion_allowance`,
    each task is asked for by the minute it began instead. An answer repeating
    a task cannot be true and deletes nothing.
    """
    began = dict(store.stored_values(conn, n.TASKS, missing, "begin_at"))
    stored = store.count_rows(conn, "tasks", {"space_id": space_id})
    one_by_one = len(missing) > deletion_allowance(stored)
    windows = sorted({window(moment, one_by_one) for moment in began.values() if moment})
    found: set[int] = set()
    trouble: list[str] = []

    def fetch() -> Iterator[Any]:
        for since, until in windows:
            params: dict[str, Any] = {"from": since, "to": until, "spaces[]": [space_id]}
            if users:
                params["users[]"] = users
            listed: set[Any] = set()
            for page in ctx.client.iter_pages("/v1/tasks", params):
                ids = listed_ids(page.items)
                if len(ids) < len(page.items):
                    trouble.append(f"a task whose id cannot be read for {since}")
                    return
                if len(set(ids)) < len(ids) or listed & set(ids):
                    trouble.append(f"task {ids[0]!r} more than once for {since}")
                    return
                listed.update(ids)
                yield page

    def write(conn: Connection, page: Any) -> None:
        rows = ctx.rows(n.TASKS, page.items, None, page.raw)
        found.update(listed_ids(page.items))  # stored or skipped: they exist
        ctx.upsert(conn, n.TASKS, [row for row in rows if row[SPACE_ID] == space_id])

    def finish(conn: Connection) -> None:
        gone = [task_id for task_id in missing if task_id not in found]
        if trouble:
            ctx.warn(
                f"not deleting {len(gone):,} of {stored:,} tasks of space "
                f"{space_label(ctx.spaces, space_id)}: the check of tasks missing from the walk "
                f"listed {trouble[0]}, which cannot be true; the next reconciliation checks again"
            )
            return
        store.delete_keys(conn, "tasks", "id", gone, ctx.counter)

    return FetchJob(f"verify-tasks:{space_id}", fetch, write, finish)


def window(begin_at: str, narrow: bool) -> tuple[str, str]:
    """``from``/``to`` finding a task that began at ``begin_at`` (UTC text): its day, or
    with ``narrow`` its minute (``to`` a minute on, whether the server reads it inclusive)."""
    if not narrow:
        return begin_at[:10], begin_at[:10]
    minute = datetime.strptime(begin_at[:16], "%Y-%m-%d %H:%M")
    return begin_at[:16], (minute + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")


# --- time logs --------------------------------------------------------------------


def queue_time_logs(ctx: SyncContext, task_ids: list[int], on_done: Any = None) -> int:
    """Fetch the time logs of the caller's ``task_ids`` (once each per run).

    Returns how many were queued (those not queued earlier in the run).
    """
    if not ctx.time_logs_enabled:
        return 0
    queued = [task_id for task_id in task_ids if task_id not in ctx.time_logs_queued]
    ctx.time_logs_queued.update(queued)
    ctx.pipeline.add_all(time_log_job(ctx, task_id, on_done) for task_id in queued)
    return len(queued)


def time_log_job(ctx: SyncContext, task_id: int, on_done: Any = None) -> FetchJob:
    """Fetch one task's time logs (legacy XML) and make the stored set match."""
    seen: set[int] = set()

    def fetch() -> Iterator[Any]:
        try:
            yield ctx.client.get_time_logs(task_id)
        except NotFoundError:  # deleted meanwhile, or not the caller's task after all
            yield []

    def write(conn: Connection, logs: list[Any]) -> None:
        if conn.exec_driver_sql("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).first() is None:
            return
        rows = [row for row in ctx.rows(n.TIME_LOGS, logs) if row[1] == task_id]
        listed = listed_ids(logs)  # stored or skipped: they exist
        seen.update(listed)
        ctx.upsert(conn, n.TIME_LOGS, rows)
        if len(listed) == len(logs):  # else one cannot be named: remove nothing
            store.delete_missing(conn, "time_logs", "id", {"task_id": task_id}, seen, ctx.counter)

    def finish(conn: Connection) -> None:
        ctx.progress.advance("time_logs", 1)
        if on_done is not None:
            on_done(conn, task_id)

    return FetchJob(f"time_logs:{task_id}", fetch, write, finish)


def time_log_fill(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> int:
    """Queue time logs of every caller task on the first fill or a reconciliation.

    Returns how many tasks were queued. Progress is checkpointed as the highest
    task id below which all are done, so an interrupted fill resumes.
    """
    state = load_state(conn, "time_logs", ACCOUNT)
    if state.cursor is not None and not ctx.reconcile_due(state):
        return 0
    marks = ",".join("?" * len(space_ids))
    task_ids = [
        row[0]
        for row in conn.exec_driver_sql(
            f"SELECT id FROM tasks WHERE user_id = ? AND id > ? AND space_id IN ({marks}) "
            "ORDER BY id",
            (ctx.caller_id, state.walk_page or 0, *space_ids),
        )
    ]
    done = fill_checkpoint(ctx, conn, state, task_ids, ctx.time_logs_queued)
    if done is None:
        return 0
    return queue_time_logs(ctx, task_ids, done)
