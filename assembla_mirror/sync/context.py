"""Everything one sync run shares: options, connections, counters, the selected spaces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.model.columns import format_utc
from assembla_mirror.model.convert import Row, TableSpec
from assembla_mirror.pages.decode import DecodedPage
from assembla_mirror.pages.offload import Decoder
from assembla_mirror.pages.prepare import Prepared, normalize_items
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import ResourceState, load_state, save_state, utc_now
from assembla_mirror.store.writes import ChangeCounter
from assembla_mirror.sync.options import SyncOptions
from assembla_mirror.sync.pipeline import Pipeline
from assembla_mirror.sync.progress import Progress

MAX_WARNINGS = 1000
#: How far past the server's present a timestamp may be and still move a cursor
#: (clock skew between Assembla's own servers); anything later is a future date.
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass
class SpaceInfo:
    """A space selected for this run, with what the sync needs to know about it."""

    id: str
    name: str
    wiki_name: str | None
    owned: bool = False
    has_ticket_tool: bool | None = None


@dataclass
class SyncContext:
    """Shared state of one run. Only the writer thread mutates it (fetch code reads)."""

    options: SyncOptions
    engine: Engine
    client: AssemblaClient
    pipeline: Pipeline
    progress: Progress
    caller_id: str
    #: Turns ticket and task pages into rows (in worker processes when it has them).
    decoder: Decoder = field(default_factory=Decoder)
    started: datetime = field(default_factory=utc_now)
    counter: ChangeCounter = field(default_factory=ChangeCounter)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    spaces: dict[str, SpaceInfo] = field(default_factory=dict)
    #: Resources of a space a fetched page showed to be stale (an unknown custom
    #: field title or status name); refreshed before the run ends.
    stale: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _field_ids: dict[str, dict[str, int]] = field(default_factory=dict)
    _status_names: dict[str, set[str]] = field(default_factory=dict)
    skipped_records: int = 0
    #: Legacy credentials present: time logs can be fetched.
    time_logs_enabled: bool = False
    #: Task ids / ticket ids whose time logs / comments this run already fetches.
    time_logs_queued: set[int] = field(default_factory=set)
    comments_queued: set[int] = field(default_factory=set)

    def warn(self, message: str) -> None:
        """Record a warning for the summary and ``sync_runs`` (bounded)."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)

    def note(self, message: str) -> None:
        """A message for the user (also shown by the progress display)."""
        self.notes.append(message)
        self.progress.note(message)

    def decoded_pages(
        self,
        path: str,
        params: Mapping[str, Any],
        kind: str,
        context: Any,
        *,
        start_page: int = 1,
        bound: str | None = None,
    ) -> Iterator[DecodedPage]:
        """The numbered pages of a ticket or task list (see :mod:`assembla_mirror.pages.decode`).

        Decoding runs in :attr:`decoder`'s worker processes when it has them. The
        final page is empty when it brought nothing new. With a ``bound`` (UTC
        text), the walk ends after the first page updated before it: an
        incremental walk's end, the list being newest first.
        """
        decode = self.decoder.for_kind(kind, context)
        walk = self.client.iter_decoded(path, params, decode, start_page=start_page)
        for number, page, _last in walk:
            if page is None:  # the list ended without anything new
                page = DecodedPage(0, [], None, _prepared=Prepared(number))
            page.number = number
            yield page
            oldest = page.oldest_updated_at
            if bound is not None and oldest is not None and oldest < bound:
                return

    def rows(
        self,
        spec: TableSpec,
        items: Sequence[Any],
        extra: Callable[[Any], tuple[Any, ...]] | None = None,
        raw: Sequence[str] | None = None,
    ) -> list[Row]:
        """Normalize ``items`` (``raw``: their texts as sent); a record that cannot be
        stored is skipped with a warning, leaving what the mirror holds for it untouched.
        """
        pairs, warnings = normalize_items(spec, items, extra, raw)
        self.record(warnings)
        return [row for row, _ in pairs]

    def upsert(self, conn: Connection, spec: TableSpec, rows: Sequence[Row]) -> store.Written:
        """:func:`store.upsert` counted in this run, refused rows becoming warnings."""
        return store.upsert(conn, spec, rows, self.counter, self.record)

    def in_space(self, spec: TableSpec, rows: list[Row], space_id: str) -> list[Row]:
        """The rows of ``rows`` whose ``space_id`` is ``space_id``, the list they came from.

        A record listed under one space but naming another is not the other space's
        (it may not be mirrored, or hold that number already): skipped, with a warning.
        """
        at = spec.columns.index("space_id")
        kept = [row for row in rows if row[at] == space_id]
        if len(kept) < len(rows):
            self.record(
                [
                    f"skipped {spec.entity} {row[0]!r}: field 'space_id' is {row[at]!r}, "
                    f"but it was listed in space {space_id!r}"
                    for row in rows
                    if row[at] != space_id
                ]
            )
        return kept

    def record(self, warnings: list[str]) -> None:
        """Note the warnings of records a fetch worker could not prepare."""
        self.skipped_records += sum(warning.startswith("skipped ") for warning in warnings)
        for warning in warnings:
            self.warn(warning)

    def newest_present(self, what: str, dated: Iterable[tuple[Any, str | None]]) -> str | None:
        """The newest of ``dated`` ((record, UTC text) pairs) that is not in the future.

        A cursor taken from a record dated after the server's present (plus
        :data:`FUTURE_TOLERANCE`) would make later runs skip every real change
        until that date, so such records are left out, and named in a warning
        (unless the record is given as None: already reported).
        """
        now = self.client.server_clock.now()
        limit = format_utc(now + FUTURE_TOLERANCE)
        newest: str | None = None
        for record, moment in dated:
            if moment is None:
                continue
            if moment > limit:
                if record is not None:
                    self.warn(
                        f"{what} {record} is dated {moment} UTC, after the server's present "
                        f"({format_utc(now)} UTC); it is kept, but it does not move the cursor"
                    )
            elif newest is None or moment > newest:
                newest = moment
        return newest

    def due(self, state: ResourceState, interval: timedelta) -> bool:
        """Whether ``interval`` has passed since ``state`` was last brought complete."""
        return state.synced_at is None or state.synced_at.replace(tzinfo=self.started.tzinfo) <= (
            self.started - interval
        )

    def reconcile_due(self, state: ResourceState) -> bool:
        """Whether this run must reconcile deletions of the resource (``--full`` or overdue)."""
        if self.options.full or state.cursor is None:
            return True
        last = state.reconciled_at
        return last is None or last.replace(tzinfo=self.started.tzinfo) <= (
            self.started - self.options.reconcile_every
        )

    def field_ids(self, conn: Connection, space_id: str) -> dict[str, int]:
        """Custom field title -> id of a space (cached for the run, reloaded after a refresh)."""
        if space_id not in self._field_ids:
            self._field_ids[space_id] = dict(
                conn.exec_driver_sql(
                    "SELECT title, id FROM custom_fields WHERE space_id = ?", (space_id,)
                ).fetchall()
            )
        return self._field_ids[space_id]

    def status_names(self, conn: Connection, space_id: str) -> set[str]:
        """Ticket status names of a space (cached like :meth:`field_ids`)."""
        if space_id not in self._status_names:
            self._status_names[space_id] = {
                row[0]
                for row in conn.exec_driver_sql(
                    "SELECT name FROM ticket_statuses WHERE space_id = ?", (space_id,)
                )
            }
        return self._status_names[space_id]

    def forget_config(self, space_id: str) -> None:
        """Drop the cached custom fields and statuses of a space after refreshing them."""
        self._field_ids.pop(space_id, None)
        self._status_names.pop(space_id, None)

    def complete(self, conn: Connection, state: ResourceState, *, reconciled: bool) -> None:
        """Mark ``state`` complete as of this run (and reconciled when it was a full pass)."""
        state.synced_at = self.started
        if reconciled:
            state.reconciled_at = self.started
        state.walk_page = None
        state.walk_bottom = None
        state.dirty = False
        save_state(conn, state)


class CompletionPrefix:
    """Over ids completed in any order, the largest id below which every id is done.

    Concurrent per-item fetches finish out of order; checkpointing this prefix
    lets an interrupted fill resume without redoing completed items.
    """

    def __init__(self, ordered_ids: list[int]) -> None:
        self._ids = ordered_ids
        self._done: set[int] = set()
        self._next = 0

    @property
    def finished(self) -> bool:
        """Whether every id is done."""
        return self._next >= len(self._ids)

    def complete(self, item_id: int) -> int | None:
        """Mark ``item_id`` done; return the new prefix end if it moved."""
        self._done.add(item_id)
        moved = False
        while self._next < len(self._ids) and self._ids[self._next] in self._done:
            self._done.discard(self._ids[self._next])
            self._next += 1
            moved = True
        return self._ids[self._next - 1] if moved else None


def fill_checkpoint(
    ctx: SyncContext,
    conn: Connection,
    state: ResourceState,
    item_ids: list[int],
    fetched: Set[int],
) -> Callable[[Connection, int], None] | None:
    """Checkpointing of a fill that fetches something once per item of ``item_ids``.

    ``item_ids`` (ascending, all above ``state.walk_page``) are what the fill
    covers; the returned callback marks one done, saving the completed prefix in
    ``state.walk_page`` so that an interrupted fill resumes there, and marks the
    state complete after the last. Items in ``fetched`` (already fetched earlier
    in this run) count as done at once. With no items the state is complete
    straight away and ``None`` is returned.
    """
    if not item_ids:
        state.cursor = "complete"
        ctx.complete(conn, state, reconciled=True)
        return None
    tracker = CompletionPrefix(item_ids)
    resource, scope = state.resource, state.space_id

    def done(conn: Connection, item_id: int) -> None:
        current = load_state(conn, resource, scope)
        prefix = tracker.complete(item_id)
        if prefix is not None:
            current.walk_page = prefix
        if tracker.finished:
            current.cursor = "complete"
            ctx.complete(conn, current, reconciled=True)
        else:
            save_state(conn, current)

    for item_id in item_ids:
        if item_id in fetched:
            done(conn, item_id)
    return done


def space_label(spaces: Mapping[str, SpaceInfo], space_id: str) -> str:
    """A short human name for a space in progress lines."""
    info = spaces.get(space_id)
    return info.name if info else space_id
