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
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from assembla_mirror.errors import ConfigError, LockedError, SchemaError, StorageError
from assembla_mirror.model.tables import Base
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.store.copy import copy_mirror
from assembla_mirror.store.database import create_engine_for, open_db, open_existing
from assembla_mirror.store.runs import set_meta, start_run
from assembla_mirror.store.search import search_tickets
from assembla_mirror.store.target import database_target
from tests.expected import Db, reading, select_all
from tests.read.use_mirror import SyncedAccount
from tests.support import (
    fresh_postgres_mirror,
    run_lock_held_elsewhere,
    run_sync_in_process,
    wait_for_run_lock,
)

#: Directions of a copy, by backend.
DIRECTIONS = [
    ("sqlite", "sqlite"),
    ("sqlite", "postgresql"),
    ("postgresql", "sqlite"),
    ("postgresql", "postgresql"),  # another schema of the same database
]
#: The directions a sync after the copy is tested in: another schema of the same server
#: would show nothing the two directions across backends do not.
SYNC_DIRECTIONS = DIRECTIONS[:3]
#: What a copy leaves behind: the search queue, and the records of the database's views.
NOT_COPIED_TABLES = {"search_pending"}
LOCAL_META = {"views", "field_views"}
#: Columns holding the time a sync ran: two syncs of the same account differ only there.
RUN_TIMES = {
    "sync_runs": {"started_at", "finished_at"},
    "sync_state": {"synced_at", "reconciled_at"},
}


# --- where mirrors live -----------------------------------------------------------------

NewDatabase = Callable[[str, str], str]


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[NewDatabase]:
    """``new_database(backend, name)``: where a new mirror can live, a SQLite file path
    or a fresh PostgreSQL schema's URL (the test is skipped without a server)."""
    with ExitStack() as stack:

        def make(backend: str, name: str) -> str:
            if backend == "sqlite":
                return str(tmp_path / f"{name}.db")
            return stack.enter_context(fresh_postgres_mirror())

        yield make


def direction_ids(directions: list[tuple[str, str]]) -> list[str]:
    return ["-".join(direction) for direction in directions]


@pytest.fixture(params=DIRECTIONS, ids=direction_ids(DIRECTIONS))
def backend_pair(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Source and destination backends of a copy."""
    source, destination = request.param
    return str(source), str(destination)


def backend_of(db: Db) -> str:
    """``postgresql`` for a server's URL, ``sqlite`` for a file."""
    return "postgresql" if str(db).startswith("postgresql") else "sqlite"


Contents = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def contents(db: str, *, without: dict[str, set[str]] | None = None) -> Contents:
    """Every row a copy must carry, by table and primary key, every column as stored
    (booleans as the database returns them: ``True == 1`` in Python)."""
    without = without or {}
    found: Contents = {}
    with reading(db) as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in NOT_COPIED_TABLES:
                continue
            names = [c.name for c in table.columns if c.name not in without.get(table.name, ())]
            key = [c.name for c in table.primary_key]
            key = key if set(key) <= set(names) else names  # a left-out key: the whole row
            selected = ", ".join(f'"{name}"' for name in names)
            rows = conn.exec_driver_sql(f'SELECT {selected} FROM "{table.name}"').mappings()
            found[table.name] = {
                tuple(row[k] for k in key): dict(row)
                for row in rows
                if not (table.name == "mirror_meta" and row["key"] in LOCAL_META)
            }
    return found


def writing(db: str, *statements: str) -> None:
    """Run ``statements`` on the mirror ``db`` in one transaction of its own."""
    engine = create_engine_for(db)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def searched(db: str, words: list[str]) -> dict[str, list[int]]:
    """The ids of every ticket each search finds, best first (the package's search)."""
    engine = open_existing(db)
    try:
        with engine.connect() as conn:
            return {w: [hit.ticket_id for hit in search_tickets(conn, w, limit=-1)] for w in words}
    finally:
        engine.dispose()


def search_words(db: str) -> list[str]:
    """Words to search for: from ticket summaries and from comments."""
    mirror = contents(db)
    summaries = [row["summary"] for row in mirror["tickets"].values() if row["summary"]]
    comments = [row["comment"] for row in mirror["ticket_comments"].values() if row["comment"]]
    words = [text.split()[0] for text in summaries[:5] + comments[:5] if text.split()]
    return sorted({word.strip(".,:;!?()[]\"'") for word in words} - {""})


def assert_searches_alike(copy: str, source: str) -> None:
    """Searching the copy finds what searching the source does, and finds something.

    On the same backend the ranking is the same too. Across backends only the
    tickets found are: FTS5 ranks by bm25, PostgreSQL by ts_rank, so of a word
    that many tickets hold, the first 50 (a search's default) differ.
    """
    words = search_words(source)
    assert len(words) >= 3
    found, expected = searched(copy, words), searched(source, words)
    assert all(found.values()), found
    if backend_of(copy) == backend_of(source):
        assert found == expected
    else:
        assert {w: sorted(ids) for w, ids in found.items()} == {
            w: sorted(ids) for w, ids in expected.items()
        }


def synced_source(sim: Simulator, db: str) -> str:
    """``db`` after a first sync of the simulator's account, comments and time logs on."""
    report = run_sync_in_process(sim, db, with_comments=True)
    assert report.ok, report
    assert report.changes.get("time_logs"), "the account should have time logs"
    return db


@pytest.fixture
def tiny_sim() -> Simulator:
    """A simulator (in-process) of a fresh tiny account: two spaces, a few dozen tickets,
    comments and time logs; the test may change it."""
    return Simulator(World.generate(seed=5, scale=Scale.preset("tiny")))


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
    assert select_all(destination, "SELECT count(*) FROM search_pending") == [(0,)]
    assert_searches_alike(destination, source)
    # the copy's own views record was written when it was opened, not copied
    [(views,)] = select_all(destination, "SELECT value FROM mirror_meta WHERE key = 'views'")
    assert "hours_by_space" in json.loads(views)["views"]
    # and its custom field views were made from the copied fields, as the source's
    field_views = "SELECT value FROM mirror_meta WHERE key = 'field_views'"
    [(made,)], [(held,)] = select_all(destination, field_views), select_all(source, field_views)
    assert json.loads(made)["views"] == json.loads(held)["views"] != []


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


@pytest.mark.parametrize(
    ("source_backend", "destination_backend"), SYNC_DIRECTIONS, ids=direction_ids(SYNC_DIRECTIONS)
)
def test_the_copy_syncs_on_incrementally_like_its_source(
    tiny_sim: Simulator, new_database: NewDatabase, source_backend: str, destination_backend: str
) -> None:
    sim = tiny_sim
    source = synced_source(sim, new_database(source_backend, "src"))
    destination = new_database(destination_backend, "dst")

    copy_mirror(source, destination)
    assert contents(destination) == contents(source)
    assert_searches_alike(destination, source)

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
    # A change recorded as seen, then replaced by its comment, spends an id; which one a
    # database gives next is its own business (SQLite reuses it, PostgreSQL does not).
    after = {**RUN_TIMES, "ticket_changes": {"id"}}
    assert contents(destination, without=after) == contents(source, without=after)
    # the run records went on from the copied ids, and search sees the change
    runs = contents(destination)["sync_runs"]
    assert sorted(runs) == [(1,), (2,), (3,)]
    assert ticket.id in searched(destination, ["changed"])["changed"]


#: Every sequence of the current schema with the column that owns it (serial or identity).
OWNED_SEQUENCES = """
SELECT s.relname, t.relname, a.attname
FROM pg_class AS s
JOIN pg_namespace AS n ON n.oid = s.relnamespace
JOIN pg_depend AS d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
JOIN pg_class AS t ON t.oid = d.refobjid
JOIN pg_attribute AS a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
WHERE s.relkind = 'S' AND n.nspname = current_schema()
"""


def test_a_run_record_after_the_copy_takes_the_next_id(
    synced_account: SyncedAccount, new_database: NewDatabase, backend: str
) -> None:
    destination = new_database(backend, "dst")
    copy_mirror(str(synced_account.path), destination)
    if backend == "postgresql":
        # Not only sync_runs: every sequence of the schema went past the ids copied.
        with reading(destination) as conn:
            owned = conn.exec_driver_sql(OWNED_SEQUENCES).all()
            assert ("sync_runs_id_seq", "sync_runs", "id") in owned
            for sequence, table, column in owned:
                following = conn.exec_driver_sql(
                    "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END "
                    f'FROM "{sequence}"'
                ).scalar_one()
                largest = conn.exec_driver_sql(f'SELECT max("{column}") FROM "{table}"').scalar()
                assert largest is None or following > largest, (sequence, following, largest)

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
        if key == "tickets":
            writing(
                self.source,
                "INSERT INTO spaces (id, name, raw_json) VALUES ('late', 'Late', '{}')",
                "UPDATE tickets SET summary = 'changed during the copy'",
                "DELETE FROM ticket_comments",
            )

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
    synced_account: SyncedAccount, new_database: NewDatabase, backend: str
) -> None:
    destination = new_database(backend, "dst")
    copy_mirror(str(synced_account.path), destination)
    before = contents(destination)

    with pytest.raises(SchemaError) as refused:
        copy_mirror(str(synced_account.path), destination)

    assert str(refused.value).startswith(
        f"{database_target(destination)} already holds a mirror "
        "(rows in spaces, sync_runs, sync_state, ...); it was left untouched"
    )
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
    # The same schema of the same database, spelt with another driver name and a
    # password (which a trusting test server would not even check).
    spelt_otherwise = (
        make_url(url)
        .set(drivername="postgresql+psycopg", password="other")
        .render_as_string(hide_password=False)
    )
    with pytest.raises(ConfigError, match="the same database"):
        copy_mirror(url, spelt_otherwise)
    with pytest.raises(ConfigError, match="the same database"):
        copy_mirror(spelt_otherwise, url)


def test_a_destination_being_synced_is_refused(
    synced_account: SyncedAccount, new_database: NewDatabase, backend: str
) -> None:
    destination = new_database(backend, "busy")
    with run_lock_held_elsewhere(destination), pytest.raises(LockedError):
        copy_mirror(str(synced_account.path), destination)


# --- interrupted copies -------------------------------------------------------------------


def test_a_copy_failing_midway_leaves_no_mirror_and_can_be_run_again(
    synced_account: SyncedAccount, tmp_path: Path
) -> None:
    """A database refusing a row midway (SQLite only: how the refusal is set up is SQLite's;
    on PostgreSQL a copy killed midway shows the same guarantee, below)."""
    destination = str(tmp_path / "copy.db")
    open_db(destination).dispose()
    # The database refuses the first comment: after spaces, tickets and more went in.
    writing(
        destination,
        "CREATE TRIGGER refuse AFTER INSERT ON ticket_comments "
        "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END",
    )

    with pytest.raises(StorageError, match=r"copy failed on .*copy\.db: refused for the test"):
        copy_mirror(str(synced_account.path), destination)

    assert not any(contents(destination).values())
    writing(destination, "DROP TRIGGER refuse")
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
    # A server ends the killed client's session, and its run lock, a moment later.
    wait_for_run_lock(destination)
    copy_mirror(source, destination)
    assert contents(destination) == contents(source)
