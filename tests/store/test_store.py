"""store and state: idempotent upserts, change counts, deletes, custom field renames, lock.

Every test runs on both databases (``mirror_db``): the writes are the store's own SQL,
which both must read alike.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from assembla_mirror.errors import LockedError
from assembla_mirror.model import convert as n
from assembla_mirror.store import checkpoints as st
from assembla_mirror.store import runs, search
from assembla_mirror.store import writes as store
from assembla_mirror.store.database import open_db, open_for_sync
from tests.support import run_lock_held_elsewhere, wait_for_run_lock

SPACE = {"id": "s1", "name": "Space one", "wiki_name": "space-one"}
BILLING = {"id": 1, "title": "Billing", "type": "Text"}


@pytest.fixture
def engine(mirror_db: str) -> Iterator[Engine]:
    """A new mirror (either database) with one space and its Billing custom field."""
    engine = open_db(mirror_db)
    with engine.begin() as conn:
        counter = store.ChangeCounter()
        store.upsert(conn, n.SPACES, [n.to_row(n.SPACES, SPACE)], counter)
        store.upsert(conn, n.CUSTOM_FIELDS, [n.to_row(n.CUSTOM_FIELDS, BILLING, ("s1",))], counter)
    yield engine
    engine.dispose()


def ticket(number: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": 1000 + number,
        "number": number,
        "space_id": "s1",
        "summary": f"Ticket {number}",
        "status": "New",
        "state": 1,
        "updated_at": "2024-01-01T00:00:00Z",
        "custom_fields": {"Billing": "B1", "Team": ""},
    }
    return base | fields


def write_tickets(engine: Engine, tickets: list[dict[str, Any]]) -> store.ChangeCounter:
    counter = store.ChangeCounter()
    with engine.begin() as conn:
        written = store.upsert(conn, n.TICKETS, [n.to_row(n.TICKETS, t) for t in tickets], counter)
        ids = [row[0] for row in written.rows]
        by_id = {t["id"]: t for t in tickets}
        values = [r for i in ids for r in n.ticket_custom_field_rows(by_id[i], {"Billing": 1})]
        store.replace_ticket_custom_fields(conn, ids, values, counter, written.inserted)
    return counter


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.exec_driver_sql(sql)]


def test_upsert_inserts_then_skips_unchanged_then_updates(engine: Engine) -> None:
    first = write_tickets(engine, [ticket(1), ticket(2)])
    assert first.as_dict()["tickets"] == {"inserted": 2, "updated": 0, "deleted": 0}
    assert first.as_dict()["ticket_custom_fields"]["inserted"] == 4

    snapshot = rows(engine, "SELECT * FROM tickets ORDER BY id")
    again = write_tickets(engine, [ticket(1), ticket(2)])
    assert again.as_dict() == {}
    assert rows(engine, "SELECT * FROM tickets ORDER BY id") == snapshot

    changed = write_tickets(engine, [ticket(1, summary="Renamed", custom_fields={"Billing": "B2"})])
    assert changed.as_dict()["tickets"] == {"inserted": 0, "updated": 1, "deleted": 0}
    assert changed.as_dict()["ticket_custom_fields"] == {"inserted": 0, "updated": 1, "deleted": 1}
    assert rows(engine, "SELECT title, value FROM ticket_custom_fields WHERE ticket_id = 1001") == [
        ("Billing", "B2")
    ]


def test_upsert_reports_which_rows_were_inserted(engine: Engine) -> None:
    write_tickets(engine, [ticket(1)])
    with engine.begin() as conn:
        rows = [n.to_row(n.TICKETS, t) for t in (ticket(1, summary="x"), ticket(2), ticket(3))]
        written = store.upsert(conn, n.TICKETS, rows, store.ChangeCounter())
    assert [row[0] for row in written.rows] == [1001, 1002, 1003]
    assert written.inserted == {1002, 1003}


def test_new_rows_are_stored_in_arrival_order_and_queued_for_search(
    engine: Engine, backend: str
) -> None:
    # Tickets arrive newest first, not by id: they are queued for full-text indexing
    # by the writer, and in SQLite appended as they come (the id is not the rowid;
    # PostgreSQL's heap has no such order to show).
    write_tickets(engine, [ticket(3), ticket(1), ticket(2)])
    if backend == "sqlite":
        assert rows(engine, "SELECT id FROM tickets ORDER BY rowid") == [(1003,), (1001,), (1002,)]
    assert rows(engine, "SELECT source, id FROM search_pending ORDER BY id") == [
        ("tickets", 1001),
        ("tickets", 1002),
        ("tickets", 1003),
    ]
    with engine.begin() as conn:
        assert search.index_pending(conn) == 3
    write_tickets(engine, [ticket(2, summary="Quarterly invoice run")])
    with engine.begin() as conn:
        search.index_pending(conn)
        hits = search.search_tickets(conn, "invoice")
        assert [hit.ticket_id for hit in hits] == [1002]
        assert search.search_tickets(conn, "Ticket 2") == []


def test_duplicate_keys_in_one_page_keep_the_last(engine: Engine) -> None:
    write_tickets(engine, [ticket(1, summary="old"), ticket(1, summary="new")])
    assert rows(engine, "SELECT summary FROM tickets") == [("new",)]


def test_delete_missing_scoped_to_a_space_cascades_to_children(engine: Engine) -> None:
    write_tickets(engine, [ticket(1), ticket(2), ticket(3)])
    counter = store.ChangeCounter()
    with engine.begin() as conn:
        gone = store.delete_missing(
            conn, "tickets", "id", {"space_id": "s1"}, {1001, 1003}, counter
        )
    assert gone == [1002]
    assert counter.as_dict()["tickets"]["deleted"] == 1
    assert rows(engine, "SELECT DISTINCT ticket_id FROM ticket_custom_fields ORDER BY 1") == [
        (1001,),
        (1003,),
    ]


def test_deleting_a_space_removes_everything_under_it(engine: Engine) -> None:
    write_tickets(engine, [ticket(1)])
    with engine.begin() as conn:
        store.delete_keys(conn, "spaces", "id", ["s1"], store.ChangeCounter())
    assert rows(engine, "SELECT count(*) FROM tickets") == [(0,)]
    assert rows(engine, "SELECT count(*) FROM ticket_custom_fields") == [(0,)]


def test_custom_field_rename_rewrites_titles_and_raw_json_in_place(engine: Engine) -> None:
    write_tickets(engine, [ticket(1), ticket(2, custom_fields={"Team": "x"})])
    field = dict(BILLING, title="Billing code")
    counter = store.ChangeCounter()
    with engine.begin() as conn:
        store.upsert(conn, n.CUSTOM_FIELDS, [n.to_row(n.CUSTOM_FIELDS, field, ("s1",))], counter)
        store.relink_custom_fields(conn, "s1", counter)
    assert rows(
        engine, "SELECT title, custom_field_id FROM ticket_custom_fields ORDER BY 1, 2"
    ) == [
        ("Billing code", 1),
        ("Team", None),
        ("Team", None),
    ]
    raw = json.loads(rows(engine, "SELECT raw_json FROM tickets WHERE id = 1001")[0][0])
    assert list(raw["custom_fields"]) == ["Billing code", "Team"]  # key renamed in place
    assert counter.as_dict()["tickets"]["updated"] == 1


def test_removing_a_custom_field_key(engine: Engine) -> None:
    write_tickets(engine, [ticket(1)])
    with engine.begin() as conn:
        store.rewrite_custom_field_key(conn, "s1", "Team", None, store.ChangeCounter())
    raw = json.loads(rows(engine, "SELECT raw_json FROM tickets")[0][0])
    assert raw["custom_fields"] == {"Billing": "B1"}
    assert rows(engine, "SELECT title FROM ticket_custom_fields") == [("Billing",)]


def test_reserved_word_column_is_quoted(engine: Engine) -> None:
    field = {"id": 5, "title": "Order test", "order": 3}
    with engine.begin() as conn:
        store.upsert(
            conn,
            n.CUSTOM_FIELDS,
            [n.to_row(n.CUSTOM_FIELDS, field, ("s1",))],
            store.ChangeCounter(),
        )
    assert rows(engine, 'SELECT "order" FROM custom_fields WHERE id = 5') == [(3,)]


def test_state_round_trip_and_meta(engine: Engine) -> None:
    with engine.begin() as conn:
        state = st.load_state(conn, "tickets", "s1")
        assert state.cursor is None
        assert not state.dirty
        state.cursor, state.next_page = "2024-01-01 00:00:00", 3
        st.save_state(conn, state)
        st.mark_dirty(conn, "tickets", "s1")
        runs.set_meta(conn, "with_comments", "1")
    with engine.connect() as conn:
        loaded = st.load_state(conn, "tickets", "s1")
        assert (loaded.cursor, loaded.next_page, loaded.dirty) == ("2024-01-01 00:00:00", 3, True)
        assert st.load_states(conn, "tickets")["s1"] == loaded
        assert runs.get_meta(conn, "with_comments") == "1"
        assert runs.get_meta(conn, "nothing") is None


def test_runs_left_running_are_marked_interrupted(engine: Engine) -> None:
    first = runs.start_run(engine, "full", {"spaces": []})
    second = runs.start_run(engine, "incremental", {})
    runs.finish_run(engine, second, outcome="success", requests=4, rows={}, warnings=[])
    assert rows(engine, "SELECT id, outcome, requests FROM sync_runs ORDER BY id") == [
        (first, "interrupted", 0),
        (second, "success", 4),
    ]


def test_lock_refuses_a_second_sync_and_is_released_when_the_holder_is_killed(
    mirror_db: str,
) -> None:
    # SQLite: flock on the file; PostgreSQL: a session advisory lock on the server.
    open_db(mirror_db).dispose()
    with (
        run_lock_held_elsewhere(mirror_db),
        pytest.raises(LockedError, match="already running"),
        open_for_sync(mirror_db),
    ):
        pass
    wait_for_run_lock(mirror_db)  # the kernel (or the server) released the dead holder's lock
    with open_for_sync(mirror_db):
        pass
