"""The dialect interface, each member exercised by the SQLite dialect on a real file."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, OperationalError

from assembla_mirror.errors import ConfigError, LockedError, SchemaError
from assembla_mirror.store.backends import dialect_for, dialect_of
from assembla_mirror.store.database import head_revision, open_db
from assembla_mirror.store.dialect import Contents
from assembla_mirror.store.sqlite import SQLITE
from assembla_mirror.store.target import DatabaseTarget, database_target
from tests.store.test_db_open import frozen, other_application

TIMEOUT_MS = 2_000


@pytest.fixture
def target(tmp_path: Path) -> DatabaseTarget:
    """A mirror at head, in a file, with one space."""
    target = database_target(tmp_path / "m.db")
    engine = open_db(target)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'One', '{}')"))
    engine.dispose()
    return target


@pytest.fixture
def engine(target: DatabaseTarget) -> Iterator[Engine]:
    engine = SQLITE.create_engine(target, busy_timeout_ms=TIMEOUT_MS)
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


# --- choosing a dialect ---------------------------------------------------------------


def test_the_dialect_comes_from_the_url_or_the_connection(
    target: DatabaseTarget, engine: Engine
) -> None:
    assert dialect_for(target) is SQLITE
    assert dialect_for(database_target(f"sqlite:///{target.sqlite_file()}")) is SQLITE
    assert dialect_of(engine) is SQLITE
    assert SQLITE.name == engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        assert dialect_of(conn) is SQLITE
    elsewhere = DatabaseTarget(URL.create("mysql", database="x"), "mysql://x")
    with pytest.raises(ConfigError, match="cannot use a mysql database"):
        dialect_for(elsewhere)


# --- opening --------------------------------------------------------------------------


def test_contents_reads_without_changing_anything(target: DatabaseTarget, tmp_path: Path) -> None:
    before = target.sqlite_file().read_bytes()
    contents = SQLITE.contents(target, readonly=False, busy_timeout_ms=TIMEOUT_MS)
    assert contents.revision == head_revision()
    assert {"spaces", "tickets", "hours_by_space", "alembic_version"} <= contents.names
    assert sorted(os.listdir(tmp_path)) == ["m.db"]  # no -wal or -shm left behind
    assert SQLITE.contents(target, readonly=True, busy_timeout_ms=TIMEOUT_MS) == contents
    assert target.sqlite_file().read_bytes() == before

    new = database_target(tmp_path / "new.db")
    new.sqlite_file().touch()  # as the run lock leaves it
    assert SQLITE.contents(new, readonly=False, busy_timeout_ms=TIMEOUT_MS) == Contents()
    shop = database_target(tmp_path / "shop.db")
    other_application(shop.sqlite_file())
    assert SQLITE.contents(shop, readonly=False, busy_timeout_ms=TIMEOUT_MS) == Contents(
        None, frozenset({"users", "orders"})
    )


def test_an_engine_sets_every_connection_up(target: DatabaseTarget) -> None:
    engine = SQLITE.create_engine(target, busy_timeout_ms=1234)
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


def test_ddl_happens_in_a_real_transaction(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
        conn.rollback()
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'scratch'"))
        assert tables.all() == []


def test_a_readonly_engine_only_reads(target: DatabaseTarget) -> None:
    engine = SQLITE.create_engine(target, busy_timeout_ms=TIMEOUT_MS, readonly=True)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT name FROM spaces")).all() == [("One",)]
            with pytest.raises(OperationalError, match="readonly"):
                conn.execute(text("DELETE FROM spaces"))
    finally:
        engine.dispose()


def test_writable(target: DatabaseTarget, tmp_path: Path) -> None:
    assert SQLITE.writable(target)
    assert SQLITE.writable(database_target(tmp_path / "not-yet.db"))
    with frozen(target.sqlite_file()):
        assert not SQLITE.writable(target)


# --- migrating ------------------------------------------------------------------------


def test_backup_is_a_consistent_copy_beside_the_file(
    target: DatabaseTarget, engine: Engine
) -> None:
    with engine.begin() as conn:  # committed to the WAL only: the copy must hold it too
        conn.execute(text("UPDATE spaces SET name = 'In the WAL'"))
    copy = SQLITE.backup(target, "0042", busy_timeout_ms=TIMEOUT_MS)
    assert copy.parent == target.sqlite_file().parent
    assert copy.name.startswith("m.db.bak-")
    assert copy.name.endswith("-0042")
    with sqlite3.connect(copy) as backup:
        assert backup.execute("SELECT name FROM spaces").fetchall() == [("In the WAL",)]
    backup.close()


def migrate_to_a_dangling_reference(conn: Connection) -> None:
    with SQLITE.migrating(conn):  # the check runs as the block ends
        conn.execute(text("INSERT INTO tasks (id, space_id, raw_json) VALUES (1, 'gone', '{}')"))
        conn.commit()


def test_migrating_switches_foreign_keys_off_and_checks_them_after(engine: Engine) -> None:
    with engine.connect() as conn, SQLITE.migrating(conn):
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.rollback()
        with pytest.raises(SchemaError, match="dangling foreign keys"):
            migrate_to_a_dangling_reference(conn)
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_run_lock_is_exclusive_and_released(target: DatabaseTarget) -> None:
    with (
        SQLITE.run_lock(target),
        pytest.raises(LockedError, match="already running"),
        SQLITE.run_lock(target),
    ):
        pass
    with SQLITE.run_lock(target):
        pass


# --- writing --------------------------------------------------------------------------


def test_a_statement_may_hold_max_parameters(engine: Engine) -> None:
    count = SQLITE.max_parameters
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        assert raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) >= count
        sql = f"SELECT count(*) FROM spaces WHERE id IN ({SQLITE.placeholders(count)})"
        assert conn.exec_driver_sql(sql, tuple(str(i) for i in range(count))).scalar() == 0


def test_insert_upsert_and_insert_new_statements(engine: Engine) -> None:
    columns, key = ("id", "name", "raw_json"), ("id",)
    assert SQLITE.placeholders(3) == "?,?,?"
    with engine.begin() as conn:
        conn.exec_driver_sql(SQLITE.insert_sql("spaces", columns), [("s2", "Two", "{}")])
        with pytest.raises(IntegrityError), SQLITE.refusable(conn):
            conn.exec_driver_sql(SQLITE.insert_sql("spaces", columns), ("s2", "Again", "{}"))
        conn.exec_driver_sql(SQLITE.upsert_sql("spaces", columns, key), ("s2", "Renamed", "{1}"))
        conn.exec_driver_sql(SQLITE.insert_new_sql("spaces", columns, key), ("s2", "No", "{}"))
        conn.exec_driver_sql(SQLITE.insert_new_sql("spaces", columns, key), ("s3", "Three", "{}"))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, name, raw_json FROM spaces ORDER BY id")).all()
    assert rows == [("s1", "One", "{}"), ("s2", "Renamed", "{1}"), ("s3", "Three", "{}")]


def test_a_refused_statement_leaves_the_transaction_usable(engine: Engine) -> None:
    insert = SQLITE.insert_sql("spaces", ("id", "name", "raw_json"))
    with engine.begin() as conn:
        conn.exec_driver_sql(insert, ("s2", "Before", "{}"))
        with pytest.raises(IntegrityError), SQLITE.refusable(conn):
            conn.exec_driver_sql(insert, [("s3", "Batch", "{}"), ("s1", "Duplicate", "{}")])
        conn.exec_driver_sql(insert, ("s4", "After", "{}"))
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(text("SELECT id FROM spaces ORDER BY id"))]
    # SQLite undid only the refused row's statement: the batch's first row stays
    assert ids == ["s1", "s2", "s3", "s4"]


def test_refused_columns_are_read_from_the_refusal(engine: Engine) -> None:
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
    assert SQLITE.refused_columns(unique, "tickets", ticket_columns) == ["space_id", "number"]
    assert SQLITE.refused_columns(not_null, "tickets", ticket_columns) == ["number"]
    assert SQLITE.refused_columns(foreign, "tickets", ticket_columns) == ["space_id"]


# --- searching ------------------------------------------------------------------------


def test_queued_rows_are_indexed_and_matched(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s2', 'Two', '{}')"))
    add_ticket(engine, 1, "s1", "Menu of the Café")
    add_ticket(engine, 2, "s2", "cafeteria opening hours")
    add_ticket(engine, 3, "s1", "nothing to see")
    with engine.begin() as conn:
        insert_new = SQLITE.insert_new_sql("search_pending", ("source", "id"), ("source", "id"))
        conn.exec_driver_sql(insert_new, [("tickets", 1), ("tickets", 2), ("tickets", 3)])
        assert SQLITE.index_queued(conn, "tickets", ("summary", "description")) == 3
        hits = SQLITE.matching_tickets(conn, ["cafe"], 10, [])
        assert sorted(hit[0] for hit in hits) == [1, 2]
        assert all("[" in hit[5] for hit in hits)  # the snippet marks the words
        assert [hit[0] for hit in SQLITE.matching_tickets(conn, ["cafe"], 10, ["s2"])] == [2]
        assert len(SQLITE.matching_tickets(conn, ["cafe"], 1, [])) == 1
        assert SQLITE.matching_tickets(conn, ["cafe", "hours"], 10, [])[0][:4] == (
            2,
            "s2",
            "Two",
            2,
        )
        assert SQLITE.matching_tickets(conn, ['"OR"'], 10, []) == []  # typed syntax is text


def test_contains_is_a_case_sensitive_substring_test(engine: Engine) -> None:
    def holds(haystack: str, needle: str) -> bool:
        sql = f"SELECT CASE WHEN {SQLITE.contains(':h', ':n')} THEN 1 ELSE 0 END"
        with engine.connect() as conn:
            return bool(conn.execute(text(sql), {"h": haystack, "n": needle}).scalar())

    assert holds("検索フォーム", "フォーム")
    assert holds("party 🎉 time", "🎉")
    assert not holds("Café", "café")
    assert not holds("abc", "abd")


def test_internal_tables_are_the_full_text_machinery(engine: Engine) -> None:
    with engine.connect() as conn:
        internal = SQLITE.internal_tables(conn)
    assert {"tickets_fts", "tickets_fts_data", "ticket_comments_fts"} <= internal
    assert not internal & {"tickets", "ticket_comments", "search_pending", "spaces"}


# --- expressions ----------------------------------------------------------------------


def test_week_start_is_the_monday_of_the_week(engine: Engine) -> None:
    moments = [
        datetime(2026, 3, 1, 23, 59, 59) + timedelta(hours=7 * i) for i in range(60)
    ]  # across weeks, months and a year's end
    moments += [datetime(2025, 12, 29, 0, 0, 0), datetime(2027, 1, 3, 12, 0, 0)]
    sql = f"SELECT {SQLITE.week_start(':at')}"
    with engine.connect() as conn:
        for moment in moments:
            got = conn.execute(text(sql), {"at": moment.strftime("%Y-%m-%d %H:%M:%S")}).scalar()
            monday = moment.date() - timedelta(days=moment.weekday())
            assert got == monday.isoformat(), moment


def test_today_is_the_utc_date(engine: Engine) -> None:
    before = datetime.now(UTC).date()
    with engine.connect() as conn:
        today = conn.execute(text(f"SELECT {SQLITE.today()}")).scalar()
    after = datetime.now(UTC).date()
    assert date.fromisoformat(str(today)) in (before, after)


def test_every_member_is_exercised_here() -> None:
    members = {name for name in dir(SQLITE) if not name.startswith("_")}
    source = Path(__file__).read_text("utf-8")
    assert {name for name in members if f"SQLITE.{name}" not in source} == set()
