"""What tasks (time entries) add to a newest-first walk: whose, where, and verification.

``/v1/tasks`` returns the caller's own entries, plus other users' entries
(``users[]``) only in spaces the caller owns. A space is walked on its own the
first time and when reconciling; after that one account-wide walk over every
other space (``spaces[]``) stops at the oldest of their cursors, so a run with
no changes costs a single request (:mod:`.walks`).

Tasks emit no activity events, so deletions are found only by reconciliation:
a task the walk did not see is asked for again by the day it began (by the
minute, past the deletion allowance) before it is deleted, guarding against a
page shift hiding a live task; an answer repeating a task deletes nothing.

Time logs live on the legacy XML host, one request per task and only for the
caller's own tasks (:mod:`.fills`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.model import convert as n
from assembla_mirror.pages.decode import Page
from assembla_mirror.store import lookups
from assembla_mirror.store import writes as store
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.declare import Stream
from assembla_mirror.sync.fills import Item, items_of
from assembla_mirror.sync.pipeline import FetchJob
from assembla_mirror.sync.walks import deletion_allowance, mark_reconciled

SPACE_ID = n.TASKS.columns.index("space_id")
USER_ID = n.TASKS.columns.index("user_id")
#: Newest first, so a walk can stop at its cursor.
WALK_PARAMS: dict[str, str] = {"sort_by": "updated_at", "sort_order": "desc"}


def scope_params(ctx: SyncContext, conn: Connection, space_ids: list[str]) -> dict[str, Any]:
    """The spaces a task walk covers, and whose entries it asks for beyond the caller's."""
    params: dict[str, Any] = {"spaces[]": space_ids}
    users = lookups.task_users(conn, space_ids, ctx.caller_id)
    if users:
        params["users[]"] = users
    return params


def callers_tasks(ctx: SyncContext, parent: Stream, rows: list[n.Row]) -> list[Item]:
    """The caller's tasks among ``rows``: the only ones whose time logs Assembla shows."""
    return items_of(parent, [row for row in rows if row[USER_ID] == ctx.caller_id])


def verify_job(ctx: SyncContext, conn: Connection, space_id: str, missing: list[Any]) -> FetchJob:
    """Re-query unseen tasks by when they began; delete those that really are gone."""
    began = store.stored_values(conn, n.TASKS, missing, "begin_at")
    stored = store.count_rows(conn, "tasks", {"space_id": space_id})
    one_by_one = len(missing) > deletion_allowance(stored)
    windows = sorted({window(moment, one_by_one) for moment in began.values() if moment})
    users = scope_params(ctx, conn, [space_id]).get("users[]")
    decode = ctx.decoder.for_table(n.TASKS, None)
    found: set[Any] = set()
    trouble: list[str] = []

    def fetch() -> Iterator[Page]:
        for since, until in windows:
            params: dict[str, Any] = {"from": since, "to": until, "spaces[]": [space_id]}
            if users:
                params["users[]"] = users
            listed: set[str] = set()
            for _number, page, _last in ctx.client.iter_decoded("/v1/tasks", params, decode):
                if page is None:
                    continue
                if len(page.rows.listed) < page.count:
                    trouble.append(f"a task whose id cannot be read for {since}")
                    return
                keys = page.keys
                if len(set(keys)) < len(keys) or listed & set(keys):
                    task = keys[0].removeprefix("id:")
                    trouble.append(f"task {task} more than once for {since}")
                    return
                listed.update(keys)
                yield page

    def write(conn: Connection, page: Page) -> None:
        rows = page.rows
        ctx.record(rows.warnings)
        found.update(rows.listed)  # stored or skipped: they exist
        ctx.upsert(conn, n.TASKS, [row for row in rows.rows if row[SPACE_ID] == space_id])

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
        mark_reconciled(ctx, conn, ctx.streams["tasks"], space_id)

    return FetchJob(f"verify-tasks:{space_id}", fetch, write, finish)


def window(begin_at: str, narrow: bool) -> tuple[str, str]:
    """``from``/``to`` finding a task that began at ``begin_at`` (UTC text): its day, or
    with ``narrow`` its minute (``to`` a minute on, whether the server reads it inclusive)."""
    if not narrow:
        return begin_at[:10], begin_at[:10]
    minute = datetime.strptime(begin_at[:16], "%Y-%m-%d %H:%M")
    return begin_at[:16], (minute + timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
