"""Opening the mirror's file: what is opened, what is refused, and how failures read.

The tests work on real SQLite files: paths, files that are not a mirror, backups,
locks, full disks and read-only files are a file's matters (what PostgreSQL refuses
and how its failures read is in tests/store/test_postgres.py). Finding a mirror, or
not, runs on both databases. Where a file or directory must be read-only even for
root, ``frozen`` uses ``chattr +i`` (``chmod`` when not root) and skips the test
where neither is possible.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.exc import DatabaseError

import assembla_mirror.store.backup
import assembla_mirror.store.database
from assembla_mirror.errors import ConfigError, SchemaError, StorageError
from assembla_mirror.store.database import (
    alembic_config,
    create_sqlite_engine,
    current_revision,
    head_revision,
    mirror_exists,
    open_db,
    open_existing,
    open_readonly,
    set_foreign_keys,
)
from assembla_mirror.store.failures import describe_database_error
from assembla_mirror.store.target import database_target
from assembla_mirror.sync.plan import planning_engine

# --- helpers ---------------------------------------------------------------------


def mirror_at(path: Path, revision: str) -> None:
    """A mirror at an older schema ``revision``, with one space in it."""
    engine = create_sqlite_engine(path)
    with engine.connect() as connection:
        set_foreign_keys(connection, enabled=False)
        command.upgrade(alembic_config(connection), revision)
        connection.commit()
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'Old space', '{}')"
        )
    engine.dispose()


def mirror_with_a_space(path: Path) -> None:
    """A mirror at head with one space in it, closed cleanly (no -wal/-shm left)."""
    engine = open_db(path)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'Read me', '{}')"
        )
    engine.dispose()


def backups(directory: Path) -> list[str]:
    return sorted(name for name in os.listdir(directory) if ".bak-" in name)


@contextmanager
def frozen(path: Path) -> Iterator[None]:
    """Make ``path`` (a file or a directory) unwritable, for root too, or skip the test."""
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("root, and chattr is not available to make a file read-only")
        if subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode:
            pytest.skip("chattr +i is not permitted here (capability or file system)")
        undo = [chattr, "-i", str(path)]
    else:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        undo = []
    try:
        if os.access(path, os.W_OK):
            pytest.skip(f"{path} could not be made read-only")
        yield
    finally:
        if undo:
            subprocess.run(undo, check=True)
        else:
            path.chmod(mode)


def run_child(script: str, *args: str) -> dict[str, str]:
    """Run ``script`` in a fresh interpreter; it prints one JSON object as its last line."""
    process = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    result: dict[str, str] = json.loads(process.stdout.strip().splitlines()[-1])
    return result


# A child that opens a mirror under a file size limit (RLIMIT_FSIZE), as a full
# disk would stop it: Python ignores SIGXFSZ, so writes past the limit fail with EFBIG.
LIMITED_OPEN = """
    import json, resource, sys
    from assembla_mirror.store.database import open_db
    from assembla_mirror.errors import MirrorError

    limit = int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    try:
        open_db(sys.argv[1]).dispose()
        result = {"outcome": "opened"}
    except MirrorError as exc:
        result = {
            "outcome": type(exc).__name__,
            "reason": getattr(exc, "reason", ""),
            "message": str(exc),
        }
    print(json.dumps(result))
"""


# --- 1. a path is a path; a URL is a URL ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "not_created"),
    [
        ("weird?name.db", "weird"),
        ("pct%20name.db", "pct name.db"),
        ("hash#name.db", "hash"),
        ("file:uri.db", "uri.db"),
    ],
)
def test_a_path_is_taken_literally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, not_created: str
) -> None:
    monkeypatch.chdir(tmp_path)
    open_db(name).dispose()
    assert sorted(os.listdir(tmp_path)) == [name]
    assert not (tmp_path / not_created).exists()
    # every way of opening it finds that same file again
    engine = open_existing(name)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    engine = open_readonly(name)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert create_sqlite_engine(name).url.database == str(tmp_path / name)


def test_a_sqlite_url_is_opened_as_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    open_db(f"sqlite:///{tmp_path}/absolute.db").dispose()  # sqlite:////tmp/...: absolute
    assert (tmp_path / "absolute.db").is_file()
    monkeypatch.chdir(tmp_path)
    open_db("sqlite:///relative.db").dispose()
    assert (tmp_path / "relative.db").is_file()
    # in a URL, percent-escapes are URL syntax
    open_db("sqlite:///with%20space.db").dispose()
    assert (tmp_path / "with space.db").is_file()
    assert database_target("sqlite+pysqlite:///relative.db").file == tmp_path / "relative.db"
    # a Path is always a path
    assert database_target(Path("sqlite:x.db")).file == tmp_path / "sqlite:x.db"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql+pymysql://mirror:s3cret@db.example/mirror", "cannot use a mysql database"),
        ("postgresql+asyncpg://mirror:s3cret@db.example/mirror", "driver is not supported"),
        ("postgresql://mirror:s3cret@db.example", "names no database"),
        ("postgresql://mirror:s3cret@db.example/m?schema=Bad-Name", "must be a plain name"),
        ("sqlite+aiosqlite:///x.db", "driver is not supported"),
        ("sqlite:///x.db?mode=ro&uri=true", "path only"),
        ("sqlite://mirror:s3cret@host/x.db", "path only"),
        ("://nothing", "cannot be parsed"),
    ],
)
def test_other_databases_and_odd_urls_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message) as caught:
        open_db(value)
    assert "s3cret" not in str(caught.value)
    assert os.listdir(tmp_path) == []


# --- 2. nowhere to keep a mirror ------------------------------------------------------


@pytest.mark.parametrize("value", [":memory:", "sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    for opener in (open_db, open_existing, open_readonly, create_sqlite_engine):
        with pytest.raises(ConfigError, match=":memory: would keep the mirror nowhere"):
            opener(value)
    with pytest.raises(ConfigError, match="nowhere"), planning_engine(value):
        pass
    assert os.listdir(tmp_path) == []


def test_a_reader_never_creates_a_missing_mirror(mirror_db: str) -> None:
    for opener in (open_existing, open_readonly):
        with pytest.raises(ConfigError, match="no mirror at") as caught:
            opener(mirror_db)
        assert str(database_target(mirror_db)) in str(caught.value)
    assert not mirror_exists(mirror_db)  # a typo in a path quietly creates nothing
    open_db(mirror_db).dispose()
    assert mirror_exists(mirror_db)
    for opener in (open_existing, open_readonly):  # and every opener finds it then
        engine = opener(mirror_db)
        assert current_revision(engine) == head_revision()
        engine.dispose()


def test_an_empty_path_is_refused() -> None:
    with pytest.raises(ConfigError, match="no database given"):
        open_db("")


@pytest.mark.parametrize(("where", "kind"), [("/dev/null", "a device"), ("dir", "a directory")])
def test_something_that_is_not_a_regular_file_is_refused(
    tmp_path: Path, where: str, kind: str
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    path = Path(where) if where.startswith("/") else scratch
    if not path.exists():  # pragma: no cover - a system without /dev/null
        pytest.skip(f"{path} does not exist here")
    for opener in (open_db, open_existing, open_readonly):
        with pytest.raises(ConfigError, match=f"is {kind}, not a file"):
            opener(path)
    with pytest.raises(ConfigError, match=kind), planning_engine(path):
        pass
    assert os.listdir(scratch) == []  # no -wal, -shm or backup beside it either
    # and a symbolic link to one is no better
    (scratch / "link.db").symlink_to(path)
    with pytest.raises(ConfigError, match=kind):
        open_db(scratch / "link.db")


# --- 3. another application's database ----------------------------------------------


def other_application(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)")
        connection.execute("INSERT INTO users (email) VALUES ('someone@example.com')")
    connection.close()


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    other_application(path)
    before = path.read_bytes()
    for _ in range(3):  # every run says the same and writes nothing
        for opener in (open_db, open_existing, open_readonly):
            with pytest.raises(SchemaError, match="not an assembla-mirror database") as caught:
                opener(path)
            assert str(path) in str(caught.value)
    with pytest.raises(SchemaError, match="not an assembla-mirror database"), planning_engine(path):
        pass
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["shop.db"]  # no backup, no -wal/-shm


def test_another_applications_alembic_database_is_not_called_a_newer_mirror(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('1975c2b2a7e4')")
        connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(SchemaError, match="not an assembla-mirror database"):
        open_db(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["app.db"]


def test_an_empty_file_becomes_a_new_mirror(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.touch()  # as the sync lock creates it
    engine = open_db(path)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert backups(tmp_path) == []


# --- 4. backups -----------------------------------------------------------------------


class QuarterHourClock:
    """Stands in for ``datetime`` where backups are stamped: each call is a cron run later."""

    now_value = datetime(2026, 1, 1, tzinfo=UTC)

    @classmethod
    def now(cls, tz: object = None) -> datetime:
        cls.now_value += timedelta(minutes=15)
        return cls.now_value


def test_a_migration_that_keeps_failing_keeps_one_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.db"
    mirror_at(path, "0001")
    # backups that must survive: another revision of this file, the same revision of another
    (tmp_path / "old.db.bak-20250101-000000-0000").write_bytes(b"older revision")
    (tmp_path / "other.db.bak-20250101-000000-0001").write_bytes(b"another file")
    monkeypatch.setattr(assembla_mirror.store.backup, "datetime", QuarterHourClock)

    def broken_upgrade(*args: object, **kwargs: object) -> None:
        raise RuntimeError("migration 0002 failed")

    monkeypatch.setattr(command, "upgrade", broken_upgrade)
    for _ in range(4):
        with pytest.raises(RuntimeError, match="0002 failed"):
            open_db(path)

    mine = [name for name in backups(tmp_path) if name.startswith("old.db.bak-") and "0001" in name]
    assert mine == ["old.db.bak-20260101-010000-0001"]  # the fourth run's, the newest
    assert (tmp_path / "old.db.bak-20250101-000000-0000").exists()
    assert (tmp_path / "other.db.bak-20250101-000000-0001").exists()
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".partial")]
    with sqlite3.connect(tmp_path / mine[0]) as copy:
        assert copy.execute("SELECT name FROM spaces").fetchall() == [("Old space",)]
    copy.close()
    assert current_revision(create_sqlite_engine(path)) == "0001"

    monkeypatch.undo()  # the fixed migration then runs, keeping the newest 0001 copy
    engine = open_db(path)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    assert len([name for name in backups(tmp_path) if name.startswith("old.db.bak-")]) == 2


def test_a_backup_cut_short_leaves_nothing_under_a_backup_name(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    mirror_at(path, "0001")
    with sqlite3.connect(path) as connection:  # make the copy larger than the limit below
        connection.execute("UPDATE spaces SET raw_json = ?", ("x" * 400_000,))
    connection.close()
    before = path.read_bytes()

    result = run_child(LIMITED_OPEN, str(path), str(128 * 1024))

    assert result["outcome"] == "StorageError", result
    assert result["reason"] in ("full", "io")
    assert str(path) in result["message"]
    assert "ulimit -f" in result["message"]
    assert backups(tmp_path) == []  # neither a half copy nor its temporary file
    assert path.read_bytes() == before


# --- 5. errors a user can meet, in one message naming the file ---------------------


def test_opening_a_mirror_another_program_is_writing_to_says_it_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assembla_mirror.store.database, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "old.db"
    mirror_at(path, "0001")  # the upgrade on open needs the write lock
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StorageError, match="is locked: another program") as caught:
            open_db(path)
        assert time.monotonic() - started < 5  # the busy timeout applies
        assert caught.value.reason == "locked"
        assert str(path) in str(caught.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    engine = open_db(path)  # once the lock is gone the upgrade goes through
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_creating_a_mirror_in_a_file_another_program_holds_says_it_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assembla_mirror.store.database, "BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        for opener in (open_db, open_existing):
            with pytest.raises(StorageError, match="is locked") as caught:
                opener(path)
            assert caught.value.path == str(path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_disk_that_fills_up_while_creating_a_mirror_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    result = run_child(LIMITED_OPEN, str(path), str(64 * 1024))
    assert result["outcome"] == "StorageError", result
    assert result["reason"] in ("full", "io")
    assert f"on {path}" in result["message"] or f"write {path}" in result["message"]
    assert "ulimit -f" in result["message"]


def test_a_full_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x)")
        connection.execute("PRAGMA max_page_count = 4")
        with pytest.raises(sqlite3.OperationalError, match="full") as caught:
            connection.execute("INSERT INTO t VALUES (?)", ("x" * 100_000,))
    connection.close()
    described = describe_database_error(caught.value, str(path))
    assert isinstance(described, StorageError)
    assert described.reason == "full"
    assert str(described).startswith(f"cannot write {path}: the disk is full")


def test_a_readonly_mirror_is_refused_for_writing_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    mirror_at(path, "0001")
    before = path.read_bytes()
    with frozen(path):
        for opener in (open_db, open_existing):  # open_existing: it needs an upgrade
            with pytest.raises(StorageError, match="it is read-only") as caught:
                opener(path)
            assert caught.value.reason == "readonly"
            assert str(path) in str(caught.value)
        assert backups(tmp_path) == []
    assert path.read_bytes() == before


def test_a_mirror_cannot_be_created_in_a_readonly_directory(tmp_path: Path) -> None:
    directory = tmp_path / "locked-down"
    directory.mkdir()
    with frozen(directory), pytest.raises(StorageError, match="cannot open") as caught:
        open_db(directory / "m.db")
    assert caught.value.reason == "unopenable"
    assert str(directory / "m.db") in str(caught.value)


def test_a_write_through_a_readonly_connection_is_described(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    open_db(path).dispose()
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError, match="readonly") as caught:
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    described = describe_database_error(caught.value, str(path))
    assert isinstance(described, StorageError)
    assert described.reason == "readonly"
    assert f"cannot write {path}: it is read-only" in str(described)


def test_a_file_that_is_not_a_database_is_described_through_sqlalchemy(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 500)
    engine = create_engine(f"sqlite:///{path}")
    with pytest.raises(DatabaseError) as caught, engine.connect() as connection:
        connection.exec_driver_sql("SELECT * FROM sqlite_master").fetchall()
    engine.dispose()
    described = describe_database_error(caught.value, str(path))
    assert isinstance(described, SchemaError)
    assert str(described) == f"{path} is not a usable SQLite database: file is not a database"


@pytest.mark.parametrize(
    ("error", "reason", "text"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "full", "no space left"),
        (OSError(errno.EFBIG, "File too large"), "full", "file size limit"),
        (PermissionError(errno.EACCES, "Permission denied"), "readonly", "read-only"),
        (OSError(errno.EROFS, "Read-only file system"), "readonly", "read-only"),
        (OSError(errno.EIO, "Input/output error"), "io", "disk I/O error"),
        (sqlite3.OperationalError("disk I/O error"), "io", "disk I/O error"),
        (sqlite3.OperationalError("database is locked"), "locked", "is locked"),
        (sqlite3.OperationalError("unable to open database file"), "unopenable", "cannot open"),
    ],
)
def test_os_and_sqlite_errors_are_described(error: OSError, reason: str, text: str) -> None:
    described = describe_database_error(error, "/srv/mirror.db")
    assert isinstance(described, StorageError)
    assert described.reason == reason
    assert text in str(described)
    assert "/srv/mirror.db" in str(described)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("not a database problem"),
        sqlite3.IntegrityError("UNIQUE constraint failed: spaces.id"),
        sqlite3.OperationalError("no such table: spaces"),
        FileNotFoundError(errno.ENOENT, "No such file or directory"),
    ],
)
def test_other_errors_are_left_alone(error: BaseException) -> None:
    assert describe_database_error(error, "/srv/mirror.db") is None


# --- 6. a dry run on a mirror in a read-only location ----------------------------


def test_a_dry_run_reads_a_wal_mirror_in_a_readonly_directory(tmp_path: Path) -> None:
    directory = tmp_path / "published"
    directory.mkdir()
    path = directory / "m.db"
    mirror_with_a_space(path)
    assert os.listdir(directory) == ["m.db"]  # a clean close removed -wal and -shm
    with frozen(directory):  # so SQLite cannot create the -shm a WAL reader needs
        with planning_engine(path) as engine, engine.connect() as connection:
            # the mirror itself, not the empty stand-in a plan uses for a missing one
            names = connection.exec_driver_sql("SELECT name FROM spaces").fetchall()
            assert names == [("Read me",)]
        assert os.listdir(directory) == ["m.db"]


def test_a_dry_run_reads_the_wal_of_a_running_sync_in_a_readonly_directory(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "published"
    directory.mkdir()
    path = directory / "m.db"
    mirror_with_a_space(path)
    writer = open_db(path)
    with writer.begin() as connection:  # committed to the WAL, not yet to the file
        connection.exec_driver_sql(
            "INSERT INTO spaces (id, name, raw_json) VALUES ('s2', 'Fresh', '{}')"
        )
    try:
        with frozen(directory), open_readonly(path).connect() as connection:
            names = connection.exec_driver_sql("SELECT name FROM spaces ORDER BY id").fetchall()
            assert names == [("Read me",), ("Fresh",)]
    finally:
        writer.dispose()


def test_a_readonly_mirror_whose_wal_was_never_applied_is_refused_clearly(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "published"
    directory.mkdir()
    path = directory / "m.db"
    mirror_with_a_space(path)
    # a sync killed before a checkpoint: its last pages are only in the -wal file
    run_child(
        """
        import os, sys, json
        from assembla_mirror.store.database import open_db
        engine = open_db(sys.argv[1])
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO spaces (id, name, raw_json) VALUES ('s2', 'Unapplied', '{}')"
            )
        print(json.dumps({}), flush=True)
        os._exit(0)
        """,
        str(path),
    )
    assert (directory / "m.db-wal").stat().st_size > 0
    (directory / "m.db-shm").unlink()
    with frozen(directory), pytest.raises(StorageError, match="write-ahead log"):
        open_readonly(path)
