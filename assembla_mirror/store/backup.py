"""The copy of a mirror kept before its schema is upgraded.

A backup is ``<file>.bak-<UTC time>-<revision>`` beside the file: a consistent
copy made with SQLite's backup API (WAL included), written under a temporary
name and renamed, so a crash never leaves half a backup under a backup's name.
Only the newest backup per revision is kept: a migration that keeps failing
(say under a 15-minute cron) would otherwise fill the disk with identical copies.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import tempfile
from contextlib import closing, suppress
from datetime import UTC, datetime
from pathlib import Path


def write_backup(file: Path, revision: str | None, *, timeout: float) -> Path:
    """Back up the database ``file`` (absolute) at ``revision``; return the copy's path.

    ``timeout`` is how long to wait, in seconds, for a writer's lock on ``file``.
    Once the copy is in place, older backups of ``file`` at the same revision are
    deleted. On failure nothing is left behind and older backups are kept.
    """
    label = revision or "unversioned"
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    final = file.with_name(f"{file.name}.bak-{stamp}-{label}")
    handle, temporary = tempfile.mkstemp(
        prefix=f".{file.name}.bak-", suffix=".partial", dir=file.parent
    )
    os.close(handle)
    try:
        # As private as the mirror itself (mkstemp makes it 0600).
        os.chmod(temporary, stat.S_IMODE(file.stat().st_mode))
        with (
            closing(sqlite3.connect(file, timeout=timeout)) as source,
            closing(sqlite3.connect(temporary)) as copy,
        ):
            source.backup(copy)
        os.replace(temporary, final)
    except BaseException:
        for leftover in (temporary, f"{temporary}-journal"):
            with suppress(FileNotFoundError):
                os.unlink(leftover)
        raise
    _sync_directory(file.parent)
    prune_backups(file, label, keep=final)
    return final


def prune_backups(file: Path, label: str, *, keep: Path) -> None:
    """Delete the backups of ``file`` at revision ``label`` other than ``keep``."""
    # Matched literally: a glob would read "?" or "[" in the file's name as wildcards.
    pattern = re.compile(re.escape(file.name) + r"\.bak-\d{8}-\d{6}-" + re.escape(label))
    for entry in os.scandir(file.parent):
        if entry.name != keep.name and pattern.fullmatch(entry.name) and entry.is_file():
            with suppress(FileNotFoundError):
                os.unlink(entry.path)


def _sync_directory(directory: Path) -> None:
    # Make the rename durable before the older backups go.
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open a directory
        return
    try:
        os.fsync(descriptor)
    except OSError:  # pragma: no cover - some file systems refuse; the rename still stands
        pass
    finally:
        os.close(descriptor)
