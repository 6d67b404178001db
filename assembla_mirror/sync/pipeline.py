"""Concurrent fetching with a single writer.

Worker threads run the fetch side of :class:`FetchJob`s (HTTP, under the
client's shared rate limiter) and hand pages to the calling thread through a
bounded queue; the calling thread writes them, each page together with its
sync state, in transactions of the pages waiting (a few at most). SQLite has one
writer anyway, and the bounded queue keeps memory flat however large the
account: workers wait when the writer is behind.

Threads rather than asyncio: the database layer (sqlite3, SQLAlchemy) and the
CLI are synchronous, and ``Mirror.sync()`` must also work inside Jupyter, where
an event loop is already running. Fetching is I/O-bound, so threads give the
concurrency the rate limit allows; the CPU-bound part of it, parsing ticket and
task pages, can go to worker processes (:mod:`assembla_mirror.pages.offload`).
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine


@dataclass
class FetchJob:
    """One stream of pages: ``fetch`` runs in a worker, ``write``/``finish`` in the writer."""

    name: str
    fetch: Callable[[], Iterator[Any]]
    write: Callable[[Connection, Any], None]
    finish: Callable[[Connection], None] | None = None


Message = tuple[str, FetchJob, Any]
"""What a worker hands the writer: ("page", job, page) or ("done", job, error or None)."""


class Pipeline:
    """Runs fetch jobs on ``workers`` threads and writes their pages on the calling thread."""

    def __init__(
        self,
        engine: Engine,
        *,
        workers: int = 8,
        buffer_pages: int | None = None,
        batch_pages: int = 8,
    ) -> None:
        self.engine = engine
        self.workers = workers
        self.batch_pages = batch_pages
        # Sources of jobs, drawn from in order: a source may be a lazy generator, so
        # thousands of one-request jobs (time logs, comments) take no memory until run.
        self._pending: deque[Iterator[FetchJob]] = deque()
        self._results: queue.Queue[Message] = queue.Queue(maxsize=buffer_pages or workers * 2)
        self._cancel = threading.Event()
        self._running = 0

    @property
    def cancelled(self) -> bool:
        """True once a job failed or the run was interrupted."""
        return self._cancel.is_set()

    def add(self, job: FetchJob) -> None:
        """Queue a job; writers may add jobs while the pipeline runs."""
        self._pending.append(iter((job,)))

    def add_all(self, jobs: Iterable[FetchJob]) -> None:
        """Queue ``jobs``, drawn one at a time as workers free up (pass a generator)."""
        self._pending.append(iter(jobs))

    def add_group(self, jobs: list[FetchJob], then: Callable[[Connection], list[FetchJob]]) -> None:
        """Queue ``jobs``; once all of them finished, queue the jobs ``then`` builds.

        ``then`` runs in the writer, in the transaction of the group's last finish,
        so the follow-up sees what the group wrote; unlike a phase barrier, other
        jobs running meanwhile (say a long stream) do not hold it back.
        """
        remaining = len(jobs)

        def done(conn: Connection) -> None:
            nonlocal remaining
            remaining -= 1
            if remaining == 0:
                for job in then(conn):
                    self.add(job)

        if not jobs:
            with self.engine.begin() as conn:
                for job in then(conn):
                    self.add(job)
            return
        for job in jobs:
            own = job.finish

            def finish(conn: Connection, own: Callable[[Connection], None] | None = own) -> None:
                if own is not None:
                    own(conn)
                done(conn)

            self.add(FetchJob(job.name, job.fetch, job.write, finish))

    def run(self) -> None:
        """Run until every job (including ones added on the way) is fetched and written.

        The first error stops the other jobs after their current page and is
        re-raised here once the workers are quiet; pages already written stay.
        """
        error: BaseException | None = None
        with ThreadPoolExecutor(self.workers, thread_name_prefix="mirror-fetch") as executor:
            try:
                self._start_jobs(executor)
                while self._running:
                    failure = self._write_batch(self._results.get())
                    if failure is not None:
                        raise failure
                    self._start_jobs(executor)
            except BaseException as exc:
                error = exc
                self._cancel.set()
                self._pending.clear()
                self._drain()
        if error is not None:
            raise error

    def _write_batch(self, message: Message) -> BaseException | None:
        """Write ``message`` and up to ``batch_pages - 1`` messages already waiting, in one
        transaction; return a failed fetch's error.

        Every page write carries its own sync state, so a transaction of several
        pages is as consistent as a transaction of one, and much cheaper: SQLite
        writes a dirty index page once per commit however many rows changed it.
        A failed fetch ends the batch, which is committed before the error is raised.
        No message is taken from the queue that the batch does not write: should
        the commit fail (a full disk), a job's "done" taken ahead would be lost,
        and waiting for it would never end.
        """
        with self.engine.begin() as conn:
            for written in range(1, self.batch_pages + 1):
                kind, job, payload = message
                if kind == "page":
                    job.write(conn, payload)
                else:
                    self._running -= 1
                    if isinstance(payload, BaseException):
                        return payload
                    if job.finish is not None:
                        job.finish(conn)
                if written == self.batch_pages:
                    break
                try:
                    message = self._results.get_nowait()
                except queue.Empty:
                    break
        return None

    def _start_jobs(self, executor: ThreadPoolExecutor) -> None:
        while self._pending and self._running < self.workers and not self.cancelled:
            job = next(self._pending[0], None)
            if job is None:
                self._pending.popleft()
                continue
            self._running += 1
            executor.submit(self._work, job)

    def _work(self, job: FetchJob) -> None:
        failure: BaseException | None = None
        try:
            for page in job.fetch():
                if self.cancelled:
                    break
                self._results.put(("page", job, page))
        except BaseException as exc:
            failure = exc
        self._results.put(("done", job, failure))

    def _drain(self) -> None:
        # Let blocked workers finish: discard their pages until every job reported.
        while self._running:
            kind, _job, _payload = self._results.get()
            if kind == "done":
                self._running -= 1
