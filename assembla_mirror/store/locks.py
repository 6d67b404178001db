"""The run lock of a database kept in a file: an OS advisory lock (``flock``) on the file.

Only one sync may write a mirror at a time. For a database in a file the lock
is ``flock`` on the file itself: the kernel releases it when the process dies,
even by SIGKILL, and it does not interfere with SQLite's own locking, so
readers are unaffected. (A database server would use its own advisory lock;
see :meth:`assembla_mirror.store.dialect.Dialect.run_lock`.)

The descriptor a lock was taken on is never closed, only unlocked: closing any
descriptor of a file drops every POSIX lock the process holds on it, SQLite's
own among them. A program that keeps a mirror open (``Mirror("assembla.db")``)
while it syncs would otherwise lose its connection's locks when the sync ends,
and another process could then checkpoint and delete the write-ahead log under
it: a corrupt file. One descriptor per file is kept for the life of the process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType

from assembla_mirror.errors import ConfigError, LockedError, StorageError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; runs go unguarded there
    fcntl = None  # type: ignore[assignment]

#: A file's identity: (device, inode).
FileId = tuple[int, int]

_guard = threading.Lock()
#: The descriptor kept open for each file this process has locked.
_descriptors: dict[FileId, int] = {}
#: The files locked in this process now (``flock`` on one descriptor cannot tell).
_held: set[FileId] = set()


class FileLock:
    """Exclusive, non-blocking lock on a database file for the duration of a sync.

    Creates the file (empty) when it does not exist yet, so that the lock is
    taken before anything creates the database in it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: FileId | None = None

    def __enter__(self) -> FileLock:
        if not self.path.parent.is_dir():
            raise ConfigError(
                f"cannot create {self.path}: directory {self.path.parent} does not exist"
            )
        with _guard:
            file, descriptor = self._descriptor()
            if file in _held:
                raise self._locked()
            if fcntl is not None:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise self._locked() from None
            _held.add(file)
        self._file = file
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._file is None:
            return
        with _guard:
            if fcntl is not None:
                fcntl.flock(_descriptors[self._file], fcntl.LOCK_UN)
            _held.discard(self._file)
        self._file = None

    def _descriptor(self) -> tuple[FileId, int]:
        """The file's kept descriptor, opening (and keeping) one the first time."""
        try:
            known = os.stat(self.path)
        except OSError:
            pass
        else:
            file = (known.st_dev, known.st_ino)
            kept = _descriptors.get(file)
            if kept is not None:
                if os.fstat(kept).st_nlink > 0:
                    return file, kept
                # That file was deleted and its inode reused: nobody can reach it by
                # name, so its locks no longer matter.
                os.close(kept)
        try:
            descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open {self.path} to lock it: {exc.strerror}") from None
        opened = os.fstat(descriptor)
        file = (opened.st_dev, opened.st_ino)
        # Should a descriptor of this file have appeared meanwhile, both stay open.
        _descriptors[file] = descriptor
        return file, descriptor

    def _locked(self) -> LockedError:
        return LockedError(
            f"another `mirror sync` is already running on {self.path}; "
            "wait for it to finish (readers are not affected)"
        )
