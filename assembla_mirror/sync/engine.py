"""Running a sync: the order of phases, the run record, the lock.

Phases, each finished before the next starts (inside a phase, jobs run
concurrently; see :mod:`assembla_mirror.sync.pipeline`):

0. full-text indexing of anything a killed run left queued;
1. account: the caller (``/v1/user``) and the spaces list;
2. the activity stream: new events, which mark what changed;
3. whole lists that are due (members, roles, statuses, custom fields, milestones);
4. newest-first walks (tickets, tasks; comments and time logs of changed items
   join on the way); on a first or ``--full`` sync every space is walked whole
   whatever the stream says, so 2 runs alongside 3 and 4, and 4 starts as soon
   as 3 is done;
5. lists a fetched page revealed as stale (a renamed custom field);
6. first fills and reconciliations of the per-item streams (comments,
   associations, time logs), and the walks of links (which ticket carries which
   tag) of the spaces whose tickets changed;
7. full-text indexing of what the run wrote (after 4 and after 6);
8. downloads of new and changed files (``--with files``).

Which streams exist, and how each is listed, is declared once in
:mod:`assembla_mirror.sync.streams`; each phase runs the streams of its kind.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Engine

from assembla_mirror.api.auth import NO_CREDENTIALS
from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import Credentials, load_credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.errors import AuthError, MirrorError
from assembla_mirror.model.columns import format_utc
from assembla_mirror.pages.offload import Decoder
from assembla_mirror.store.checkpoints import load_states
from assembla_mirror.store.database import open_for_sync
from assembla_mirror.store.failures import describe_database_error
from assembla_mirror.store.field_views import refresh_field_views
from assembla_mirror.store.runs import finish_run, get_meta, start_run
from assembla_mirror.store.search import index_pending
from assembla_mirror.store.writes import table_totals
from assembla_mirror.sync import (
    account,
    activity,
    downloads,
    fills,
    history,
    links,
    overall,
    switches,
)
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.declare import LinkWalk, NewestFirst, PerItem, Stream, WholeList
from assembla_mirror.sync.lists import list_job, list_jobs
from assembla_mirror.sync.options import SyncOptions
from assembla_mirror.sync.pipeline import FetchJob, Pipeline
from assembla_mirror.sync.progress import NullProgress, Progress
from assembla_mirror.sync.report import SyncReport
from assembla_mirror.sync.streams import LISTS, STREAMS
from assembla_mirror.sync.walks import walk_jobs

log = logging.getLogger(__name__)
#: Longest error text kept in ``sync_runs`` (an unexpected one may carry a statement).
MAX_ERROR = 2000

TIME_LOGS_SKIPPED = (
    "time logs skipped: they live on Assembla's legacy host, which needs "
    "ASSEMBLA_USERNAME and ASSEMBLA_PASSWORD (or `mirror auth --legacy-login`)"
)


def sync(
    options: SyncOptions,
    settings: ClientSettings | None = None,
    credentials: Credentials | None = None,
    *,
    progress: Progress | None = None,
    transport: httpx.BaseTransport | None = None,
    legacy_transport: httpx.BaseTransport | None = None,
) -> SyncReport:
    """Bring the mirror at ``options.db_path`` up to date with the Assembla account.

    Raises :class:`~assembla_mirror.errors.MirrorError` subclasses for problems
    the user must fix (credentials, a locked or newer database); a run that fails
    midway keeps every page it committed and records the failure in ``sync_runs``.
    """
    settings = settings or ClientSettings.from_env()
    credentials = credentials or load_credentials()
    if not (credentials.has_api_key or credentials.uses_bearer):
        raise AuthError(NO_CREDENTIALS)  # before creating or touching the mirror file
    progress = progress or NullProgress()
    # Under the run lock, taken before the database is even opened (opening migrates).
    with open_for_sync(options.db_path) as engine:
        return _run(options, settings, credentials, progress, engine, transport, legacy_transport)


def _run(
    options: SyncOptions,
    settings: ClientSettings,
    credentials: Credentials,
    progress: Progress,
    engine: Engine,
    transport: httpx.BaseTransport | None,
    legacy_transport: httpx.BaseTransport | None,
) -> SyncReport:
    with database_errors(options.db_path), engine.connect() as conn:
        first = get_meta(conn, "caller_id") is None
    mode = "full" if options.full else "initial" if first else "incremental"
    with database_errors(options.db_path):
        run_id = start_run(engine, mode, run_options(options))
    started = time.monotonic()
    outcome, error = "failed", None
    client: AssemblaClient | None = None
    ctx: SyncContext | None = None
    try:
        client = AssemblaClient(
            settings, credentials, transport=transport, legacy_transport=legacy_transport
        )
        with client, Decoder(decode_processes(options, settings)) as decoder:
            ctx = SyncContext(
                options=options,
                engine=engine,
                client=client,
                pipeline=Pipeline(engine, workers=settings.concurrency),
                progress=progress,
                caller_id="",
                decoder=decoder,
                time_logs_enabled=bool(credentials.username and credentials.password),
                streams=STREAMS,
            )
            forecast = overall.watch(ctx, settings.rate_limit)
            run_phases(ctx)
            forecast.finish()
        outcome = "success"
    except MirrorError as exc:
        error = str(exc)
        raise
    except KeyboardInterrupt:
        outcome, error = "interrupted", "interrupted by the user"
        raise
    except Exception as exc:
        described = describe_database_error(exc, options.db_path)
        if described is None:  # a bug: keep its traceback, but record what it was
            error = f"unexpected error: {type(exc).__name__}: {exc}"[:MAX_ERROR]
            raise
        error = str(described)
        raise described from None
    finally:
        try:
            # Custom fields added, renamed or removed, a space gone: the typed views of
            # custom fields follow, whatever became of the run (nothing when unchanged).
            with engine.begin() as conn:
                refresh_field_views(conn)
        except Exception as exc:
            log.info("could not bring the custom field views up to date: %s", exc)
        try:
            finish_run(
                engine,
                run_id,
                outcome=outcome,
                requests=client.stats.requests if client else 0,
                rows=ctx.counter.as_dict() if ctx else {},
                warnings=ctx.warnings if ctx else [],
                error=error,
            )
        except Exception as exc:
            # A full disk or a lock that failed the run refuses its record too: the run's
            # own error is what the user must see (one line), so this stays in the log.
            log.info("could not record how the run ended: %s", exc)
    return SyncReport(
        run_id=run_id,
        mode=mode,
        outcome=outcome,
        started=ctx.started,
        seconds=time.monotonic() - started,
        requests=client.stats.requests,
        changes=ctx.counter.as_dict(),
        totals=table_totals(engine),
        spaces=[info.name for info in ctx.spaces.values()],
        warnings=ctx.warnings,
        notes=ctx.notes,
    )


@contextmanager
def database_errors(path: str | Path) -> Iterator[None]:
    """Turn a database failure (a lock, a full disk) into its clear message."""
    try:
        yield
    except Exception as exc:
        described = describe_database_error(exc, path)
        if described is None:
            raise
        raise described from None


def decode_processes(options: SyncOptions, settings: ClientSettings) -> int:
    """Worker processes for decoding pages: as asked, else one when it can pay.

    It pays only when nothing paces the requests (a local simulator, a benchmark)
    and a second core exists: at Assembla's 240 requests a minute, decoding takes
    about 3% of one core.
    """
    if options.decode_processes is not None:
        return max(0, options.decode_processes)
    return 1 if settings.rate_limit is None and (os.cpu_count() or 1) > 1 else 0


def run_phases(ctx: SyncContext) -> None:
    """The phases of a sync, in order (see the module docstring)."""
    options, engine = ctx.options, ctx.engine
    index_search(ctx)  # whatever a killed run left queued
    with ThreadPoolExecutor(1) as pool:  # two independent requests at once
        caller = pool.submit(ctx.client.whoami)
        spaces = account.read_spaces(ctx)
        me = caller.result()
    # From here on "now" is the server's: cursors, windows and due dates come from its
    # clock, so a wrong clock on this machine cannot make a run skip changes.
    ctx.started = ctx.client.server_clock.now()
    with engine.begin() as conn:
        ctx.caller_id = account.check_caller(conn, me, ctx.counter)
        account.write_spaces(ctx, conn, spaces)
        switches.remember(options, conn)
        ctx.switched_off = switches.switched_off(ctx, conn)
        if ctx.mirrors(STREAMS["files"]):
            ctx.files_dir = switches.files_folder(options, conn)
    history.read_stored_comments(ctx, engine)
    selected = list(ctx.spaces)
    switches.announce_fill_costs(ctx, selected)
    events = STREAMS["events"]

    def stream_reads(conn: Connection, marks_since: str | None = None) -> list[FetchJob]:
        if not ctx.mirrors(events):
            return []
        return overall.expect(ctx, [activity.activity_job(ctx, conn, marks_since=marks_since)])

    if not ctx.mirrors(events):
        with engine.begin() as conn:
            activity.mark_all(conn, selected)

    def lists(conn: Connection) -> list[FetchJob]:
        return overall.expect(
            ctx,
            [
                job
                for stream in streams_of(ctx, WholeList)
                for job in list_jobs(ctx, conn, stream, selected)
            ],
        )

    def walks(conn: Connection) -> list[FetchJob]:
        overall.anticipate_links(ctx, conn, selected)  # the tags are listed by now
        return overall.expect(
            ctx,
            [
                job
                for stream in streams_of(ctx, NewestFirst)
                for job in walk_jobs(ctx, conn, stream, selected)
            ],
        )

    if activity_decides(ctx, selected):
        run_phase(ctx, stream_reads)
        run_phase(ctx, lists)
        run_phase(ctx, walks)
    else:
        # Every space is walked whole anyway: read the stream meanwhile, and start
        # the walks as soon as the configuration they need is in.
        with engine.connect() as conn:
            reads = stream_reads(conn, marks_since=format_utc(ctx.started))
            refreshes = lists(conn)
        for job in reads:
            ctx.pipeline.add(job)
        ctx.pipeline.add_group(refreshes, walks)
        ctx.pipeline.run()
    index_search(ctx)
    with engine.connect() as conn:
        links.stale_items(ctx, conn, selected)
    run_phase(ctx, lambda conn: stale_list_jobs(ctx))
    run_fills(ctx, selected)
    index_search(ctx)
    if ctx.files_dir is not None:
        downloads.run_downloads(ctx, selected)
    history.report_unreadable(ctx)


def streams_of(ctx: SyncContext, kind: type) -> list[Stream]:
    """The streams listed the ``kind`` way that this run syncs, in declaration order."""
    return [
        stream
        for stream in STREAMS.values()
        if isinstance(stream.listing, kind) and ctx.mirrors(stream)
    ]


def activity_decides(ctx: SyncContext, selected: list[str]) -> bool:
    """Whether this run's walks depend on the activity stream (read it first then).

    A first sync or ``--full`` walks every space whole, so the stream only has to
    be recorded, and can be read while the configuration lists are fetched.
    """
    if ctx.options.full:
        return False
    with ctx.engine.connect() as conn:
        walked = load_states(conn, "tickets")
    return any(space in walked and walked[space].complete_once for space in selected)


def index_search(ctx: SyncContext) -> None:
    """Index the tickets and comments written so far for full-text search, in one pass."""
    with ctx.engine.begin() as conn:
        index_pending(conn)


def run_phase(ctx: SyncContext, make_jobs: Callable[[Connection], list[FetchJob]]) -> None:
    """Build a phase's jobs from the current database state and run them to the end."""
    with ctx.engine.connect() as conn:
        jobs = make_jobs(conn)
    for job in jobs:
        ctx.pipeline.add(job)
    ctx.pipeline.run()


def stale_list_jobs(ctx: SyncContext) -> list[FetchJob]:
    """Refetch the lists that fetched tickets showed to be out of date."""
    return [
        list_job(ctx, STREAMS[name], space_id)
        for space_id, names in ctx.stale.items()
        if space_id in ctx.spaces
        for name in sorted(names)
        if name in LISTS and ctx.mirrors(STREAMS[name])
    ]


def run_fills(ctx: SyncContext, selected: list[str]) -> None:
    """Per-item fetches that cover every item (a first fill or a reconciliation)."""
    if ctx.options.wants("time_logs") and not ctx.time_logs_enabled:
        ctx.note(TIME_LOGS_SKIPPED)
    with ctx.engine.begin() as conn:
        queued = {
            stream.name: fills.fill(ctx, conn, stream, selected)
            for stream in streams_of(ctx, PerItem)
        }
        for stream in streams_of(ctx, LinkWalk):
            queued[stream.name] = links.queue_links(ctx, conn, stream, selected)
    for name, count in queued.items():
        if count:
            ctx.progress.begin(name, name.replace("_", " "), total=count)
    ctx.pipeline.run()
    for name, count in queued.items():
        # Items queued by the walks (changed tickets) are done too: their line is final.
        if count or ctx.queued[name]:
            ctx.progress.end(name)


def run_options(options: SyncOptions) -> dict[str, Any]:
    """The options worth recording in ``sync_runs`` (never credentials)."""
    return {
        "spaces": list(options.spaces),
        "only": sorted(options.only) if options.only else None,
        "full": options.full,
        "with_comments": options.with_comments,
        "with_associations": options.with_associations,
        "with_files": options.with_files,
        "files_dir": str(options.files_dir) if options.files_dir else None,
    }
