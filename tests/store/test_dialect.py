"""The dialect interface, each member exercised by both dialects on a real database.

Where a member means the same on both databases the test is parametrized over them
(``mirror_db``) and spells the member ``dialect.NAME``; where it differs (how an
engine is set up, the copy before a migration, what ``migrating`` guards, what the
run lock is, where a database may be written) each dialect has its own test,
spelling the member ``SQLITE.NAME`` or ``POSTGRESQL.NAME``. The last test checks
that every public member of both is named here.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError, IntegrityError

from assembla_mirror.errors import ConfigError, LockedError, SchemaError, StorageError
from assembla_mirror.model.tables import Base
from assembla_mirror.store.backends import dialect_for, dialect_of
from assembla_mirror.store.database import head_revision, open_db
from assembla_mirror.store.dialect import Contents, Dialect
from assembla_mirror.store.postgres import POSTGRESQL, lock_key
from assembla_mirror.store.sqlite import SQLITE
from assembla_mirror.store.target import DatabaseTarget, database_target
from tests.expected import Db, reading
from tests.store.test_db_open import frozen, other_application
from tests.store.test_open_for_sync import nothing_created
from tests.store.test_postgres import other_application_in_schema, server_url
from tests.support import fresh_postgres_mirror

TIMEOUT_MS = 2_000


def mirror_with_a_space(db: Db | DatabaseTarget) -> DatabaseTarget:
    """A mirror at head at ``db`` (either database), with one space."""
    target = database_target(db)
    engine = open_db(target)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'One', '{}')"))
    engine.dispose()
    return target


@pytest.fixture
def target(mirror_db: str) -> DatabaseTarget:
    """A mirror at head, on each database, with one space."""
    return mirror_with_a_space(mirror_db)


@pytest.fixture
def dialect(target: DatabaseTarget) -> Dialect:
    """The dialect of this run's database."""
    return dialect_for(target)


@pytest.fixture
def engine(target: DatabaseTarget, dialect: Dialect) -> Iterator[Engine]:
    engine = dialect.create_engine(target, busy_timeout_ms=TIMEOUT_MS)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_target(tmp_path: Path) -> DatabaseTarget:
    """A mirror at head in a file, with one space (for what only SQLite does)."""
    return mirror_with_a_space(tmp_path / "m.db")


@pytest.fixture
def sqlite_engine(sqlite_target: DatabaseTarget) -> Iterator[Engine]:
    engine = SQLITE.create_engine(sqlite_target, busy_timeout_ms=TIMEOUT_MS)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_target() -> Iterator[DatabaseTarget]:
    """A mirror at head in a schema of its own, with one space (for what only
    PostgreSQL does); skipped without a server."""
    with fresh_postgres_mirror() as url:
        yield mirror_with_a_space(url)


@pytest.fixture
def postgres_engine(postgres_target: DatabaseTarget) -> Iterator[Engine]:
    engine = POSTGRESQL.create_engine(postgres_target, busy_timeout_ms=TIMEOUT_MS)
    yield engine
    engine.dispose()


def add_ticket(engine: Engine, ticket_id: int, space: str, summary: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO tickets (id, space_id, number, summary, raw_json) "
                "VALUES (:id, :space, :id, :summary, '{}')"
            ),
            {"id": ticket_id, "space": space, "summary": summary},
        )


def ids(engine: Engine, table: str = "spaces") -> list[str]:
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(text(f"SELECT id FROM {table} ORDER BY id"))]


# --- choosing a dialect ---------------------------------------------------------------


def test_the_dialect_comes_from_the_url_or_the_connection(
    target: DatabaseTarget, engine: Engine, dialect: Dialect, backend: str
) -> None:
    assert dialect is {"sqlite": SQLITE, "postgresql": POSTGRESQL}[backend]
    assert dialect_of(engine) is dialect
    assert dialect.name == engine.dialect.name == backend
    with engine.connect() as conn:
        assert dialect_of(conn) is dialect


def test_urls_choose_their_dialect(tmp_path: Path) -> None:
    assert dialect_for(database_target(f"sqlite:///{tmp_path}/m.db")) is SQLITE
    assert dialect_for(database_target(tmp_path / "m.db")) is SQLITE
    for url in ("postgresql://u@h/db", "postgresql+psycopg://u@h/db?schema=m1"):
        assert dialect_for(database_target(url)) is POSTGRESQL
    elsewhere = DatabaseTarget(URL.create("mysql", database="x"), "mysql://x")
    with pytest.raises(ConfigError, match="cannot use a mysql database"):
        dialect_for(elsewhere)


# --- opening --------------------------------------------------------------------------


def test_a_mirror_exists_once_created_and_contents_change_nothing(mirror_db: str) -> None:
    new = database_target(mirror_db)
    dialect = dialect_for(new)
    assert not dialect.exists(new)
    if new.backend == "sqlite":
        new.sqlite_file().touch()  # as the run lock leaves it: there, but empty
    for readonly in (False, True):
        assert dialect.contents(new, readonly=readonly, busy_timeout_ms=TIMEOUT_MS) == Contents()
    assert nothing_created(mirror_db)  # looking wrote nothing, not even a schema

    mirror_with_a_space(new)
    assert dialect.exists(new)
    contents = dialect.contents(new, readonly=False, busy_timeout_ms=TIMEOUT_MS)
    assert contents.revision == head_revision()
    assert {"spaces", "tickets", "hours_by_space", "alembic_version"} <= contents.names
    assert dialect.contents(new, readonly=True, busy_timeout_ms=TIMEOUT_MS) == contents


def test_contents_show_another_applications_tables(tmp_path: Path, backend: str) -> None:
    if backend == "sqlite":
        shop = database_target(tmp_path / "shop.db")
        other_application(shop.sqlite_file())
        before = shop.sqlite_file().read_bytes()
        found = SQLITE.contents(shop, readonly=False, busy_timeout_ms=TIMEOUT_MS)
        assert sorted(os.listdir(tmp_path)) == ["shop.db"]  # no -wal or -shm left behind
        assert shop.sqlite_file().read_bytes() == before
    else:
        with fresh_postgres_mirror() as url:
            shop = database_target(url)
            other_application_in_schema(url)
            found = POSTGRESQL.contents(shop, readonly=False, busy_timeout_ms=TIMEOUT_MS)
            assert POSTGRESQL.exists(shop)  # there is something: opening will refuse it
    assert found == Contents(None, frozenset({"users", "orders"}))


def test_a_sqlite_engine_sets_every_connection_up(sqlite_target: DatabaseTarget) -> None:
    engine = SQLITE.create_engine(sqlite_target, busy_timeout_ms=1234)
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in (
                "busy_timeout",
                "foreign_keys",
                "journal_mode",
                "synchronous",
                "wal_autocheckpoint",
            )
        }
    engine.dispose()
    assert pragma == {
        "busy_timeout": 1234,
        "foreign_keys": 1,
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "wal_autocheckpoint": SQLITE.WAL_CHECKPOINT_PAGES,
    }


def settings(engine: Engine, names: tuple[str, ...]) -> dict[str, str]:
    with engine.connect() as conn:
        return {name: str(conn.exec_driver_sql(f"SHOW {name}").scalar()) for name in names}


def test_a_postgres_engine_sets_every_connection_up(postgres_target: DatabaseTarget) -> None:
    names = (
        "search_path",
        "lock_timeout",
        "synchronous_commit",
        "application_name",
        "default_transaction_read_only",
    )
    engine = POSTGRESQL.create_engine(postgres_target, busy_timeout_ms=1234)
    readonly = POSTGRESQL.create_engine(postgres_target, busy_timeout_ms=1234, readonly=True)
    try:
        writer, reader = settings(engine, names), settings(readonly, names)
    finally:
        engine.dispose()
        readonly.dispose()
    # the mirror's schema first (the store's SQL names none), the lock wait bounded
    assert writer == {
        "search_path": postgres_target.schema,
        "lock_timeout": "1234ms",
        "synchronous_commit": "off",
        "application_name": "assembla-mirror",
        "default_transaction_read_only": "off",
    }
    assert reader["default_transaction_read_only"] == "on"
    assert reader["search_path"] == postgres_target.schema


def test_ddl_happens_in_a_real_transaction(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
        assert "scratch" in inspect(conn).get_table_names()
        conn.rollback()
    with engine.connect() as conn:
        assert "scratch" not in inspect(conn).get_table_names()


def test_a_readonly_engine_only_reads_and_a_refused_write_is_described(
    target: DatabaseTarget, dialect: Dialect
) -> None:
    engine = dialect.create_engine(target, busy_timeout_ms=TIMEOUT_MS, readonly=True)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM spaces")).all() == [("One",)]
            with pytest.raises(DBAPIError, match=r"read-only|readonly") as caught:
                conn.execute(text("DELETE FROM spaces"))
    finally:
        engine.dispose()
    described = dialect.describe_error(caught.value, target)
    assert isinstance(described, StorageError)
    assert described.reason == "readonly"
    assert f"cannot write {target}" in str(described)
    assert dialect.describe_error(ValueError("a bug"), target) is None


def test_sqlite_is_writable_where_the_file_is(
    sqlite_target: DatabaseTarget, tmp_path: Path
) -> None:
    assert SQLITE.writable(sqlite_target)
    assert SQLITE.writable(database_target(tmp_path / "not-yet.db"))
    with frozen(sqlite_target.sqlite_file()):
        assert not SQLITE.writable(sqlite_target)


def test_postgres_leaves_writability_to_the_server(postgres_target: DatabaseTarget) -> None:
    # No file to look at: the server refuses a write, which describe_error then explains.
    assert POSTGRESQL.writable(postgres_target)


def test_text_sorts_by_code_point(engine: Engine) -> None:
    # Reports list names in the same order on both: SQLite's BINARY, PostgreSQL's "C",
    # whatever the database's own collation would say.
    names = ["b", "B", "a", "A", "é", "e", "Z", "z", "_", "10", "9"]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO spaces (id, name, raw_json) VALUES (:id, :name, '{}')"),
            [{"id": f"x{i}", "name": name} for i, name in enumerate(names)],
        )
        found = [row[0] for row in conn.execute(text("SELECT name FROM spaces ORDER BY name"))]
    assert found == sorted([*names, "One"])


# --- creating and migrating ------------------------------------------------------------


def test_sqlite_creates_a_mirror_by_replaying_its_migrations(sqlite_engine: Engine) -> None:
    assert not SQLITE.creates_at_head
    with sqlite_engine.connect() as conn, pytest.raises(NotImplementedError):
        SQLITE.create_at_head(conn)


def test_postgres_creates_a_mirror_at_head_in_the_callers_transaction() -> None:
    assert POSTGRESQL.creates_at_head
    with fresh_postgres_mirror() as url:
        target = database_target(url)
        engine = POSTGRESQL.create_engine(target, busy_timeout_ms=TIMEOUT_MS)
        try:
            with engine.connect() as conn:
                POSTGRESQL.create_at_head(conn)
                tables = set(inspect(conn).get_table_names())
                assert set(Base.metadata.tables) | POSTGRESQL.internal_tables(conn) <= tables
                conn.rollback()
        finally:
            engine.dispose()
        assert nothing_created(url)  # the schema itself went with the transaction


def test_sqlite_backup_is_a_consistent_copy_beside_the_file(
    sqlite_target: DatabaseTarget, sqlite_engine: Engine
) -> None:
    with sqlite_engine.begin() as conn:  # committed to the WAL only: the copy must hold it too
        conn.execute(text("UPDATE spaces SET name = 'In the WAL'"))
    copy = SQLITE.backup(sqlite_target, "0042", busy_timeout_ms=TIMEOUT_MS)
    assert copy.parent == sqlite_target.sqlite_file().parent
    assert copy.name.startswith("m.db.bak-")
    assert copy.name.endswith("-0042")
    with sqlite3.connect(copy) as backup:
        assert backup.execute("SELECT name FROM spaces").fetchall() == [("In the WAL",)]
    backup.close()


def test_postgres_keeps_no_copy_before_a_migration(postgres_target: DatabaseTarget) -> None:
    # A migration is one transaction there (tests/store/test_postgres.py shows a failed
    # one leaving nothing behind); backups are pg_dump's.
    kept = POSTGRESQL.backup(postgres_target, "0007", busy_timeout_ms=TIMEOUT_MS)  # type: ignore[func-returns-value]
    assert kept is None


def migrate_to_a_dangling_reference(conn: Connection) -> None:
    with SQLITE.migrating(conn):  # the check runs as the block ends
        conn.execute(text("INSERT INTO tasks (id, space_id, raw_json) VALUES (1, 'gone', '{}')"))
        conn.commit()


def test_sqlite_migrating_switches_foreign_keys_off_and_checks_them_after(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.connect() as conn, SQLITE.migrating(conn):
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.rollback()
        with pytest.raises(SchemaError, match="dangling foreign keys"):
            migrate_to_a_dangling_reference(conn)
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_postgres_migrating_keeps_foreign_keys_enforced(postgres_engine: Engine) -> None:
    # PostgreSQL alters tables in place: nothing to switch off, nothing to check after.
    with postgres_engine.connect() as conn, POSTGRESQL.migrating(conn):
        with pytest.raises(IntegrityError, match="foreign key"):
            conn.execute(
                text("INSERT INTO tasks (id, space_id, raw_json) VALUES (1, 'gone', '{}')")
            )
        conn.rollback()
    assert ids(postgres_engine, "tasks") == []


def test_the_run_lock_is_exclusive_and_released(target: DatabaseTarget, dialect: Dialect) -> None:
    with (
        dialect.run_lock(target),
        pytest.raises(LockedError, match="already running"),
        dialect.run_lock(target),
    ):
        pass
    with dialect.run_lock(target):
        pass


def advisory_locks() -> set[int]:
    """The keys of the advisory locks granted on the test server's database now."""
    with reading(server_url()) as conn:
        rows = conn.execute(
            text(
                "SELECT classid::bigint, objid::bigint FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        # a bigint key shows as its high and low 32 bits
        keys = {(high << 32) | low for high, low in rows}
    return {key - (1 << 64) if key >= 1 << 63 else key for key in keys}  # signed, as locked


def test_the_postgres_run_lock_is_an_advisory_lock_per_schema(
    postgres_target: DatabaseTarget,
) -> None:
    key = lock_key(postgres_target.schema)
    with POSTGRESQL.run_lock(postgres_target):
        assert key in advisory_locks()
        with fresh_postgres_mirror() as elsewhere:  # another mirror of the same database
            other = database_target(elsewhere)
            assert lock_key(other.schema) != key
            with POSTGRESQL.run_lock(other):
                pass
    assert key not in advisory_locks()


# --- writing --------------------------------------------------------------------------


def test_a_statement_may_hold_max_parameters(engine: Engine, dialect: Dialect) -> None:
    count = dialect.max_parameters
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if isinstance(raw, sqlite3.Connection):  # this build's limit, at least ours
            assert raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) >= count
        sql = f"SELECT count(*) FROM spaces WHERE id IN ({dialect.placeholders(count)})"
        assert conn.exec_driver_sql(sql, tuple(str(i) for i in range(count))).scalar() == 0


def test_insert_upsert_and_insert_new_statements(
    engine: Engine, dialect: Dialect, backend: str
) -> None:
    columns, key = ("id", "name", "raw_json"), ("id",)
    assert dialect.placeholders(3) == {"sqlite": "?,?,?", "postgresql": "%s,%s,%s"}[backend]
    with engine.begin() as conn:
        conn.exec_driver_sql(dialect.insert_sql("spaces", columns), [("s2", "Two", "{}")])
        with pytest.raises(IntegrityError), dialect.refusable(conn):
            conn.exec_driver_sql(dialect.insert_sql("spaces", columns), ("s2", "Again", "{}"))
        conn.exec_driver_sql(dialect.upsert_sql("spaces", columns, key), ("s2", "Renamed", "{1}"))
        conn.exec_driver_sql(dialect.insert_new_sql("spaces", columns, key), ("s2", "No", "{}"))
        conn.exec_driver_sql(dialect.insert_new_sql("spaces", columns, key), ("s3", "Three", "{}"))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name, raw_json FROM spaces ORDER BY id")).all()
    assert rows == [("s1", "One", "{}"), ("s2", "Renamed", "{1}"), ("s3", "Three", "{}")]


def test_new_ids_continue_past_ids_inserted_as_given(engine: Engine, dialect: Dialect) -> None:
    # As a copy inserts run records with their ids; the next run must not reuse one.
    columns = ["id", "started_at", "outcome", "mode", "requests"]
    columns += ["rows_json", "options_json", "warnings_json"]
    run = ("2026-01-01 00:00:00", "success", "full", 0, "{}", "{}", "[]")
    with engine.begin() as conn:
        dialect.continue_ids(conn, "sync_runs", "id")  # an empty table: nothing to pass
        dialect.insert_rows(conn, "sync_runs", columns, [(7, *run), (3, *run)])
        dialect.continue_ids(conn, "sync_runs", "id")
        conn.execute(
            text(
                "INSERT INTO sync_runs (started_at, outcome, mode, requests, rows_json, "
                "options_json, warnings_json) VALUES (:at, 'running', 'full', 0, '{}', '{}', '[]')"
            ),
            {"at": "2026-01-02 00:00:00"},
        )
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM sync_runs ORDER BY id")).scalars().all()
    assert ids == [3, 7, 8]


def test_insert_rows_stores_any_text_and_refuses_a_stored_key(
    engine: Engine, dialect: Dialect, backend: str
) -> None:
    # PostgreSQL's is COPY: tabs, newlines, backslashes and NULLs are its syntax.
    columns = ("id", "name", "wiki_name", "raw_json")
    awkward = "tab\there\nnew line \\N back\\slash \\. é 🎉"
    with engine.begin() as conn:
        dialect.insert_rows(
            conn, "spaces", columns, [("s2", awkward, None, "{}"), ("s3", "", "\\N", "{}")]
        )
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name, wiki_name FROM spaces ORDER BY id")).all()
    assert rows == [("s1", "One", None), ("s2", awkward, None), ("s3", "", "\\N")]

    with engine.begin() as conn:
        with pytest.raises(IntegrityError), dialect.refusable(conn):
            dialect.insert_rows(
                conn, "spaces", columns, [("s4", "Four", None, "{}"), ("s1", "Dup", None, "{}")]
            )
        dialect.insert_rows(conn, "spaces", columns, [("s5", "After", None, "{}")])
    # SQLite inserts row by row and keeps the rows before the refused one; PostgreSQL's
    # COPY is one statement, undone whole
    kept = ["s4"] if backend == "sqlite" else []
    assert ids(engine) == ["s1", "s2", "s3", *kept, "s5"]


def test_a_refused_statement_leaves_the_transaction_usable(
    engine: Engine, dialect: Dialect, backend: str
) -> None:
    insert = dialect.insert_sql("spaces", ("id", "name", "raw_json"))
    with engine.begin() as conn:
        conn.exec_driver_sql(insert, ("s2", "Before", "{}"))
        with pytest.raises(IntegrityError), dialect.refusable(conn):
            conn.exec_driver_sql(insert, [("s3", "Batch", "{}"), ("s1", "Duplicate", "{}")])
        conn.exec_driver_sql(insert, ("s4", "After", "{}"))
    # SQLite undid only the refused row's statement: the batch's first row stays;
    # PostgreSQL's savepoint undid the whole batch
    kept = ["s3"] if backend == "sqlite" else []
    assert ids(engine) == ["s1", "s2", *kept, "s4"]


def test_refused_columns_are_read_from_the_refusal(engine: Engine, dialect: Dialect) -> None:
    ticket_columns = ("id", "space_id", "number", "summary", "milestone_id", "raw_json")
    add_ticket(engine, 1, "s1", "first")
    reasons = []
    for sql in (
        "INSERT INTO tickets (id, space_id, number, raw_json) VALUES (2, 's1', 1, '{}')",
        "INSERT INTO tickets (id, space_id, number, raw_json) VALUES (3, 's1', NULL, '{}')",
        "INSERT INTO tickets (id, space_id, number, raw_json) VALUES (4, 'nowhere', 4, '{}')",
    ):
        with engine.begin() as conn, pytest.raises(IntegrityError) as caught:
            conn.execute(text(sql))
        reasons.append(str(caught.value.orig))
    unique, not_null, foreign = reasons
    assert dialect.refused_columns(unique, "tickets", ticket_columns) == ["space_id", "number"]
    assert dialect.refused_columns(not_null, "tickets", ticket_columns) == ["number"]
    assert dialect.refused_columns(foreign, "tickets", ticket_columns) == ["space_id"]


# --- searching ------------------------------------------------------------------------


def test_queued_rows_are_indexed_and_matched(engine: Engine, dialect: Dialect) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s2', 'Two', '{}')"))
    add_ticket(engine, 1, "s1", "Menu of the Café")
    add_ticket(engine, 2, "s2", "cafeteria opening hours")
    add_ticket(engine, 3, "s1", "nothing to see")
    with engine.begin() as conn:
        insert_new = dialect.insert_new_sql("search_pending", ("source", "id"), ("source", "id"))
        conn.exec_driver_sql(insert_new, [("tickets", 1), ("tickets", 2), ("tickets", 3)])
        assert dialect.index_queued(conn, "tickets", ("summary", "description")) == 3
        hits = dialect.matching_tickets(conn, ["cafe"], 10, [])
        assert sorted(hit[0] for hit in hits) == [1, 2]
        assert all("[" in hit[5] for hit in hits)  # the snippet marks the words
        assert [hit[0] for hit in dialect.matching_tickets(conn, ["cafe"], 10, ["s2"])] == [2]
        assert len(dialect.matching_tickets(conn, ["cafe"], 1, [])) == 1
        assert dialect.matching_tickets(conn, ["cafe", "hours"], 10, [])[0][:4] == (
            2,
            "s2",
            "Two",
            2,
        )
        assert dialect.matching_tickets(conn, ['"OR"'], 10, []) == []  # typed syntax is text


def test_contains_is_a_case_sensitive_substring_test(engine: Engine, dialect: Dialect) -> None:
    def holds(haystack: str, needle: str) -> bool:
        sql = f"SELECT CASE WHEN {dialect.contains(':h', ':n')} THEN 1 ELSE 0 END"
        with engine.connect() as conn:
            return bool(conn.execute(text(sql), {"h": haystack, "n": needle}).scalar())

    assert holds("検索フォーム", "フォーム")
    assert holds("party 🎉 time", "🎉")
    assert holds("100% sure_", "% sure_")  # no pattern characters
    assert not holds("Café", "café")
    assert not holds("abc", "abd")
    assert not holds("100 x sure", "% sure")


def test_internal_tables_are_the_full_text_machinery(engine: Engine, dialect: Dialect) -> None:
    with engine.connect() as conn:
        internal = dialect.internal_tables(conn)
        tables = set(inspect(conn).get_table_names())
    assert {"tickets_fts", "ticket_comments_fts"} <= internal <= tables
    assert not internal & {"tickets", "ticket_comments", "search_pending", "spaces"}
    assert not internal & set(Base.metadata.tables)


def test_sqlite_internal_tables_include_fts5_shadow_tables(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert "tickets_fts_data" in SQLITE.internal_tables(conn)


# --- expressions ----------------------------------------------------------------------


def test_week_start_is_the_monday_of_the_week(engine: Engine, dialect: Dialect) -> None:
    moments = [
        datetime(2026, 3, 1, 23, 59, 59) + timedelta(hours=7 * i) for i in range(60)
    ]  # across weeks, months and a year's end
    moments += [datetime(2025, 12, 29, 0, 0, 0), datetime(2027, 1, 3, 12, 0, 0)]
    sql = f"SELECT {dialect.week_start(':at')}"
    with engine.connect() as conn:
        for moment in moments:
            got = conn.execute(text(sql), {"at": moment.strftime("%Y-%m-%d %H:%M:%S")}).scalar()
            monday = moment.date() - timedelta(days=moment.weekday())
            assert got == monday.isoformat(), moment


def test_today_is_the_utc_date(engine: Engine, dialect: Dialect) -> None:
    before = datetime.now(UTC).date()
    with engine.connect() as conn:
        today = conn.execute(text(f"SELECT {dialect.today()}")).scalar()
    after = datetime.now(UTC).date()
    assert isinstance(today, str)
    assert date.fromisoformat(today) in (before, after)


def test_rounded_is_a_float_of_so_many_decimals(engine: Engine, dialect: Dialect) -> None:
    with engine.connect() as conn:
        for number, digits, expected in ((7.583333, 2, 7.58), (2.0 / 3, 3, 0.667), (41.5, 0, 42)):
            sql = f"SELECT {dialect.rounded(':n', digits)}"
            got = conn.execute(text(sql), {"n": number}).scalar()
            assert isinstance(got, float)  # not PostgreSQL's Decimal
            assert got == expected
        total = f"SELECT {dialect.rounded('SUM(x)', 1)} FROM (SELECT 1.25 AS x UNION ALL SELECT 2)"
        assert conn.execute(text(total + " AS t")).scalar() == 3.3


def test_seconds_between_is_whole_seconds(engine: Engine, dialect: Dialect) -> None:
    pairs = [
        ("2024-01-01 00:00:00", "2024-01-01 00:00:18", 18),
        ("2024-02-28 23:59:59", "2024-03-01 00:00:00", 86_401),  # across a leap day
        ("2024-12-31 12:00:00", "2025-01-01 12:00:00", 86_400),
        ("2024-01-02 00:00:00", "2024-01-01 00:00:00", -86_400),
    ]
    sql = f"SELECT {dialect.seconds_between(':start', ':end')}"
    with engine.connect() as conn:
        for start, end, expected in pairs:
            got = conn.execute(text(sql), {"start": start, "end": end}).scalar()
            assert isinstance(got, int), (start, end)  # not a float, nor a Decimal
            assert got == expected, (start, end)
        assert conn.execute(text(sql), {"start": None, "end": pairs[0][1]}).scalar() is None


def test_next_day_is_the_date_after(engine: Engine, dialect: Dialect) -> None:
    sql = f"SELECT {dialect.next_day(':day')}"
    with engine.connect() as conn:
        for day in ("2024-02-28", "2024-02-29", "2023-02-28", "2024-12-31", "2026-03-08"):
            got = conn.execute(text(sql), {"day": day}).scalar()
            assert got == (date.fromisoformat(day) + timedelta(days=1)).isoformat(), day


def test_date_value_is_the_databases_date(engine: Engine, dialect: Dialect) -> None:
    sql = f"SELECT {dialect.date_value(':day')}"
    with engine.connect() as conn:
        got = conn.execute(text(sql), {"day": "2024-02-29"}).scalar()
    # a date where the database has the type; the ISO text where dates are text
    expected = date(2024, 2, 29) if dialect.name == "postgresql" else "2024-02-29"
    assert got == expected


@pytest.mark.parametrize("spelled", ["SQLITE", "POSTGRESQL"])
def test_every_member_is_exercised_here(spelled: str) -> None:
    instance = {"SQLITE": SQLITE, "POSTGRESQL": POSTGRESQL}[spelled]
    members = {name for name in dir(instance) if not name.startswith("_")}
    source = Path(__file__).read_text("utf-8")
    missed = {
        name
        for name in members
        if f"{spelled}.{name}" not in source and f"dialect.{name}" not in source
    }
    assert missed == set()
