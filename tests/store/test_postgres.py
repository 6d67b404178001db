"""What a mirror in PostgreSQL guarantees where the server, not a file, is the database.

Against the real test server (skipped with the reason shown without one), each test
in schemas of its own: a second sync is refused at once by an advisory lock, which
the server releases when its holder is killed; readers are never blocked by a sync;
a migration is one transaction (a failed one leaves nothing behind); a database of a
newer version or another application's schema is refused untouched; two mirrors in
two schemas of one database stay apart; the password of a URL appears in no
error, whatever goes wrong connecting; and a person's own view built on a report
view is neither dropped nor in the way without a clear message.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, text

from assembla_mirror.errors import LockedError, SchemaError, StorageError
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.store import search
from assembla_mirror.store.database import (
    alembic_config,
    create_engine_for,
    current_revision,
    head_revision,
    mirror_exists,
    open_db,
    open_existing,
    open_for_sync,
    open_readonly,
)
from assembla_mirror.store.target import database_target
from assembla_mirror.store.views import META_KEY
from tests.expected import reading
from tests.support import (
    POSTGRES_SKIP_REASON,
    fresh_postgres_mirror,
    postgres_server_url,
    run_lock_held_elsewhere,
    run_sync_in_process,
    wait_for_run_lock,
)

#: Every way the store opens a mirror, as one call each.
OPENERS: dict[str, Callable[[str], Any]] = {
    "open_db": lambda db: open_db(db).dispose(),
    "open_existing": lambda db: open_existing(db).dispose(),
    "open_readonly": lambda db: open_readonly(db).dispose(),
    "open_for_sync": lambda db: open_for_sync(db).__enter__(),
}


def server_url() -> str:
    """The test server's database (no schema); skips the test without one."""
    url = postgres_server_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    return url


@pytest.fixture
def url() -> Iterator[str]:
    """The URL of a new, empty schema for a mirror, dropped afterwards."""
    with fresh_postgres_mirror() as url:
        yield url


def schema_of(url: str) -> str:
    return database_target(url).schema


def on_server(sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run ``sql`` on the test server's database, outside any mirror schema, committed."""
    with reading(server_url()) as conn:
        rows = conn.execute(text(sql), params)
        found = [tuple(row) for row in rows] if rows.returns_rows else []
        conn.commit()
        return found


def other_application_in_schema(url: str) -> None:
    """Another application's tables (and one row) in the schema of ``url``."""
    schema = schema_of(url)
    on_server(
        f"CREATE SCHEMA {schema}; "
        f"CREATE TABLE {schema}.users (id integer PRIMARY KEY, email text); "
        f"CREATE TABLE {schema}.orders (id integer PRIMARY KEY, total real); "
        f"INSERT INTO {schema}.users (id, email) VALUES (1, 'someone@example.com')"
    )


def schema_state(url: str) -> list[tuple[Any, ...]]:
    """Every relation of the schema of ``url`` with its kind, columns and row estimate
    (what a refused open must leave as it was)."""
    return on_server(
        "SELECT c.relname, c.relkind, "
        "       (SELECT string_agg(a.attname || ':' || a.atttypid::regtype::text, ',' "
        "                          ORDER BY a.attnum) "
        "        FROM pg_attribute AS a WHERE a.attrelid = c.oid AND a.attnum > 0 "
        "        AND NOT a.attisdropped) "
        "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = :schema ORDER BY 1",
        schema=schema_of(url),
    )


def tiny_simulator() -> Simulator:
    """An in-process simulator of the smallest world (never started: no socket)."""
    return Simulator(World.generate(seed=5, scale=Scale.preset("tiny")))


# --- the run lock ---------------------------------------------------------------------


def test_a_second_sync_is_refused_at_once_and_a_killed_holders_lock_is_released(
    url: str,
) -> None:
    sim = tiny_simulator()
    second_syncs: list[Callable[[], object]] = [
        lambda: OPENERS["open_for_sync"](url),
        lambda: run_sync_in_process(sim, url),
    ]
    with run_lock_held_elsewhere(url):
        for second_sync in second_syncs:
            started = time.monotonic()
            with pytest.raises(LockedError, match="already running") as caught:
                second_sync()
            assert time.monotonic() - started < 3  # refused, not kept waiting
            assert str(database_target(url)) in str(caught.value)
        assert sum(sim.request_counts().values()) == 0  # refused before asking Assembla
        assert not mirror_exists(url)  # nor creating the mirror
    wait_for_run_lock(url)  # the server ended the killed holder's session, and its lock
    report = run_sync_in_process(sim, url)
    assert report.outcome == "success"


# --- readers ----------------------------------------------------------------------------


def read_under_a_deadline(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql``, failing (rather than hanging) if the reader had to wait."""
    conn.exec_driver_sql("SET statement_timeout = 3000")
    return [tuple(row) for row in conn.execute(text(sql))]


def test_readers_are_not_blocked_while_a_sync_holds_the_lock_and_writes(url: str) -> None:
    engine = open_db(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s1', 'One', '{}')"))
    engine.dispose()
    query = "SELECT id, name FROM spaces ORDER BY id"
    with open_for_sync(url) as writer, writer.begin() as sync:
        # a page in progress: rows changed, added and deleted, not yet committed
        sync.execute(text("UPDATE spaces SET name = 'Renamed' WHERE id = 's1'"))
        sync.execute(text("INSERT INTO spaces (id, name, raw_json) VALUES ('s2', 'Two', '{}')"))
        sync.execute(text("DELETE FROM sync_runs"))
        # every way of reading: a reader's open, a dry run's, and a plain connection
        for opened in (open_existing(url), open_readonly(url), create_engine_for(url)):
            try:
                with opened.connect() as reader:
                    assert read_under_a_deadline(reader, query) == [("s1", "One")]
                    assert read_under_a_deadline(reader, "SELECT * FROM hours_by_space")
            finally:
                opened.dispose()
    with reading(url) as reader:
        assert read_under_a_deadline(reader, query) == [("s1", "Renamed"), ("s2", "Two")]


# --- migrations -------------------------------------------------------------------------


def mirror_at_0006(url: str) -> None:
    """A mirror whose schema is revision 0006 (the migration 0007 undone on the server),
    with a checkpoint that 0007 rewrites."""
    engine = open_db(url)
    with engine.connect() as conn:
        command.downgrade(alembic_config(conn), "0006")
        conn.commit()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sync_state (resource, space_id, cursor, walk_page, dirty) "
                "VALUES ('comments', '', 'complete', 42, FALSE)"
            )
        )
    engine.dispose()


def sync_state_columns(url: str) -> list[str]:
    return [
        row[0]
        for row in on_server(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :schema AND table_name = 'sync_state' ORDER BY column_name",
            schema=schema_of(url),
        )
    ]


def test_a_migration_that_fails_leaves_the_database_at_its_old_revision(url: str) -> None:
    mirror_at_0006(url)
    # A person's view over the column 0007 drops: its last step fails, after it added
    # two columns and rewrote the checkpoints.
    schema = schema_of(url)
    on_server(f"CREATE VIEW {schema}.my_pages AS SELECT walk_page FROM {schema}.sync_state")
    before_columns, before_state = sync_state_columns(url), schema_state(url)
    assert "walk_page" in before_columns
    assert "next_page" not in before_columns

    with pytest.raises(SchemaError, match="view my_pages depends on column walk_page") as refused:
        open_db(url)
    assert "drop your own views built on the mirror's" in str(refused.value)

    # nothing half-applied: the same columns, the same checkpoint, the same revision
    assert sync_state_columns(url) == before_columns
    assert schema_state(url) == before_state
    with reading(url) as conn:
        assert current_revision(conn.engine) == "0006"
        state = conn.execute(text("SELECT cursor, walk_page FROM sync_state")).all()
        assert [tuple(row) for row in state] == [("complete", 42)]

    on_server(f"DROP VIEW {schema}.my_pages")
    engine = open_db(url)  # the way cleared, the same migration goes through
    assert current_revision(engine) == head_revision()
    engine.dispose()
    with reading(url) as conn:
        state = conn.execute(text("SELECT cursor, filled_through FROM sync_state")).all()
        assert [tuple(row) for row in state] == [(None, 42)]


def test_a_database_written_by_a_newer_version_is_refused_untouched(url: str) -> None:
    open_db(url).dispose()
    on_server(f"UPDATE {schema_of(url)}.alembic_version SET version_num = 'f00dfeed'")
    before = schema_state(url)
    for name, opener in OPENERS.items():
        with pytest.raises(SchemaError, match="newer version of assembla-mirror") as caught:
            opener(url)
        assert str(database_target(url)) in str(caught.value), name
        assert "f00dfeed" in str(caught.value)
    assert schema_state(url) == before
    with reading(url) as conn:
        assert current_revision(conn.engine) == "f00dfeed"


# --- what is not a mirror -----------------------------------------------------------------


def test_a_schema_holding_another_applications_tables_is_refused_untouched(url: str) -> None:
    other_application_in_schema(url)
    before = schema_state(url)
    for name, opener in OPENERS.items():
        with pytest.raises(SchemaError, match="not an assembla-mirror database") as caught:
            opener(url)
        assert str(database_target(url)) in str(caught.value), name
        assert "orders, users" in str(caught.value)
    assert schema_state(url) == before
    assert on_server(f"SELECT email FROM {schema_of(url)}.users") == [("someone@example.com",)]


def test_another_applications_alembic_schema_is_not_called_a_newer_mirror(url: str) -> None:
    schema = schema_of(url)
    on_server(
        f"CREATE SCHEMA {schema}; "
        f"CREATE TABLE {schema}.alembic_version (version_num varchar(32) NOT NULL); "
        f"INSERT INTO {schema}.alembic_version VALUES ('1975c2b2a7e4'); "
        f"CREATE TABLE {schema}.accounts (id integer PRIMARY KEY)"
    )
    before = schema_state(url)
    with pytest.raises(SchemaError, match="not an assembla-mirror database"):
        open_db(url)
    assert schema_state(url) == before


# --- two mirrors in one database ------------------------------------------------------------


def mirror_with(url: str, space: str, summary: str) -> Engine:
    """A mirror at ``url`` holding one space and one indexed ticket; its engine."""
    engine = open_db(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO spaces (id, name, raw_json) VALUES (:id, :id, '{}')"), {"id": space}
        )
        conn.execute(
            text(
                "INSERT INTO tickets (id, space_id, number, summary, raw_json) "
                "VALUES (1, :space, 1, :summary, '{}')"
            ),
            {"space": space, "summary": summary},
        )
        conn.execute(text("INSERT INTO search_pending (source, id) VALUES ('tickets', 1)"))
        search.index_pending(conn)
    return engine


def test_two_mirrors_in_two_schemas_of_one_database_stay_apart(url: str) -> None:
    with fresh_postgres_mirror() as second:
        first_engine = mirror_with(url, "first", "alpha invoice")
        second_engine = mirror_with(second, "second", "beta report")
        try:
            for engine, space, word, other_word in (
                (first_engine, "first", "alpha", "beta"),
                (second_engine, "second", "beta", "alpha"),
            ):
                with engine.connect() as conn:
                    assert conn.execute(text("SELECT id FROM spaces")).scalars().all() == [space]
                    assert [hit.space_id for hit in search.search_tickets(conn, word)] == [space]
                    assert search.search_tickets(conn, other_word) == []
            # the run lock is the mirror's, not the database's
            with (
                open_for_sync(url),  # a sync on the first
                open_for_sync(second),  # does not keep one on the second waiting
                pytest.raises(LockedError),
                open_for_sync(url),
            ):
                pass
        finally:
            first_engine.dispose()
            second_engine.dispose()
        # nothing of either went into the database's default schema
        assert not on_server(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename IN ('spaces', 'tickets', 'alembic_version')"
        )


# --- the password ------------------------------------------------------------------------

PASSWORD = "s3cret-Pa55"  # a test's, in URLs that cannot log in


def with_password(user: str, *, port: int | None = None, database: str | None = None) -> str:
    """The test server's URL, as ``user`` with :data:`PASSWORD`, on another port or database."""
    from sqlalchemy.engine import make_url

    server = make_url(server_url())
    changed = server.set(
        username=user,
        password=PASSWORD,
        port=port if port is not None else server.port,
        database=database or server.database,
    )
    return changed.render_as_string(hide_password=False)


def failing_urls() -> dict[str, tuple[str, str]]:
    """A URL for each way connecting fails, with what its message says."""
    return {
        "unknown user": (with_password("no_such_user_x"), "cannot log in"),
        "unknown database": (with_password("root", database="no_such_db_x"), "cannot open"),
        "unreachable port": (with_password("root", port=1), "cannot reach the database server"),
    }


@pytest.mark.parametrize("failure", ["unknown user", "unknown database", "unreachable port"])
def test_the_password_appears_in_no_error(failure: str) -> None:
    url, says = failing_urls()[failure]
    shown = str(database_target(url))
    assert "***" in shown
    assert PASSWORD not in shown
    for name, opener in {**OPENERS, "mirror_exists": mirror_exists}.items():
        with pytest.raises(StorageError, match=says) as caught:
            opener(url)
        assert shown in str(caught.value), name
        assert caught.value.reason == "unopenable", name
        # not in the message, nor anywhere in the chain of errors behind it
        told = "".join(traceback.format_exception(caught.value))
        assert PASSWORD not in told, name


# --- a person's own views ---------------------------------------------------------------


def test_a_view_of_ones_own_on_a_report_view_is_kept_and_explained(url: str) -> None:
    """When a new version replaces the report views, PostgreSQL refuses to drop one that a
    person's own view is built on: the mirror says what to do, and drops nothing of
    theirs (CASCADE would, silently)."""
    engine = open_db(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE VIEW my_hours AS SELECT * FROM hours_by_space")
        # as a mirror written by a version whose view definitions differ from these
        conn.execute(
            text("UPDATE mirror_meta SET value = 'older' WHERE key = :key"), {"key": META_KEY}
        )
    engine.dispose()

    with pytest.raises(SchemaError) as refused:
        open_existing(url)
    message = str(refused.value)
    assert "my_hours depends on view hours_by_space" in message
    assert "drop your own views built on the mirror's" in message
    with reading(url) as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM my_hours").scalar() == 0
        held = conn.execute(
            text("SELECT value FROM mirror_meta WHERE key = :key"), {"key": META_KEY}
        ).scalar()
    assert held == "older"  # nothing was changed

    with reading(url) as conn:
        conn.exec_driver_sql("DROP VIEW my_hours")
        conn.commit()
    open_existing(url).dispose()  # the views are replaced now


# --- a server that stops answering -------------------------------------------------------

#: Opens the mirror named on the command line; an error is printed, not raised.
OPEN_ONCE = """
import sys
from assembla_mirror.errors import MirrorError
from assembla_mirror.store.database import open_db
try:
    open_db(sys.argv[1])
except MirrorError as exc:
    print(exc)
"""


def test_a_server_that_never_answers_fails_the_open_instead_of_hanging() -> None:
    """A listener that takes the connection and never says a word (a hung server, a
    black-holing proxy): libpq would wait for ever; the mirror gives up and says so."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        url = f"postgresql://root:s3cret@127.0.0.1:{port}/test?connect_timeout=2"
        # In a process of its own, so that a hang fails this test rather than the suite.
        opened = subprocess.run(
            [sys.executable, "-c", OPEN_ONCE, url], capture_output=True, text=True, timeout=60
        )
    assert opened.returncode == 0, opened.stderr
    assert f"postgresql://root:***@127.0.0.1:{port}/test" in opened.stdout
    assert "timeout" in opened.stdout
    assert "s3cret" not in opened.stdout + opened.stderr


def test_connections_give_up_on_a_vanished_server_unless_the_url_says_otherwise(
    url: str,
) -> None:
    engine = open_db(f"{url}&connect_timeout=5")
    try:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            settings = dict(part.split("=", 1) for part in driver.info.dsn.split() if "=" in part)
    finally:
        engine.dispose()
    assert settings["connect_timeout"] == "5"  # the URL's own
    assert settings["keepalives"] == "1"
    assert int(settings["keepalives_idle"]) + 3 * int(settings["keepalives_interval"]) <= 60
    assert int(settings["tcp_user_timeout"]) <= 60_000


def test_the_jit_compiler_is_off_unless_the_url_turns_it_on(url: str) -> None:
    # Compiling the flow views' plans took longer than running them (store.postgres).
    engine = open_db(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
    finally:
        engine.dispose()
    engine = open_db(f"{url}&options=-c%20jit%3Don")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "on"
            assert conn.exec_driver_sql("SHOW search_path").scalar_one() == schema_of(url)
    finally:
        engine.dispose()
