"""Migrations: one head, base -> head, no drift from the models, round trips, migrate-on-open.

A new mirror at head, and the models agreeing with it, are checked on both databases
(``mirror_db``); the history of revisions 0001-0007 is SQLite's (a PostgreSQL mirror
is created at head), and tests/store/test_postgres.py shows a migration failing
there as one transaction.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from assembla_mirror.errors import SchemaError
from assembla_mirror.model.tables import Base
from assembla_mirror.store import search
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.database import (
    alembic_config,
    create_sqlite_engine,
    current_revision,
    head_revision,
    open_db,
    set_foreign_keys,
)

REPO = Path(__file__).resolve().parents[2]
VIEWS = {
    "hours_by_space",
    "hours_by_user_week",
    "hours_by_ticket",
    "hours_by_milestone",
    "open_tickets_by_status",
    "open_tickets_by_assignee",
    "milestone_progress",
}


def run_alembic(engine: Engine, *args: str) -> None:
    with engine.connect() as connection:
        set_foreign_keys(connection, enabled=False)
        getattr(command, args[0])(alembic_config(connection), *args[1:])
        connection.commit()


def test_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1


def test_a_new_mirror_has_every_table_and_view(mirror_db: str) -> None:
    engine = open_db(mirror_db)
    try:
        names = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= names
        with engine.connect() as connection:
            assert (
                {"tickets_fts", "ticket_comments_fts"}
                <= dialect_of(connection).internal_tables(connection)
                <= names
            )
        assert set(inspect(engine).get_view_names()) >= VIEWS
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_models_and_migrations_agree(mirror_db: str) -> None:
    # SQLite: the migrations replayed; PostgreSQL: the schema created at head from the
    # models, which later migrations must then find as they expect it.
    engine = open_db(mirror_db)
    try:
        with engine.connect() as connection:
            command.check(alembic_config(connection))  # raises on any autogenerate drift
    finally:
        engine.dispose()


def test_downgrade_upgrade_round_trip_keeps_schema(tmp_path: Path) -> None:
    engine = open_db(tmp_path / "m.db")
    before = _schema(tmp_path / "m.db")
    run_alembic(engine, "downgrade", "base")
    assert _schema(tmp_path / "m.db") == {("table", "alembic_version")}
    run_alembic(engine, "upgrade", "head")
    open_db(tmp_path / "m.db").dispose()  # views are (re)created on open, not by migrations
    assert _schema(tmp_path / "m.db") == before


def test_alembic_command_line_upgrades_from_repository_root(tmp_path: Path) -> None:
    from alembic.config import main as alembic_main

    target = tmp_path / "cli.db"
    alembic_main(["-c", str(REPO / "alembic.ini"), "-x", f"db={target}", "upgrade", "head"])
    assert current_revision(create_sqlite_engine(target)) == head_revision()


def test_alembic_command_line_takes_the_database_path_literally(tmp_path: Path) -> None:
    from alembic.config import main as alembic_main

    target = tmp_path / "weird?name%20.db"
    alembic_main(["-c", str(REPO / "alembic.ini"), "-x", f"db={target}", "upgrade", "head"])
    assert os.listdir(tmp_path) == ["weird?name%20.db"]
    assert current_revision(create_sqlite_engine(target)) == head_revision()


def test_alembic_command_line_rebuilds_parent_tables_without_cascading(tmp_path: Path) -> None:
    from alembic.config import main as alembic_main

    target = tmp_path / "cli.db"
    ini = ["-c", str(REPO / "alembic.ini"), "-x", f"db={target}"]
    alembic_main([*ini, "upgrade", "0004"])
    with sqlite3.connect(target) as conn:
        conn.execute("INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'S', '{}')")
        conn.execute("INSERT INTO tasks (id, space_id, raw_json) VALUES (5, 's1', '{}')")
        conn.execute("INSERT INTO time_logs (id, task_id, raw_json) VALUES (9, 5, '{}')")
    alembic_main([*ini, "upgrade", "head"])
    with sqlite3.connect(target) as conn:
        assert conn.execute("SELECT id FROM time_logs").fetchall() == [(9,)]


def test_open_backs_up_and_upgrades_an_older_database_keeping_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    engine = create_sqlite_engine(path)
    run_alembic(engine, "upgrade", "0001")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'Ünïcode space', '{}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO tickets (id, space_id, number, summary, raw_json) "
            "VALUES (1, 's1', 7, 'searchable café', '{}')"
        )
    engine.dispose()

    upgraded = open_db(path)

    backups = list(tmp_path.glob("old.db.bak-*-0001"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
        assert copy.execute("SELECT summary FROM tickets").fetchall() == [("searchable café",)]
    assert current_revision(upgraded) == head_revision()
    with upgraded.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM spaces").fetchall() == [("Ünïcode space",)]
        # the FTS migration indexed the rows the old database already had
        hits = conn.exec_driver_sql(
            "SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH 'cafe'"
        ).fetchall()
        assert hits == [(1,)]


def test_0005_appends_large_tables_in_arrival_order_keeping_rows_and_search(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    engine = create_sqlite_engine(path)
    run_alembic(engine, "upgrade", "0004")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'S', '{}')")
        for ticket_id, summary in ((7, "alpha report"), (3, "beta export")):
            conn.exec_driver_sql(
                "INSERT INTO tickets (id, space_id, number, summary, raw_json) "
                "VALUES (?, 's1', ?, ?, '{}')",
                (ticket_id, ticket_id, summary),
            )
        conn.exec_driver_sql(
            "INSERT INTO ticket_comments (id, ticket_id, comment, raw_json) "
            "VALUES (70, 7, 'gamma note', '{}')"
        )
        conn.exec_driver_sql("INSERT INTO tasks (id, space_id, raw_json) VALUES (5, 's1', '{}')")
        conn.exec_driver_sql("INSERT INTO time_logs (id, task_id, raw_json) VALUES (9, 5, '{}')")
    engine.dispose()

    upgraded = open_db(path)
    with upgraded.begin() as conn:
        for table in ("tickets", "ticket_comments", "tasks", "time_logs"):
            columns = conn.exec_driver_sql(f"PRAGMA table_info({table})").fetchall()
            assert [c[2] for c in columns if c[1] == "id"] == ["BIGINT"]
        assert conn.exec_driver_sql("SELECT id FROM tickets ORDER BY id").fetchall() == [(3,), (7,)]
        # rebuilding a parent table did not cascade-delete its children
        assert conn.exec_driver_sql("SELECT count(*) FROM time_logs").scalar() == 1
        assert conn.exec_driver_sql("SELECT count(*) FROM ticket_comments").scalar() == 1
        triggers = {
            r[0]
            for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        }
        assert triggers == {
            f"{fts}_{suffix}"
            for fts in ("tickets_fts", "ticket_comments_fts")
            for suffix in ("update", "delete")
        }
        assert set(inspect(conn).get_view_names()) >= VIEWS
        # the rebuilt tables' triggers still keep the index right
        search.index_pending(conn)
        conn.exec_driver_sql("UPDATE tickets SET summary = 'delta report' WHERE id = 7")
        conn.exec_driver_sql("DELETE FROM tickets WHERE id = 3")
        search.index_pending(conn)
        assert [hit.ticket_id for hit in search.search_tickets(conn, "report")] == [7]
        assert search.search_tickets(conn, "alpha") == []
        assert search.search_tickets(conn, "beta") == []
        # deleting the ticket cascaded to its comment through the rebuilt table
        conn.exec_driver_sql("DELETE FROM tickets WHERE id = 7")
        assert conn.exec_driver_sql("SELECT count(*) FROM ticket_comments").scalar() == 0


def test_open_at_head_makes_no_backup(tmp_path: Path) -> None:
    open_db(tmp_path / "m.db").dispose()
    open_db(tmp_path / "m.db").dispose()
    assert not list(tmp_path.glob("*.bak-*"))


def test_database_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    open_db(path).dispose()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    conn.close()  # "with" only commits
    before = path.read_bytes()
    with pytest.raises(SchemaError, match="newer version of assembla-mirror"):
        open_db(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["future.db"]  # no backup, and no -wal/-shm left behind


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(SchemaError, match="not a usable SQLite database"):
        open_db(path)
    assert path.read_text().startswith("these are my notes")


def test_pragmas_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = open_db(tmp_path / "m.db")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def _schema(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return set(
            conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )


def test_0008_upgrades_a_mirror_of_0007_on_either_database(mirror_db: str) -> None:
    # The first revision that must run on PostgreSQL too (a PostgreSQL mirror is created at
    # 0007 or later): take a mirror back to 0007, then open it; the upgrade must give what
    # a new mirror has, to the collation.
    engine = open_db(mirror_db)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "0007")
        assert current_revision(engine) == "0007"
        assert not {"ticket_changes", "deleted_tickets"} & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    engine = open_db(mirror_db)
    try:
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            command.check(alembic_config(connection))
            if dialect_of(connection).name == "postgresql":
                uncollated = connection.exec_driver_sql(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND data_type = 'character varying' "
                    "AND table_name IN ('ticket_changes', 'deleted_tickets') "
                    "AND coalesce(collation_name, '') <> 'C'"
                ).fetchall()
                assert uncollated == []
    finally:
        engine.dispose()
