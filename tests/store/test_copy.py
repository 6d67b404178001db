"""copy_mirror: a whole mirror into another database, equal row for row, and syncing on
incrementally from the copied checkpoints.

Source mirrors are made by real syncs of the simulator (in-process); the copies
are compared with the sources table by table, every column of every row, read
with plain SQL (no type processing), so stored text, numbers and booleans are
compared as the databases hold them. The copy is SQLite to SQLite everywhere;
to and from PostgreSQL too when ``MIRROR_TEST_POSTGRES_URL`` names a server
(each PostgreSQL mirror in a fresh schema, dropped afterwards).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from assembla_mirror.errors import ConfigError, LockedError, SchemaError, StorageError
from assembla_mirror.model.tables import Base
from assembla_mirror.simulator import Simulator
from assembla_mirror.store.copy import copy_mirror
from assembla_mirror.store.database import open_db, open_existing
from assembla_mirror.store.runs import set_meta, start_run
from assembla_mirror.store.search import search_tickets
from tests.read.use_mirror import SyncedAccount
from tests.support import run_lock_held_elsewhere, run_sync_in_process

POSTGRES_VARIABLE = "MIRROR_TEST_POSTGRES_URL"
POSTGRES_SKIPPED = (
    f"copies to and from PostgreSQL need a server: set {POSTGRES_VARIABLE} "
    "(e.g. postgresql+psycopg://root@127.0.0.1:5432/test)"
)
#: Directions of a copy, by backend.
DIRECTIONS = [
    ("sqlite", "sqlite"),
    ("sqlite", "postgresql"),
    ("postgresql", "sqlite"),
    ("postgresql", "postgresql"),  # another schema of the same database
]
#: What a copy leaves behind: the search queue, and the record of the database's views.
NOT_COPIED_TABLES = {"search_pending"}
LOCAL_META = {"views"}
#: Columns holding the time a sync ran: two syncs of the same account differ only there.
RUN_TIMES = {
    "sync_runs": {"started_at", "finished_at"},
    "sync_state": {"synced_at", "reconciled_at"},
}


# --- where mirrors live -----------------------------------------------------------------


@contextmanager
def postgres_schema() -> Iterator[str]:
    """The URL of a new schema of the test server, dropped with its contents at exit."""
    server = os.environ.get(POSTGRES_VARIABLE)
    if not server:
        pytest.skip(POSTGRES_SKIPPED)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(
        make_url(server).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{server}{'&' if '?' in server else '?'}schema={schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


NewDatabase = Callable[[str, str], str]


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[NewDatabase]:
    """``new_database(backend, name)``: where a new mirror can live, a SQLite file path
    or a fresh PostgreSQL schema's URL (the test is skipped without a server)."""
    with ExitStack() as stack:

        def make(backend: str, name: str) -> str:
            if backend == "sqlite":
                return str(tmp_path / f"{name}.db")
            return stack.enter_context(postgres_schema())

        yield make


@pytest.fixture(params=DIRECTIONS, ids=["-".join(d) for d in DIRECTIONS])
def backend_pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Source and destination backends of a copy."""
    source, destination = request.param
    return str(source), str(destination)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of one end of a copy (the other is SQLite)."""
    return str(request.param)


def raw_engine(db: str) -> Engine:
    """An engine on the mirror ``db`` that is not the package's: plain SQL, no setup."""
    if "://" not in db:
        return create_engine(URL.create("sqlite", database=db), poolclass=NullPool)
    url = make_url(db)
    schema = url.query["schema"]
    return create_engine(
        url.difference_update_query(["schema"]).set(drivername="postgresql+psycopg"),
        poolclass=NullPool,
        connect_args={"options": f"-c search_path={schema}"},
    )


Contents = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def contents(db: str, *, without: dict[str, set[str]] | None = None) -> Contents:
    """Every row a copy must carry, by table and primary key, every column as stored
    (booleans as the database returns them: ``True == 1`` in Python)."""
    without = without or {}
    engine = raw_engine(db)
    found: Contents = {}
    try:
        with engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                if table.name in NOT_COPIED_TABLES:
                    continue
                names = [c.name for c in table.columns if c.name not in without.get(table.name, ())]
                key = [c.name for c in table.primary_key]
                selected = ", ".join(f'"{name}"' for name in names)
                rows = conn.exec_driver_sql(f'SELECT {selected} FROM "{table.name}"').mappings()
                found[table.name] = {
                    tuple(row[k] for k in key): dict(row)
                    for row in rows
                    if not (table.name == "mirror_meta" and row["key"] in LOCAL_META)
                }
    finally:
        engine.dispose()
    return found


def search_pending(db: str) -> int:
    engine = raw_engine(db)
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM search_pending").scalar_one())
    finally:
        engine.dispose()


def searched(db: str, words: list[str]) -> dict[str, list[int]]:
    """The ticket ids each search finds, best first (through the package's search)."""
    engine = open_existing(db)
    try:
        with engine.connect() as conn:
            return {w: [hit.ticket_id for hit in search_tickets(conn, w)] for w in words}
    finally:
        engine.dispose()


def search_words(db: str) -> list[str]:
    """Words to search for: from ticket summaries and from comments."""
    mirror = contents(db)
    summaries = [row["summary"] for row in mirror["tickets"].values() if row["summary"]]
    comments = [row["comment"] for row in mirror["ticket_comments"].values() if row["comment"]]
    words = [text.split()[0] for text in summaries[:5] + comments[:5] if text.split()]
    return sorted({word.strip(".,:;!?()[]\"'") for word in words} - {""})


def synced_source(sim: Simulator, db: str) -> str:
    """``db`` after a first sync of the simulator's account, comments and time logs on."""
    report = run_sync_in_process(sim, db, with_comments=True)
    assert report.ok, report
    assert report.changes.get("time_logs"), "the account should have time logs"
    return db


# --- equal copies -------------------------------------------------------------------------


def test_a_copy_holds_every_row_of_every_table(
    synced_account: SyncedAccount, tmp_path: Path
) -> None:
    source = str(synced_account.path)
    destination = str(tmp_path / "copy.db")

    report = copy_mirror(source, destination)

    copied = contents(destination)
    assert copied == contents(source)
    # every table a mirror has is there, and the shared account fills most of them
    assert set(copied) == {t.name for t in Base.metadata.tables.values()} - NOT_COPIED_TABLES
    assert all(copied[name] for name in ("tickets", "ticket_comments", "time_logs", "events"))
    assert report.rows == {name: len(rows) for name, rows in copied.items()}
    assert report.total_rows == sum(report.rows.values())
    assert (report.source, report.destination) == (source, destination)


def test_the_copy_describes_its_own_database_and_searches_like_the_source(
    synced_account: SyncedAccount, tmp_path: Path
) -> None:
    source = str(synced_account.path)
    destination = str(tmp_path / "copy.db")

    report = copy_mirror(source, destination)

    tickets = len(contents(source)["tickets"])
    comments = len(contents(source)["ticket_comments"])
    assert report.indexed == tickets + comments
    assert search_pending(destination) == 0
    words = search_words(source)
    assert len(words) >= 5
    found = searched(destination, words)
    assert found == searched(source, words)
    assert all(found.values())
    # the copy's own views record was written when it was opened, not copied
    with raw_engine(destination).connect() as conn:
        views = conn.exec_driver_sql("SELECT value FROM mirror_meta WHERE key = 'views'").scalar()
    assert views is not None
    assert "hours_by_space" in json.loads(views)["views"]


def test_values_round_trip_exactly(
    new_database: NewDatabase, backend_pair: tuple[str, str]
) -> None:
    """Edge values written straight into a source mirror come out the same."""
    source, destination = new_database(backend_pair[0], "src"), new_database(backend_pair[1], "dst")
    engine = open_db(source)
    odd_text = "quote ' double \" back\\slash\nnew line\ttab ✓ é 検索 \U0001f600"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO spaces (id, name, description, is_commercial, is_manager,"
                " has_ticket_tool, created_at, raw_json)"
                " VALUES ('s1', :name, '', :yes, :no, NULL, '2024-02-29 23:59:59', :raw)"
            ),
            {"name": odd_text, "yes": True, "no": False, "raw": '{"id": "s1", "x": [1, 2.5]}'},
        )
        conn.execute(
            text(
                "INSERT INTO tickets (id, space_id, number, summary, importance, estimate,"
                " is_story, due_date, updated_at, raw_json)"
                " VALUES (7, 's1', 2147483647, :summary, :importance, :estimate, :story,"
                " '1999-12-31', '2038-01-19 03:14:08', '{}')"
            ),
            {"summary": odd_text, "importance": 0.1 + 0.2, "estimate": -1e-300, "story": True},
        )
        conn.execute(
            text(
                "INSERT INTO ticket_custom_fields (ticket_id, title, custom_field_id, value)"
                " VALUES (7, 'Empty', NULL, ''), (7, 'Null', NULL, NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO tasks (id, space_id, hours, billed, begin_at, raw_json)"
                " VALUES (:id, 's1', :hours, :billed, '2024-01-01 00:00:00', '{}')"
            ),
            # an id above 2**53: exact as an integer, not as a double
            {"id": 9_007_199_254_740_993, "hours": 1 / 3, "billed": False},
        )
        conn.execute(
            text("INSERT INTO sync_state (resource, space_id, dirty) VALUES ('spaces', '', :d)"),
            {"d": True},
        )
        conn.execute(text("INSERT INTO mirror_meta (key, value) VALUES ('caller_id', NULL)"))
    engine.dispose()

    copy_mirror(source, destination)

    copied = contents(destination)
    assert copied == contents(source)
    ticket = copied["tickets"][(7,)]
    assert (ticket["importance"], ticket["estimate"]) == (0.1 + 0.2, -1e-300)
    assert (ticket["summary"], ticket["due_date"]) == (odd_text, "1999-12-31")
    task = copied["tasks"][(9_007_199_254_740_993,)]
    assert (task["hours"], task["billed"]) == (1 / 3, 0)
    space = copied["spaces"][("s1",)]
    assert (space["is_commercial"], space["is_manager"], space["has_ticket_tool"]) == (1, 0, None)
    assert (space["description"], space["created_at"]) == ("", "2024-02-29 23:59:59")
    assert copied["mirror_meta"] == {("caller_id",): {"key": "caller_id", "value": None}}


def test_the_copy_syncs_on_incrementally_like_its_source(
    in_process_sim: Simulator, new_database: NewDatabase, backend_pair: tuple[str, str]
) -> None:
    sim = in_process_sim
    source = synced_source(sim, new_database(backend_pair[0], "src"))
    destination = new_database(backend_pair[1], "dst")

    copy_mirror(source, destination)
    assert contents(destination) == contents(source)
    words = search_words(source)
    found = searched(destination, words)
    assert all(found.values())
    assert {w: set(ids) for w, ids in found.items()} == {
        w: set(ids) for w, ids in searched(source, words).items()
    }

    # Nothing changed: four requests, on the copy as on the source.
    sim.clear_log()
    on_copy = run_sync_in_process(sim, destination)
    copy_requests = sim.request_counts()
    sim.clear_log()
    on_source = run_sync_in_process(sim, source)
    assert on_copy.ok, on_copy
    assert on_source.ok, on_source
    assert on_copy.mode == on_source.mode == "incremental"
    assert on_copy.requests == on_source.requests == 4
    assert copy_requests == sim.request_counts()

    # A change: the same few requests fetch it into both, and they end equal.
    world = sim.world
    ticket = world.truth().tickets[0]
    world.update_ticket(ticket.space_id, ticket.number, summary="Copied, then changed ✓")
    world.add_comment(ticket.space_id, ticket.number, "a comment after the copy")
    sim.clear_log()
    on_copy = run_sync_in_process(sim, destination)
    copy_requests = sim.request_counts()
    sim.clear_log()
    on_source = run_sync_in_process(sim, source)
    assert on_copy.ok, on_copy
    assert on_source.ok, on_source
    assert copy_requests == sim.request_counts()
    assert on_copy.requests == on_source.requests < 10
    assert on_copy.changes == on_source.changes
    assert on_copy.changes["tickets"]["updated"] == 1
    assert contents(destination, without=RUN_TIMES) == contents(source, without=RUN_TIMES)
    # the run records went on from the copied ids, and search sees the change
    runs = contents(destination)["sync_runs"]
    assert sorted(runs) == [(1,), (2,), (3,)]
    assert ticket.id in searched(destination, ["changed"])["changed"]


def test_a_run_record_after_the_copy_takes_the_next_id(
    synced_account: SyncedAccount, new_database: NewDatabase, backend: str
) -> None:
    destination = new_database(backend, "dst")
    copy_mirror(str(synced_account.path), destination)
    engine = open_db(destination)
    try:
        assert start_run(engine, "incremental", {}) == 2
    finally:
        engine.dispose()


class WriteWhenTicketsStart:
    """Progress that, as the copy reaches ``tickets``, commits changes to the source from
    another connection: to a table already copied and to tables not copied yet."""

    def __init__(self, source: str) -> None:
        self.source = source

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        if key != "tickets":
            return
        engine = raw_engine(self.source)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO spaces (id, name, raw_json) VALUES ('late', 'Late', '{}')"
            )
            conn.exec_driver_sql("UPDATE tickets SET summary = 'changed during the copy'")
            conn.exec_driver_sql("DELETE FROM ticket_comments")
        engine.dispose()

    def advance(self, key: str, items: int = 0) -> None:
        pass

    def end(self, key: str) -> None:
        pass


def test_the_source_is_copied_as_one_snapshot_while_it_is_written(
    synced_account: SyncedAccount, new_database: NewDatabase, backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        source = str(synced_account.copy_to(tmp_path / "private"))
    else:  # a PostgreSQL source: the shared mirror copied there first
        source = new_database(backend, "src")
        copy_mirror(str(synced_account.path), source)
    before = contents(source)
    destination = str(tmp_path / "copy.db")

    copy_mirror(source, destination, progress=WriteWhenTicketsStart(source))

    assert contents(destination) == before
    after = contents(source)
    assert ("late",) in after["spaces"]
    assert not after["ticket_comments"]


# --- progress, batches ----------------------------------------------------------------------


class Recorder:
    """A progress receiver that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def begin(self, key: str, label: str, total: int | None = None) -> None:
        self.calls.append(("begin", key, total))

    def advance(self, key: str, items: int = 0) -> None:
        self.calls.append(("advance", key, items))

    def end(self, key: str) -> None:
        self.calls.append(("end", key))


def test_rows_are_streamed_in_batches_with_progress_per_table(
    synced_account: SyncedAccount, tmp_path: Path
) -> None:
    progress = Recorder()
    report = copy_mirror(
        str(synced_account.path), str(tmp_path / "copy.db"), progress=progress, batch_rows=100
    )

    tables = [call[1] for call in progress.calls if call[0] == "begin"]
    assert tables == [*report.rows, "search_index"]
    # parents before children
    assert tables.index("spaces") < tables.index("tickets") < tables.index("ticket_custom_fields")
    assert tables.index("tasks") < tables.index("time_logs")
    for table, rows in report.rows.items():
        assert ("begin", table, rows) in progress.calls
        batches = [c[2] for c in progress.calls if c[0] == "advance" and c[1] == table]
        assert sum(batches) == rows
        assert all(0 < size <= 100 for size in batches)
        assert progress.calls.index(("end", table)) > progress.calls.index(("begin", table, rows))
    assert report.rows["ticket_custom_fields"] > 1000  # so it took many batches
    assert ("advance", "search_index", report.indexed) in progress.calls


# --- refusals -------------------------------------------------------------------------------


def test_a_destination_holding_a_mirror_is_refused_and_left_untouched(
    synced_account: SyncedAccount, tmp_path: Path
) -> None:
    destination = str(tmp_path / "copy.db")
    copy_mirror(str(synced_account.path), destination)
    before = contents(destination)

    with pytest.raises(SchemaError, match=r"copy\.db already holds a mirror \(rows in spaces"):
        copy_mirror(str(synced_account.path), destination)

    assert contents(destination) == before


def a_run(engine: Engine) -> None:
    start_run(engine, "initial", {})


def a_checkpoint(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sync_state (resource, space_id, dirty) VALUES ('x', '', 1)"))


def a_fact(engine: Engine) -> None:
    with engine.begin() as conn:
        set_meta(conn, "caller_id", "someone")


@pytest.mark.parametrize(
    ("table", "write"),
    [("sync_runs", a_run), ("sync_state", a_checkpoint), ("mirror_meta", a_fact)],
)
def test_any_part_of_a_mirror_in_the_destination_is_refused(
    synced_account: SyncedAccount, tmp_path: Path, table: str, write: Callable[[Engine], None]
) -> None:
    destination = str(tmp_path / "partial.db")
    engine = open_db(destination)
    write(engine)
    engine.dispose()
    before = contents(destination)

    with pytest.raises(SchemaError, match=rf"already holds a mirror \(rows in {table}\)"):
        copy_mirror(str(synced_account.path), destination)

    assert contents(destination) == before


def test_a_missing_or_empty_source_is_refused_and_no_destination_made(tmp_path: Path) -> None:
    destination = tmp_path / "copy.db"
    with pytest.raises(ConfigError, match=r"no mirror at .*typo\.db"):
        copy_mirror(str(tmp_path / "typo.db"), str(destination))
    assert not (tmp_path / "typo.db").exists()
    assert not destination.exists()

    empty = tmp_path / "empty.db"
    open_db(empty).dispose()
    with pytest.raises(ConfigError, match=r"empty\.db holds no mirror yet: nothing to copy"):
        copy_mirror(str(empty), str(destination))
    assert not destination.exists()


def test_a_mirror_is_not_copied_onto_itself(synced_account: SyncedAccount, tmp_path: Path) -> None:
    path = synced_account.path
    link = tmp_path / "link.db"
    link.symlink_to(path)
    for destination in (str(path), f"sqlite:///{path}", str(link)):
        with pytest.raises(ConfigError, match="the same database: a mirror cannot be copied"):
            copy_mirror(str(path), destination)


def test_a_server_mirror_is_not_copied_onto_itself(new_database: NewDatabase) -> None:
    url = new_database("postgresql", "mirror")
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with pytest.raises(ConfigError, match="the same database"):
        copy_mirror(url, plain)


def test_a_server_destination_holding_a_mirror_is_refused_and_left_untouched(
    synced_account: SyncedAccount, new_database: NewDatabase
) -> None:
    destination = new_database("postgresql", "dst")
    copy_mirror(str(synced_account.path), destination)
    before = contents(destination)

    with pytest.raises(SchemaError, match=r"schema=t_\w+ already holds a mirror"):
        copy_mirror(str(synced_account.path), destination)

    assert contents(destination) == before


def test_a_destination_being_synced_is_refused(
    synced_account: SyncedAccount, tmp_path: Path
) -> None:
    destination = tmp_path / "busy.db"
    with run_lock_held_elsewhere(destination), pytest.raises(LockedError):
        copy_mirror(str(synced_account.path), str(destination))


# --- interrupted copies -------------------------------------------------------------------


def test_a_copy_failing_midway_leaves_no_mirror_and_can_be_run_again(
    synced_account: SyncedAccount, tmp_path: Path
) -> None:
    destination = str(tmp_path / "copy.db")
    engine = open_db(destination)
    with engine.begin() as conn:
        # The database refuses the first comment: after spaces, tickets and more went in.
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse AFTER INSERT ON ticket_comments "
            "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
        )
    engine.dispose()

    with pytest.raises(StorageError, match=r"copy failed on .*copy\.db: refused for the test"):
        copy_mirror(str(synced_account.path), destination)

    assert not any(contents(destination).values())
    engine = open_db(destination)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse")
    engine.dispose()
    copy_mirror(str(synced_account.path), destination)
    assert contents(destination) == contents(str(synced_account.path))


KILLED_MIDWAY = """
import os, signal, sys
from assembla_mirror.store.copy import copy_mirror

class KillAtTickets:
    def begin(self, key, label, total=None):
        pass
    def advance(self, key, items=0):
        if key == "tickets":
            os.kill(os.getpid(), signal.SIGKILL)
    def end(self, key):
        pass

copy_mirror(sys.argv[1], sys.argv[2], progress=KillAtTickets(), batch_rows=50)
"""


def test_a_copy_killed_midway_leaves_no_mirror_and_can_be_run_again(
    synced_account: SyncedAccount, new_database: NewDatabase, backend: str
) -> None:
    source = str(synced_account.path)
    destination = new_database(backend, "dst")
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_MIDWAY), source, destination],
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr

    assert not any(contents(destination).values())
    copy_mirror(source, destination)
    assert contents(destination) == contents(source)
