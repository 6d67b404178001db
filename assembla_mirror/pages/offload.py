"""Decoding pages in worker processes, so a fast sync uses more than one core.

With no rate limit (a local simulator, a benchmark) pages arrive faster than
one core can parse and normalize them while also writing them, and threads
cannot help: both halves are Python under one GIL. A :class:`Decoder` hands
each page's bytes to a worker process (``python -m assembla_mirror.pages.offload``)
and gets rows back (:mod:`assembla_mirror.pages.decode` holds both the work and the
wire format).

The workers only ever see response bodies: no credentials (their environment
drops ``ASSEMBLA_*`` and ``PGPASSWORD``), no database. The first starts with the
decoder, others when pages wait for one; they ignore Ctrl-C (the sync handles it) and exit when
their input closes, also when the sync dies.
If a worker cannot start or fails, the page is decoded here instead and so is
every later one: a failing worker can slow a sync, never break it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from assembla_mirror.model.specs import TableSpec
from assembla_mirror.pages.decode import (
    Page,
    answer,
    decode_page,
    from_answer,
    request_bytes,
)

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
#: The kinds of page worth a worker: lists of thousands of rows, a hundred a page.
OFFLOADED = frozenset({"tickets", "tasks"})
#: What a worker's environment never holds: Assembla's credentials and the mirror's
#: database URL (ASSEMBLA_*), a PostgreSQL password.
SECRET_VARIABLES = ("ASSEMBLA_", "PGPASSWORD")
#: The package's parent directory, so a worker imports this very copy of it.
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])


def write_frame(stream: IO[bytes], data: bytes) -> None:
    """Send one length-prefixed message."""
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    """Receive one length-prefixed message; None at a clean end of input."""
    header = stream.read(_LENGTH.size)
    if not header:
        return None
    if len(header) < _LENGTH.size:
        raise EOFError("message header cut short")
    (size,) = _LENGTH.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("message cut short")
    return data


class _Worker:
    """One worker process; used by one thread at a time (the decoder's idle queue sees to it)."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_VARIABLES)}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_IMPORT_ROOT, env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "assembla_mirror.pages.offload"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )

    def call(self, request: bytes) -> bytes:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        write_frame(self.process.stdin, request)
        reply = read_frame(self.process.stdout)
        if reply is None:
            raise EOFError(f"decode worker exited (code {self.process.poll()})")
        return reply

    def peak_rss_kib(self) -> int | None:
        """The worker's peak resident memory (Linux), while it still runs."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def stop(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # the worker's cue to exit
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class Decoder:
    """Decodes pages in up to ``processes`` workers, or in the calling thread when 0.

    Thread-safe: fetch threads call :meth:`decode` concurrently, each waiting
    for an idle worker (the wait releases the GIL, so others run meanwhile).
    """

    def __init__(self, processes: int = 0) -> None:
        self.processes = processes
        self._idle: queue.Queue[_Worker | None] = queue.Queue()
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self._failed = processes <= 0
        #: The workers' highest peak resident memory in KiB, known after :meth:`close`.
        self.worker_peak_rss_kib: int | None = None
        if processes > 0:
            # The first worker starts now: its interpreter boots while the sync
            # lists spaces and members, rather than delaying the first ticket page.
            with self._lock:
                worker = self._spawn()
            if worker is not None:
                self._idle.put(worker)

    @property
    def in_process(self) -> bool:
        """True when pages are decoded in this process (no workers, or they failed)."""
        return self._failed

    def for_table(self, spec: TableSpec, context: Any) -> Callable[[bytes], Page]:
        """A ``decode(content)`` for list answers of ``spec``'s table (see
        :func:`decode.rows_of` for ``context``): in a worker for the large lists
        (:data:`OFFLOADED`), here for the small ones, whose round trip would cost
        more than it saves."""
        if spec.table not in OFFLOADED:
            return lambda content: decode_page(spec, context, content)
        return lambda content: self.decode(spec, context, content)

    def decode(self, spec: TableSpec, context: Any, content: bytes) -> Page:
        """The page ``content`` as rows (raises as :func:`decode.decode_page` does)."""
        worker = None if self._failed else self._take()
        if worker is None:
            return decode_page(spec, context, content)
        try:
            reply = worker.call(request_bytes(spec, context, content))
        except (OSError, EOFError, ValueError) as exc:
            self._fail(f"a decode worker failed ({exc})")
            return decode_page(spec, context, content)
        self._idle.put(worker)
        return from_answer(reply)

    def close(self) -> None:
        """Stop the workers (noting their peak memory first)."""
        with self._lock:
            self._failed = True
            workers, self._workers = self._workers, []
        peaks = [peak for worker in workers if (peak := worker.peak_rss_kib()) is not None]
        if peaks:
            self.worker_peak_rss_kib = max(peaks)
        for worker in workers:
            worker.stop()
        self._idle.put(None)  # wakes anyone still waiting for a worker

    def __enter__(self) -> Decoder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _spawn(self) -> _Worker | None:
        """Start a worker (the caller holds the lock); on failure decode in-process."""
        try:
            worker = _Worker()
        except OSError as exc:
            self._failed = True
            log.warning("decoding in this process: no worker could start (%s)", exc)
            return None
        self._workers.append(worker)
        return worker

    def _take(self) -> _Worker | None:
        with self._lock:
            if not self._failed and len(self._workers) < self.processes and self._idle.empty():
                return self._spawn()
        idle = self._idle.get()
        if idle is None:
            self._idle.put(None)  # pass the news on to the next waiter
        return idle

    def _fail(self, reason: str) -> None:
        with self._lock:
            if not self._failed:
                log.warning("decoding in this process from now on: %s", reason)
            self._failed = True
        self._idle.put(None)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """A worker's loop: answer each request until the input closes."""
    while (request := read_frame(stdin)) is not None:
        write_frame(stdout, answer(request))


def main() -> None:
    """Entry point of a worker process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the sync's to handle
    serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
