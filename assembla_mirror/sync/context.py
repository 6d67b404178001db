"""Everything one sync run shares: options, connections, counters, the selected spaces."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.model.columns import format_utc
from assembla_mirror.model.convert import Row, TableSpec
from assembla_mirror.pages.offload import Decoder
from assembla_mirror.store import lookups
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import ResourceState, save_state, utc_now
from assembla_mirror.store.history import Unreadable
from assembla_mirror.store.writes import ChangeCounter
from assembla_mirror.sync.declare import Stream
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
    #: Turns pages into rows (ticket and task pages in worker processes when it has them).
    decoder: Decoder = field(default_factory=Decoder)
    #: The run's "now", from the server's clock once it answered (see engine.run_phases).
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
    #: Change comments whose ``ticket_changes`` could not be read (reported at the end).
    unreadable_changes: Unreadable = field(default_factory=Unreadable)
    #: Legacy credentials present: time logs can be fetched.
    time_logs_enabled: bool = False
    #: Per stream fetched one request per item: the parent ids already queued this run.
    queued: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    #: Every declared stream, by name (see :mod:`assembla_mirror.sync.streams`).
    streams: Mapping[str, Stream] = field(default_factory=dict)
    #: Streams switched off for this run (comments not wanted, time logs without a login).
    switched_off: set[str] = field(default_factory=set)
    #: (link stream, space) whose links this run marked dirty already (see :mod:`.links`).
    links_marked: set[tuple[str, str]] = field(default_factory=set)
    #: Of those, the ones clean before this run: the parents it changed, id -> number.
    links_changed: dict[tuple[str, str], dict[int, int]] = field(default_factory=dict)
    #: Where downloaded files go; None when this run downloads none.
    files_dir: Path | None = None

    def mirrors(self, stream: Stream) -> bool:
        """Whether this run syncs ``stream`` (``--only``, and what is switched on)."""
        return self.options.wants(stream.name) and stream.name not in self.switched_off

    def warn(self, message: str) -> None:
        """Record a warning for the summary and ``sync_runs`` (bounded)."""
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(message)

    def note(self, message: str) -> None:
        """A message for the user (also shown by the progress display)."""
        self.notes.append(message)
        self.progress.note(message)

    def record(self, warnings: list[str]) -> None:
        """Note the warnings of records that could not become rows."""
        self.skipped_records += sum(warning.startswith("skipped ") for warning in warnings)
        for warning in warnings:
            self.warn(warning)

    def upsert(self, conn: Connection, spec: TableSpec, rows: Sequence[Row]) -> store.Written:
        """:func:`store.upsert` counted in this run, refused rows becoming warnings."""
        return store.upsert(conn, spec, rows, self.counter, self.record)

    def in_spaces(self, spec: TableSpec, rows: list[Row], space_ids: Collection[str]) -> list[Row]:
        """The rows of ``rows`` whose ``space_id`` is one of ``space_ids``, the spaces they
        were listed for.

        A record listed under one space but naming another is not the other space's
        (it may not be mirrored, or hold that number already): skipped, with a warning.
        """
        at = spec.columns.index("space_id")
        kept = [row for row in rows if row[at] in space_ids]
        if len(kept) < len(rows):
            listed = ", ".join(sorted(space_ids)) if len(space_ids) < 4 else "other spaces"
            self.record(
                [
                    f"skipped {spec.entity} {row[0]!r}: field 'space_id' is {row[at]!r}, "
                    f"but it was listed in space {listed}"
                    for row in rows
                    if row[at] not in space_ids
                ]
            )
        return kept

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
        if self.options.full or not state.complete_once:
            return True
        last = state.reconciled_at
        return last is None or last.replace(tzinfo=self.started.tzinfo) <= (
            self.started - self.options.reconcile_every
        )

    def field_ids(self, conn: Connection, space_id: str) -> dict[str, int]:
        """Custom field title -> id of a space (cached for the run, reloaded after a refresh)."""
        if space_id not in self._field_ids:
            self._field_ids[space_id] = lookups.custom_field_ids(conn, space_id)
        return self._field_ids[space_id]

    def status_names(self, conn: Connection, space_id: str) -> set[str]:
        """Ticket status names of a space (cached like :meth:`field_ids`)."""
        if space_id not in self._status_names:
            self._status_names[space_id] = lookups.status_names(conn, space_id)
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
        state.next_page = None
        state.walk_bottom = None
        state.filled_through = None
        state.dirty = False
        save_state(conn, state)


def space_label(spaces: Mapping[str, SpaceInfo], space_id: str) -> str:
    """A short human name for a space in progress lines."""
    info = spaces.get(space_id)
    return info.name if info else space_id
