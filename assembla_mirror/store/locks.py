"""The run lock of a database kept in a file: an OS advisory lock (``flock``) on the file.

Only one sync may write a mirror at a time. For a database in a file the lock
is ``flock`` on the file itself: the kernel releases it when the process dies,
even by SIGKILL, and it does not interfere with SQLite's own locking, so
readers are unaffected. (A database server would use its own advisory lock;
see :meth:`assembla_mirror.store.dialect.Dialect.run_lock`.)
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from assembla_mirror.errors import ConfigError, LockedError, StorageError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; runs go unguarded there
    fcntl = None  # type: ignore[assignment]


class FileLock:
    """Exclusive, non-blocking lock on a database file for the duration of a sync.

    Creates the file (empty) when it does not exist yet, so that the lock is
    taken before anything creates the database in it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def __enter__(self) -> FileLock:
        if not self.path.parent.is_dir():
            raise ConfigError(
                f"cannot create {self.path}: directory {self.path.parent} does not exist"
            )
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open {self.path} to lock it: {exc.strerror}") from None
        if fcntl is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(self._fd)
                self._fd = None
                raise LockedError(
                    f"another `mirror sync` is already running on {self.path}; "
                    "wait for it to finish (readers are not affected)"
                ) from None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            if fcntl is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
