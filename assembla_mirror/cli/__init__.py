"""Command-line interface: ``mirror <command>``. See :mod:`assembla_mirror.cli.base`.

Each command module registers its commands on :data:`cli` when imported.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any, NoReturn, TextIO, cast

from assembla_mirror.cli import api, db, flow, simulate, sync, use  # noqa: F401  (registers commands)
from assembla_mirror.cli.base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point.

    Standard output that cannot be written ends the command with one line on
    stderr (``cannot write the output: No space left on device``) and status 1;
    a reader that went away (``mirror status | head -1``) ends it quietly, also
    with status 1. Never a traceback, nor Python's "Exception ignored" at exit.
    """
    real_stdout = sys.stdout
    watched = WatchedOutput(real_stdout)
    sys.stdout = cast(TextIO, watched)
    try:
        try:
            cli(prog_name="mirror")
        finally:
            # Output still buffered would otherwise fail in the interpreter's
            # final flush, where nothing can report it cleanly.
            watched.flush()
    except OSError:
        if watched.failure is None:  # not about standard output: not ours to word
            raise
        give_up_output(real_stdout, watched.failure)
    finally:
        sys.stdout = real_stdout


class WatchedOutput:
    """Standard output that remembers a failed write, so :func:`main` can tell an
    unwritable output (a full disk, a closed pipe) from any other ``OSError``.

    Everything but writing and flushing is the wrapped stream's own.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.failure: OSError | None = None

    def write(self, text: str) -> int:
        """Write to the stream, remembering a failure."""
        try:
            return self.stream.write(text)
        except OSError as exc:
            self.failure = exc
            raise

    def flush(self) -> None:
        """Flush the stream, remembering a failure."""
        try:
            self.stream.flush()
        except OSError as exc:
            self.failure = exc
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def give_up_output(stdout: TextIO, failure: OSError) -> NoReturn:
    """Say (unless the reader closed the pipe) that the output failed, and exit 1."""
    try:
        # Point the descriptor at /dev/null: the interpreter's last flush of
        # what is still buffered then succeeds instead of printing an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no descriptor: nothing will flush it at exit either
        pass
    if failure.errno != errno.EPIPE:  # a closed pipe is the reader's choice, not an error
        reason = failure.strerror or str(failure)
        with contextlib.suppress(OSError):  # stderr may be just as unwritable
            print(f"Error: cannot write the output: {reason}", file=sys.stderr, flush=True)
    sys.exit(1)
