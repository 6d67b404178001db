"""The run lock of a mirror in a file: exclusive, and harmless to SQLite's own locks.

SQLite's locks are POSIX locks, which a process loses on a file when it closes
*any* descriptor of it. These tests keep a connection open in this process (as
a program holding ``Mirror("assembla.db")`` while it syncs does) and check that
taking and releasing the run lock leaves that connection's locks in place,
seen from another process.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assembla_mirror.errors import LockedError
from assembla_mirror.store.locks import FileLock

#: Another process opens the file, reads and closes it: the last connection to close
#: checkpoints the write-ahead log and deletes it, unless someone else still has the
#: file open (their shared lock says so).
READ_AND_CLOSE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM t").fetchone()
conn.close()
"""


def read_and_close_elsewhere(path: Path) -> None:
    subprocess.run([sys.executable, "-c", READ_AND_CLOSE, str(path)], check=True, timeout=30)


@pytest.fixture
def open_mirror(tmp_path: Path) -> sqlite3.Connection:
    """A file in WAL mode with an uncheckpointed write, kept open in this process."""
    path = tmp_path / "m.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.execute("SELECT count(*) FROM t").fetchone()
    return conn


def test_another_process_sees_the_open_connection_before_any_run_lock(
    open_mirror: sqlite3.Connection, tmp_path: Path
) -> None:
    wal = tmp_path / "m.db-wal"
    read_and_close_elsewhere(tmp_path / "m.db")
    assert wal.exists()  # the premise of the next tests: the open connection counts


@pytest.mark.parametrize("times", [1, 3])
def test_a_run_lock_taken_and_released_leaves_an_open_connection_its_locks(
    open_mirror: sqlite3.Connection, tmp_path: Path, times: int
) -> None:
    for _ in range(times):
        with FileLock(tmp_path / "m.db"):
            pass
    read_and_close_elsewhere(tmp_path / "m.db")
    assert (tmp_path / "m.db-wal").exists(), "the open connection lost its locks"
    assert open_mirror.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_a_refused_run_lock_leaves_an_open_connection_its_locks(
    open_mirror: sqlite3.Connection, tmp_path: Path
) -> None:
    with FileLock(tmp_path / "m.db"), pytest.raises(LockedError), FileLock(tmp_path / "m.db"):
        pass
    read_and_close_elsewhere(tmp_path / "m.db")
    assert (tmp_path / "m.db-wal").exists(), "the open connection lost its locks"


def test_the_lock_is_exclusive_within_a_process_and_taken_again_after_release(
    tmp_path: Path,
) -> None:
    path = tmp_path / "m.db"
    with FileLock(path), pytest.raises(LockedError, match="already running"), FileLock(path):
        pass
    with FileLock(path):
        pass


#: Exit status 0 when the file's lock is free in another process, 1 when it is held.
TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    sys.exit(1)
"""


def held_elsewhere(path: Path) -> bool:
    return subprocess.run([sys.executable, "-c", TRY_LOCK, str(path)], timeout=30).returncode == 1


def test_a_file_deleted_and_created_anew_is_locked_itself(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    for _ in range(3):  # a new file may reuse the deleted one's inode
        with FileLock(path):
            assert held_elsewhere(path)
        assert not held_elsewhere(path)
        path.unlink()
        path.write_bytes(b"")
