"""The files folder: downloaded bytes stored once per content, and downloads in progress.

::

    <files dir>/ab/ab12...ef          the bytes whose SHA-256 is ab12...ef (any number of
                                      files, in any spaces, may share them)
    <files dir>/tmp/<id>.<version>.part   a download in progress, resumed by the next
                                      attempt or run (the version in the name: bytes of
                                      another version are never resumed into this one)

A download is moved into place (an atomic rename in the same folder tree) in the
transaction that records it, so whatever instant a run is killed at, a recorded
file's bytes are there; bytes no recorded file names any more are removed by
:meth:`BlobFolder.sweep` once that is committed. The folder belongs to one mirror.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from assembla_mirror.errors import StorageError

TMP = "tmp"
PART = ".part"
#: An id safe to use as a file name as it is (Assembla's ids are 22 such characters).
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
BLOB = re.compile(r"^[0-9a-f]{64}$")
FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
READONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


def folder_error(exc: OSError, path: Path) -> StorageError:
    """A clear :class:`StorageError` for a file of the folder that cannot be written."""
    if exc.errno in FULL:
        reason, what = "full", "the disk is full (or a quota is reached)"
    elif exc.errno in READONLY:
        reason, what = "readonly", "it may not be written (permissions or a read-only disk)"
    else:
        reason, what = "io", exc.strerror or type(exc).__name__
    return StorageError(
        f"cannot write the files folder at {path}: {what}", path=str(path), reason=reason
    )


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn an OSError on ``path`` into its :func:`folder_error`."""
    error: StorageError | None = None
    try:
        yield
    except OSError as exc:
        error = folder_error(exc, path)
    if error is not None:
        raise error


class BlobFolder:
    """The files folder at ``root`` (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp = self.root / TMP

    def blob(self, sha256: str) -> Path:
        """Where the bytes with this SHA-256 are stored."""
        return self.root / sha256[:2] / sha256

    def holds(self, sha256: str, size: int) -> bool:
        """Whether the bytes with this SHA-256 are stored whole."""
        try:
            return self.blob(sha256).stat().st_size == size
        except OSError:
            return False

    def part(self, attachment_id: str, version: int | None) -> Path:
        """Where the download of this version of a file is in progress."""
        name = attachment_id if SAFE_ID.match(attachment_id) else _digest(attachment_id)
        return self.tmp / f"{name}.{version if version is not None else 0}{PART}"

    def prepare(self, keep: Collection[Path]) -> None:
        """Make the folder, and remove downloads in progress that nothing will resume
        (of a file deleted since, or of an older version)."""
        with writing(self.tmp):
            self.tmp.mkdir(parents=True, exist_ok=True)
            for found in self.tmp.iterdir():
                if found.name.endswith(PART) and found not in keep:
                    found.unlink(missing_ok=True)

    def store(self, part: Path, sha256: str, size: int) -> None:
        """Move a finished download into place (or drop it: the same bytes are there)."""
        target = self.blob(sha256)
        with writing(target):
            if self.holds(sha256, size):
                part.unlink(missing_ok=True)
                return
            target.parent.mkdir(exist_ok=True)
            os.replace(part, target)

    def sweep(self, referenced: Collection[str]) -> int:
        """Remove stored bytes whose SHA-256 is not in ``referenced``; how many went.

        Only names this folder gives are touched: a file someone else put there stays.
        """
        removed = 0
        if not self.root.is_dir():
            return 0
        with writing(self.root):
            for bucket in self.root.iterdir():
                if len(bucket.name) != 2 or not bucket.is_dir():
                    continue
                for found in bucket.iterdir():
                    name = found.name
                    if BLOB.match(name) and name[:2] == bucket.name and name not in referenced:
                        found.unlink(missing_ok=True)
                        removed += 1
        return removed


def _digest(text: str) -> str:
    """A file name standing for an id that cannot be one itself."""
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:32]
