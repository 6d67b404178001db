"""Downloading the files' bytes (``--with files``), the last fetching phase of a run.

After the documents lists are walked, every file of the selected spaces with no
download recorded, or one of another version or ``updated_at``, or whose bytes
went missing from the folder, is downloaded: how many and their declared size
are said first, then they come on the pipeline's worker threads, each one
streamed to its ``.part`` (:mod:`assembla_mirror.api.downloads`). The writer
moves each finished one into the folder and records it in one transaction
(:mod:`.blobs`), so a run killed at any instant leaves recorded files whole
and the rest resumable: the next run downloads only what is not recorded, and
resumes the ``.part`` files it finds.

A file whose download Assembla answers 404 was deleted upstream since it was
listed: it leaves the mirror at once. A file that cannot be had (a broken
presigned storage link, a refused redirect, a server that keeps failing) is a
warning naming it, and is tried again next run; after
:data:`FAILURES_IN_A_ROW` such failures in a row the other files wait for the
next run too. Bytes no recorded file names any more (their files were
deleted, or replaced by a new version) are removed at the end.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import Connection

from assembla_mirror.api.downloads import Downloaded, Downloader, DownloadError
from assembla_mirror.errors import ApiError, ForbiddenError, NotFoundError
from assembla_mirror.store import files, lookups
from assembla_mirror.store.files import FileToFetch
from assembla_mirror.sync.blobs import BlobFolder, writing
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.declare import Download
from assembla_mirror.sync.pipeline import FetchJob
from assembla_mirror.sync.report import format_bytes

log = logging.getLogger(__name__)

TABLE = "attachment_files"
PROGRESS = "files"
#: Failed downloads in a row after which the rest wait for the next run: when every
#: file fails (a storage host down, links all broken) there is no point in trying all.
FAILURES_IN_A_ROW = 10


@dataclass(frozen=True)
class Failed:
    """A file that could not be downloaded, and why (the message names it)."""

    message: str


@dataclass(frozen=True)
class Gone:
    """A file Assembla no longer has (its download answered 404): deleted upstream."""


class Tally:
    """Outcomes as the writer records them, and whether to start more downloads."""

    def __init__(self) -> None:
        self.in_a_row = 0
        self.started = 0

    @property
    def stopped(self) -> bool:
        """Whether too many downloads failed in a row to start more."""
        return self.in_a_row >= FAILURES_IN_A_ROW

    def record(self, ok: bool) -> None:
        """Count one finished download."""
        self.in_a_row = 0 if ok else self.in_a_row + 1


def run_downloads(ctx: SyncContext, space_ids: Sequence[str]) -> None:
    """Download the new and changed files of ``space_ids`` into ``ctx.files_dir``, then
    remove the bytes no recorded file names (nothing happens when it is None)."""
    if ctx.files_dir is None:
        return
    folder = BlobFolder(ctx.files_dir)
    with ctx.engine.connect() as conn:
        pending = files_to_fetch(conn, folder, space_ids)
    folder.prepare({folder.part(item.id, item.version) for item in pending})
    if pending:
        announce(ctx, pending)
        tally = Tally()
        ctx.progress.begin(PROGRESS, "files", total=len(pending))
        with Downloader(ctx.client) as downloader:
            ctx.pipeline.add_all(jobs(ctx, downloader, folder, pending, tally))
            ctx.pipeline.run()
        ctx.progress.end(PROGRESS)
        if tally.stopped and tally.started < len(pending):
            ctx.warn(
                f"files: {tally.in_a_row} downloads failed in a row, so the other "
                f"{len(pending) - tally.started:,} files wait for the next run"
            )
    with ctx.engine.connect() as conn:
        referenced = files.referenced_hashes(conn)
    removed = folder.sweep(referenced)
    if removed:
        log.info("removed %d stored files no file of the mirror names any more", removed)


def files_to_fetch(
    conn: Connection, folder: BlobFolder, space_ids: Sequence[str]
) -> list[FileToFetch]:
    """The files to download: new or changed ones, and recorded ones whose bytes are
    missing from the folder (removed by hand, or a folder restored from a backup)."""
    pending = files.pending_files(conn, space_ids)
    missing = [
        attachment_id
        for attachment_id, sha256, size in files.recorded_files(conn, space_ids)
        if not folder.holds(sha256, size)
    ]
    if missing:
        known = {item.id for item in pending}
        found = files.files_by_id(conn, [key for key in missing if key not in known])
        pending = sorted([*pending, *found], key=lambda item: item.id)
    return pending


def announce(ctx: SyncContext, pending: list[FileToFetch]) -> None:
    """Say how many files are to come, and their size, before any is downloaded."""
    declared = sum(item.filesize or 0 for item in pending)
    unknown = sum(item.filesize is None for item in pending)
    size = format_bytes(declared) + (f", and {unknown:,} of unknown size" if unknown else "")
    ctx.note(f"files: {len(pending):,} to download ({size}) into {ctx.files_dir}")


def jobs(
    ctx: SyncContext,
    downloader: Downloader,
    folder: BlobFolder,
    pending: list[FileToFetch],
    tally: Tally,
) -> Iterator[FetchJob]:
    """One job per file, made as workers free up, until too many failed in a row."""
    for item in pending:
        if tally.stopped:
            return
        tally.started += 1
        yield download_job(ctx, downloader, folder, item, tally)


def label_of(item: FileToFetch) -> str:
    """How messages name a file."""
    return f"file {item.shown_name!r} ({item.id})"


def download_job(
    ctx: SyncContext, downloader: Downloader, folder: BlobFolder, item: FileToFetch, tally: Tally
) -> FetchJob:
    """Download one file to its ``.part`` (worker), then store and record it (writer)."""
    part = folder.part(item.id, item.version)
    declared = ctx.streams["files"].listing
    assert isinstance(declared, Download)
    path = declared.path.format(space=quote(item.space_id, safe=""), id=quote(item.id, safe=""))
    label = label_of(item)

    def fetch() -> Iterator[Downloaded | Failed | Gone]:
        outcome: Downloaded | Failed | Gone
        with writing(part):
            try:
                outcome = downloader.download(path, part, label=label, declared=item.filesize)
            except DownloadError as exc:  # it names the file
                outcome = Failed(str(exc))
            except NotFoundError:
                outcome = Gone()
            except (ApiError, ForbiddenError) as exc:  # it names the request
                outcome = Failed(f"{label}: {exc}")
        yield outcome

    def write(conn: Connection, outcome: Downloaded | Failed | Gone) -> None:
        if isinstance(outcome, Failed):
            ctx.warn(f"{outcome.message} (it is tried again next run)")
        elif isinstance(outcome, Gone):  # deleted upstream since it was listed: so here too
            deleted = lookups.delete_in_space(conn, "attachments", item.id, item.space_id)
            ctx.counter.add("attachments", deleted=deleted)
        else:
            folder.store(part, outcome.sha256, outcome.size)
            now = ctx.client.server_clock.now()
            new = files.record_download(conn, item, outcome.sha256, outcome.size, now)
            ctx.counter.add(TABLE, inserted=int(new), updated=int(not new))
        tally.record(not isinstance(outcome, Failed))
        ctx.progress.advance(PROGRESS, 1)

    return FetchJob(f"files:{item.id}", fetch, write)
