"""What tickets add to a newest-first walk: custom field values, staleness, verification.

Tickets are listed with ``report=0`` (every ticket, not the space's default
open-only report) sorted by ``updated_at`` descending, walked by
:mod:`.walks`. Each ticket's custom field values are stored as rows by title;
a title or a status the mirror does not know means the space's lists changed
upstream (a rename), and they are refetched before the run ends.

Tickets a reconciliation did not see are confirmed by number before they are
deleted: ``number[]`` returns exactly the listed tickets that still exist, up to
100 at a time. An answer that cannot be true (repeated tickets, tickets not
asked for, one whose number cannot be read) deletes nothing, and deleting more
than a small share of a space (:func:`~.walks.deletion_allowance`) takes one
request per ticket, each answering 404 for a ticket that is really gone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import NotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.decode import Page
from assembla_mirror.pages.rows import Rows, ticket_rows
from assembla_mirror.store import history, lookups
from assembla_mirror.store import writes as store
from assembla_mirror.sync import links
from assembla_mirror.sync.context import SyncContext, space_label
from assembla_mirror.sync.declare import Scope
from assembla_mirror.sync.pipeline import FetchJob
from assembla_mirror.sync.walks import deletion_allowance, mark_reconciled

VERIFY_BATCH = 100
#: Every ticket (not the space's default report), most recently updated first.
WALK_PARAMS: dict[str, str | int] = {"report": 0, "sort_by": "updated_at", "sort_order": "desc"}
STATUS = n.TICKETS.columns.index("status")


def field_ids(ctx: SyncContext, conn: Connection, scope: Scope) -> dict[str, int]:
    """The decode context of a space's ticket pages: its custom field ids by title."""
    return dict(ctx.field_ids(conn, scope.spaces[0]))


def write_page(ctx: SyncContext, conn: Connection, scope: Scope, rows: Rows) -> list[n.Row]:
    """A walk's page of tickets (see :func:`store_page`)."""
    return store_page(ctx, conn, scope.spaces[0], rows)


def store_page(ctx: SyncContext, conn: Connection, space_id: str, rows: Rows) -> list[n.Row]:
    """Store tickets of a space with their custom field values; return those written.

    A ticket naming another space is skipped; a status or custom field title the
    mirror does not know marks the space's list of them stale.
    """
    kept = ctx.in_spaces(n.TICKETS, rows.rows, [space_id])
    written = write_tickets(conn, kept, rows.values, ctx.counter, ctx.started, ctx.record)
    if written:  # tagged or untagged, maybe: the space's links are walked again
        links.parent_written(ctx, conn, "tickets", space_id, written)
    if rows.unknown_field:
        ctx.stale[space_id].add("custom_fields")
    if unknown_statuses(rows, ctx.status_names(conn, space_id)):
        ctx.stale[space_id].add("ticket_statuses")
    return written


def write_tickets(
    conn: Connection,
    tickets: list[n.Row],
    values: dict[int, list[n.Row]],
    counter: store.ChangeCounter,
    now: datetime,
    rejected: store.Rejected | None = None,
) -> list[n.Row]:
    """Upsert tickets and the custom field values of those written; return those.

    A tracked field that changed is recorded in the tickets' history (at the
    ticket's ``updated_at``, else ``now``). ``rejected`` receives the warnings of
    tickets the database refused (a constraint).
    """
    before = history.stored_tickets(conn, [row[0] for row in tickets])
    written = store.upsert(conn, n.TICKETS, tickets, counter, rejected)
    ids = [row[0] for row in written.rows]
    stored_values = [value for ticket_id in ids for value in values.get(ticket_id, ())]
    store.replace_ticket_custom_fields(conn, ids, stored_values, counter, written.inserted)
    history.record_seen_changes(conn, before, written.rows, values, counter, now)
    return written.rows


def inconsistent(page: Page, asked: list[int]) -> str | None:
    """Why a ``number[]`` answer cannot be relied on (repeats, tickets not asked for, one
    whose number cannot be read), if so."""
    if len(page.rows.numbers) < page.count:
        return "a ticket whose number cannot be read"
    copies = Counter(page.keys)
    repeated = [key for key, count in copies.items() if count > 1]
    if repeated:
        ticket = repeated[0].removeprefix("id:")
        return f"{copies[repeated[0]]} copies of ticket {ticket}"
    if not set(page.rows.numbers) <= set(asked):
        return "tickets that were not asked for"
    return None


def unknown_statuses(rows: Rows, known: set[str]) -> bool:
    """Whether a ticket names a status the mirror does not know (the list changed)."""
    return any(row[STATUS] is not None and row[STATUS] not in known for row in rows.rows)


def verify_job(ctx: SyncContext, conn: Connection, space_id: str, missing: list[Any]) -> FetchJob:
    """Confirm tickets a reconciliation did not see before deleting them (see the module)."""
    numbers_by_id = lookups.ticket_numbers(conn, missing)
    numbers = sorted(numbers_by_id.values())
    stored = store.count_rows(conn, "tickets", {"space_id": space_id})
    one_by_one = len(numbers_by_id) > deletion_allowance(stored)
    alive: set[int] = set()  # numbers the server answered for: those tickets exist
    trouble: list[str] = []
    fields = dict(ctx.field_ids(conn, space_id))
    path = f"/v1/spaces/{space_id}/tickets"
    decode = ctx.decoder.for_table(n.TICKETS, fields)

    def fetch() -> Iterator[Rows]:
        if one_by_one:
            for number in numbers:
                try:
                    item, text = ctx.client.get_object(f"{path}/{number}")
                except NotFoundError:
                    continue  # really gone
                yield ticket_rows(n.TICKETS, [item], fields, [text])
            return
        for start in range(0, len(numbers), VERIFY_BATCH):
            batch = numbers[start : start + VERIFY_BATCH]
            page = ctx.client.read(path, {"number[]": batch}, decode)
            problem = inconsistent(page, batch)
            if problem:
                trouble.append(problem)
                return
            yield page.rows

    def write(conn: Connection, rows: Rows) -> None:
        ctx.record(rows.warnings)
        store_page(ctx, conn, space_id, rows)
        alive.update(rows.numbers)  # stored or not (a bad value), they exist: keep them

    def finish(conn: Connection) -> None:
        gone = [ticket for ticket, number in numbers_by_id.items() if number not in alive]
        if trouble:
            ctx.warn(
                f"not deleting {len(gone):,} of {stored:,} tickets of space "
                f"{space_label(ctx.spaces, space_id)}: the check of tickets missing from the "
                f"walk answered {trouble[0]}, which cannot be true; the next run checks again"
            )
            return
        history.delete_tickets(conn, space_id, gone, ctx.started, ctx.counter)
        mark_reconciled(ctx, conn, ctx.streams["tickets"], space_id)

    return FetchJob(f"verify-tickets:{space_id}", fetch, write, finish)
