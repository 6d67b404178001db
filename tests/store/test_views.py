"""The report views: defined once, created from that definition, recreated when it changes,
answering exactly as migration 0001's frozen text did; reports and canned queries share it.

How the views are kept runs on both databases (``mirror_db``); on PostgreSQL they
answer exactly as on SQLite. Tests about a SQLite file (migration 0001's frozen
text, a read-only file, an upgrade from 0001, a SQLite week expression) stay
SQLite-only: a PostgreSQL mirror starts at the head revision.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, inspect, text

import assembla_mirror.store.views
from assembla_mirror.read.datasette.conventions import SPACE, TASK_DATES
from assembla_mirror.read.datasette.queries import QUERIES
from assembla_mirror.read.reports import hours
from assembla_mirror.read.reports.hours import NO_DATE
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.database import migrations_dir, open_db, open_existing
from assembla_mirror.store.dialect import Dialect
from assembla_mirror.store.expressions import expressions, for_datasette, hours_per_space
from assembla_mirror.store.flow import flow_view_definitions
from assembla_mirror.store.named_views import named_view_definitions
from assembla_mirror.store.runs import get_meta, set_meta
from assembla_mirror.store.sqlite import SQLITE, SQLiteDialect
from assembla_mirror.store.views import META_KEY, definitions_record, view_definitions
from tests.expected import Db, reading
from tests.store.test_db_open import frozen, mirror_at
from tests.support import fresh_postgres_mirror

PACKAGE = Path(assembla_mirror.store.views.__file__).resolve().parents[1]


def frozen_views() -> dict[str, str]:
    """Migration 0001's literal view text, as it created the views."""
    (path,) = migrations_dir().glob("versions/*_0001_*.py")
    spec = importlib.util.spec_from_file_location("initial_schema", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    views: dict[str, str] = module.VIEWS
    return views


SPACES = [("s1", "One"), ("s2", "Two"), ("s3", "Nobody works here")]
USERS = [("u1", "ann", "Ann"), ("u2", "bob", None), ("u3", None, None)]
MILESTONES = [  # id, space, title, due, completed, start, completed_date
    (1, "s1", "Past due", "2020-01-31", False, "2020-01-01", None),
    (2, "s1", "Done", "2020-03-31", True, None, "2020-03-30"),
    (3, "s2", None, "2999-12-31", None, None, None),
    (4, "s2", "Empty", None, False, None, None),
]
TICKETS = [  # id, space, number, state, status, milestone, assignee, estimate, invested
    (11, "s1", 1, 1, "New", 1, "u1", 2.0, 1.5),
    (12, "s1", 2, 0, "Done", 1, "u1", None, 3.25),
    (13, "s1", 3, 1, "New", None, None, 1.0, None),
    (14, "s2", 1, 1, "Test", 3, "u2", 4.0, 0.0),
    (15, "s2", 2, 0, "Done", 999, "gone", None, None),
    (16, "s1", 4, None, None, 2, "u3", 0.5, 0.5),
]
TASKS = [  # id, space, user, ticket, hours, begin_at
    (101, "s1", "u1", 11, 2.5, "2026-03-02 00:00:00"),  # a Monday, at midnight
    (102, "s1", "u1", 12, 1.25, "2026-03-08 23:59:59"),  # the Sunday of that week
    (103, "s1", "u2", None, 3.0, "2026-03-09 08:00:00"),
    (104, "s2", "u2", 14, None, "2026-03-10 08:00:00"),
    (105, "s2", "u1", 12345, 1.0, "2025-12-31 10:00:00"),  # a ticket not in the mirror
    (106, "s1", "u1", 15, 0.5, "2026-01-01 10:00:00"),  # another space's ticket
    (107, "s1", "u1", 11, 0.333, None),
    (108, "s2", "ghost", 14, 2.0, "2026-03-11 08:00:00"),  # a user not in the mirror
]


def insert(conn: Connection, table: str, columns: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` of ``columns`` (comma-separated) into ``table``, with an empty payload."""
    names = columns.split(", ")
    binds = ", ".join(f":{name}" for name in names)
    statement = text(f"INSERT INTO {table} ({columns}, raw_json) VALUES ({binds}, '{{}}')")
    conn.execute(statement, [dict(zip(names, row, strict=True)) for row in rows])


def fill(conn: Connection) -> None:
    """Rows that reach every branch of the views: missing names, NULLs, dangling ids."""
    insert(conn, "spaces", "id, name", SPACES)
    insert(conn, "users", "id, login, name", USERS)
    insert(
        conn,
        "milestones",
        "id, space_id, title, due_date, is_completed, start_date, completed_date",
        MILESTONES,
    )
    insert(
        conn,
        "tickets",
        "id, space_id, number, state, status, milestone_id, assigned_to_id, total_estimate, "
        "total_invested_hours",
        TICKETS,
    )
    insert(conn, "tasks", "id, space_id, user_id, ticket_id, hours, begin_at", TASKS)


def filled_mirror(db: Db) -> None:
    """Create the mirror ``db`` and :func:`fill` it."""
    engine = open_db(db)
    with engine.begin() as conn:
        fill(conn)
    engine.dispose()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A filled mirror in a SQLite file (for the tests about a file)."""
    path = tmp_path / "m.db"
    filled_mirror(path)
    return path


@pytest.fixture
def mirror(mirror_db: str) -> str:
    """A filled mirror, on each database."""
    filled_mirror(mirror_db)
    return mirror_db


@pytest.fixture
def engine(path: Path) -> Iterator[Engine]:
    engine = open_db(path)
    yield engine
    engine.dispose()


def view_rows(engine: Engine, name: str) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        result = conn.execute(text(f'SELECT * FROM "{name}"'))
        return tuple(result.keys()), [tuple(row) for row in result]


def schema_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        version: int = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.close()
    return version


def views_stamp(db: Db) -> object:
    """What changes whenever the views of ``db`` are dropped or created: SQLite's schema
    version; on PostgreSQL the views' object ids (a new view gets a new one)."""
    with reading(db) as conn:
        if conn.dialect.name == "sqlite":
            return conn.exec_driver_sql("PRAGMA schema_version").scalar()
        found = conn.execute(
            text(
                "SELECT relname, oid::bigint FROM pg_class "
                "WHERE relkind = 'v' AND relnamespace = current_schema()::regnamespace"
            )
        )
        return sorted(tuple(row) for row in found)


def view_names(db: Db) -> set[str]:
    """The views ``db`` holds, on either database."""
    with reading(db) as conn:
        return set(inspect(conn).get_view_names())


#: Views that answer differently from migration 0001's text on purpose: they count the
#: time without a ticket or milestone too (tests/store/test_views_add_up.py).
CHANGED_SINCE_0001 = {"hours_by_ticket", "hours_by_milestone"}


def test_each_view_is_defined_once_and_answers_as_the_frozen_text_did(engine: Engine) -> None:
    frozen = frozen_views()
    # and the flow views of tickets' history (tests/store/test_flow_views.py) and the
    # ticket hierarchy (tests/store/test_archive_views.py) and the named views
    # (tests/store/test_named_views.py), defined since
    later = {*flow_view_definitions(SQLITE), *named_view_definitions(SQLITE), "ticket_hierarchy"}
    assert set(view_definitions(SQLITE)) == set(frozen) | later
    with engine.connect() as conn:
        assert get_meta(conn, META_KEY) == definitions_record(view_definitions(SQLITE))
        for name, select in frozen.items():
            if name in CHANGED_SINCE_0001:
                continue
            expected = conn.exec_driver_sql(select)
            columns, rows = view_rows(engine, name)
            assert columns == tuple(expected.keys()), name
            assert rows == [tuple(row) for row in expected], name
            assert rows, name  # the sample reaches every view


def test_the_views_answer_on_postgresql_as_on_sqlite(tmp_path: Path) -> None:
    # The same rows in both databases; every view's rows equal, column names and types
    # included (rounded hours are floats, not Decimals, on both).
    sqlite_mirror = tmp_path / "m.db"
    filled_mirror(sqlite_mirror)
    with fresh_postgres_mirror() as postgres_mirror:
        filled_mirror(postgres_mirror)
        for name in view_definitions(SQLITE):
            with reading(sqlite_mirror) as conn:
                expected = conn.execute(text(f'SELECT * FROM "{name}"'))
                columns, rows = tuple(expected.keys()), [tuple(row) for row in expected]
            with reading(postgres_mirror) as conn:
                found = conn.execute(text(f'SELECT * FROM "{name}"'))
                assert tuple(found.keys()) == columns, name
                mirrored = [
                    tuple(int(value) if isinstance(value, bool) else value for value in row)
                    for row in found
                ]
            assert sorted(mirrored, key=repr) == sorted(rows, key=repr), name
            assert [type(v) for row in sorted(mirrored, key=repr) for v in row] == [
                type(v) for row in sorted(rows, key=repr) for v in row
            ], name


def test_views_are_recreated_when_their_definition_changes(
    mirror: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with reading(mirror) as conn:
        dialect = dialect_of(conn)
    original = view_definitions(dialect)
    engine = open_db(mirror)
    before = view_rows(engine, "hours_by_space")
    engine.dispose()

    def changed(dialect: Dialect) -> dict[str, str]:
        return {**view_definitions(dialect), "hours_by_space": "SELECT 42 AS answer"}

    monkeypatch.setattr(assembla_mirror.store.views, "view_definitions", changed)
    engine = open_db(mirror)
    assert view_rows(engine, "hours_by_space") == (("answer",), [(42,)])
    with engine.connect() as conn:
        assert get_meta(conn, META_KEY) == definitions_record(changed(dialect))
    engine.dispose()

    monkeypatch.undo()
    engine = open_db(mirror)
    assert view_rows(engine, "hours_by_space") == before
    with engine.connect() as conn:
        assert get_meta(conn, META_KEY) == definitions_record(original)
    engine.dispose()


def test_current_views_are_left_as_they_are(mirror: str) -> None:
    stamp = views_stamp(mirror)
    for opener in (open_db, open_existing):
        opener(mirror).dispose()
    assert views_stamp(mirror) == stamp


def test_a_dropped_view_comes_back_and_a_persons_own_view_stays(mirror: str) -> None:
    with reading(mirror) as conn:
        conn.execute(text("DROP VIEW hours_by_ticket"))
        conn.execute(text("CREATE VIEW my_notes AS SELECT name FROM spaces"))
        conn.commit()
    assert "hours_by_ticket" not in view_names(mirror)
    open_db(mirror).dispose()
    assert {"hours_by_ticket", "my_notes"} <= view_names(mirror)


def test_a_view_no_longer_defined_is_dropped(mirror: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def with_extra(dialect: Dialect) -> dict[str, str]:
        return {**view_definitions(dialect), "extra_view": "SELECT 1 AS one"}

    monkeypatch.setattr(assembla_mirror.store.views, "view_definitions", with_extra)
    engine = open_db(mirror)
    assert view_rows(engine, "extra_view") == (("one",), [(1,)])
    engine.dispose()
    monkeypatch.undo()
    open_db(mirror).dispose()
    views = view_names(mirror)
    assert "extra_view" not in views
    assert set(view_definitions(SQLITE)) <= views


def test_a_mirror_that_cannot_be_written_keeps_its_views(path: Path) -> None:
    engine = open_db(path)
    with engine.begin() as conn:
        set_meta(conn, META_KEY, "definitions of an older version")
    engine.dispose()
    version = schema_version(path)
    with frozen(path):
        engine = open_existing(path)  # a reader: no error, and nothing written
        assert view_rows(engine, "hours_by_space")[1]
        engine.dispose()
    assert schema_version(path) == version
    open_db(path).dispose()  # a writer brings them up to date
    assert schema_version(path) != version


def test_an_upgraded_mirror_gets_the_views_from_their_definitions(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    mirror_at(path, "0001")
    engine = open_db(path)
    with engine.connect() as conn:
        assert get_meta(conn, META_KEY) == definitions_record(view_definitions(SQLITE))
    engine.dispose()


class SundayWeeks(SQLiteDialect):
    """Weeks starting on Sunday: a different definition of the week, to follow around."""

    def week_start(self, column: str) -> str:
        return f"date({column}, '+1 day', 'weekday 0', '-7 days')"


def test_the_view_and_the_report_follow_one_definition_of_the_week(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SQLITE, "week_start", SundayWeeks().week_start)
    engine = open_db(path)
    with engine.connect() as conn:
        view_weeks = {
            row[0] for row in conn.execute(text("SELECT week_start FROM hours_by_user_week"))
        }
        report = hours(conn, "week")
        report_weeks = {row[0] for row in report.rows if row[2] and row[0] != NO_DATE}
    engine.dispose()
    # 2026-03-08 is a Sunday: it starts a week of its own now
    assert {"2026-03-01", "2026-03-08"} <= view_weeks
    assert view_weeks == report_weeks


def test_canned_queries_use_the_shared_definitions() -> None:
    x = for_datasette()
    assert x == expressions(SQLITE)
    sql = {name: query["sql"] for name, query in QUERIES.items()}
    assert (
        sql["hours_by_space_between"] == hours_per_space(x, tasks=TASK_DATES, spaces=SPACE).strip()
    )
    assert x.week_start in sql["hours_by_person_and_week"]
    assert x.person in sql["hours_by_person_and_week"]
    assert x.entry_milestone in sql["hours_by_milestone_between"]
    assert x.overdue in sql["overdue_milestones"]
    assert x.open_tickets in sql["overdue_milestones"]
    assert x.today in sql["daily_activity"]


def test_the_start_of_a_week_is_spelled_only_by_the_dialects() -> None:
    def spelling(words: str) -> set[str]:
        return {
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.py")
            if words in path.read_text("utf-8")
        }

    assert spelling("weekday 1") == {"store/sqlite.py"}
    assert spelling("date_trunc('week'") == {"store/postgres.py"}
