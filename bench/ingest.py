"""Issue 6 target 4: local work, end to end, against a floor measured in the same run.

    python -m bench.ingest [--scale bench,tasks_per_space=0] [--split] [--decode-processes N]

With zero latency and no rate limit, a tickets-only sync (fetch + parse +
normalize + upsert, custom field rows and full-text index included) of a
simulator account running in its own process; then the floor: the same pages
fetched by a plain single-threaded loop, parsed with ``json.loads`` and written
with ``sqlite3`` ``executemany`` into a plain table, one transaction per page.
Prints tickets per second of both (goal: at least 30,000/s, and within 2x).

``--split`` then times the sync's two halves apart, one after the other: the
fetch side alone (the same pages fetched and turned into rows, one thread) and
the writer alone (those rows written into an emptied copy of the mirror the way
the sync writes them, eight pages a transaction). A sync that overlapped them
perfectly would take as long as the slower half.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.errors import ToolNotFoundError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.offload import Decoder
from assembla_mirror.pages.rows import Rows
from assembla_mirror.store import writes as store
from assembla_mirror.store.database import open_db
from assembla_mirror.sync import SyncOptions, parse_only, sync
from assembla_mirror.sync.tickets import WALK_PARAMS, write_tickets
from bench.simulator import RunningSimulator, simulator_process

FLOOR_COLUMNS = (
    "id",
    "space_id",
    "number",
    "summary",
    "description",
    "status",
    "state",
    "updated_at",
)


def floor(sim: RunningSimulator, db: Path) -> tuple[int, float]:
    """Tickets and seconds of the plain loop (same pages, same order as the sync)."""
    headers = {
        "X-Api-Key": sim.exports["ASSEMBLA_API_KEY"],
        "X-Api-Secret": sim.exports["ASSEMBLA_API_SECRET"],
    }
    conn = sqlite3.connect(db)
    conn.execute(f"CREATE TABLE tickets ({', '.join(FLOOR_COLUMNS)}, PRIMARY KEY (id))")
    insert = f"INSERT OR REPLACE INTO tickets VALUES ({', '.join('?' * len(FLOOR_COLUMNS))})"
    count, started = 0, time.perf_counter()
    with httpx.Client(base_url=sim.exports["ASSEMBLA_API_URL"], headers=headers) as client:
        for space in client.get("/v1/spaces").json():
            page = 1
            while True:
                params: dict[str, str | int] = {**WALK_PARAMS, "page": page, "per_page": 100}
                response = client.get(f"/v1/spaces/{space['id']}/tickets", params=params)
                if response.status_code != 200:
                    break
                items = json.loads(response.content)
                with conn:
                    conn.executemany(
                        insert, [tuple(item.get(c) for c in FLOOR_COLUMNS) for item in items]
                    )
                count += len(items)
                if len(items) < 100:
                    break
                page += 1
    seconds = time.perf_counter() - started
    conn.close()
    return count, seconds


def fetch_alone(sim: RunningSimulator, db: Path) -> tuple[list[Rows], float]:
    """Every ticket page of the spaces in ``db``, as rows, and the seconds it took."""
    with sqlite3.connect(db) as conn:
        spaces = [row[0] for row in conn.execute("SELECT id FROM spaces")]
        field_ids = {
            space: dict(
                conn.execute("SELECT title, id FROM custom_fields WHERE space_id = ?", (space,))
            )
            for space in spaces
        }
    client, decoder = AssemblaClient(sim.settings(), sim.credentials), Decoder()
    pages, started = [], time.perf_counter()
    for space in spaces:
        decode = decoder.for_table(n.TICKETS, field_ids[space])
        try:
            walk = client.iter_decoded(f"/v1/spaces/{space}/tickets", WALK_PARAMS, decode)
            pages += [page.rows for _number, page, _last in walk if page is not None]
        except ToolNotFoundError:
            continue
    return pages, time.perf_counter() - started


def write_alone(db: Path, pages: list[Rows]) -> float:
    """Seconds to write ``pages`` into ``db`` after emptying its tickets."""
    emptying = sqlite3.connect(db, isolation_level=None)
    try:
        emptying.execute("PRAGMA foreign_keys = ON")  # custom field values go with their tickets
        emptying.execute("DELETE FROM tickets")
        emptying.execute("DELETE FROM search_pending")
        emptying.execute("VACUUM")
    finally:
        emptying.close()
    engine, counter = open_db(db), store.ChangeCounter()
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, len(pages), 8):
        with engine.begin() as conn:
            for page in pages[start : start + 8]:
                write_tickets(conn, page.rows, page.values, counter, now)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="bench,tasks_per_space=0,comments_per_ticket=0")
    parser.add_argument("--split", action="store_true", help="also time fetch and write apart")
    parser.add_argument(
        "--decode-processes",
        type=int,
        help="worker processes parsing pages (default: the sync's choice; 0: in-process)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, simulator_process(args.scale) as sim:
        db = Path(scratch) / "mirror.db"
        report = sync(
            SyncOptions(
                db_path=db, only=parse_only(["tickets"]), decode_processes=args.decode_processes
            ),
            sim.settings(),
            sim.credentials,
        )
        tickets = report.totals["tickets"]
        ours = tickets / report.seconds
        floor_count, floor_seconds = floor(sim, Path(scratch) / "floor.db")
        plain = floor_count / floor_seconds
        values = report.totals["ticket_custom_fields"]
        print(f"tickets: {tickets:,} ({values:,} custom field rows), {report.requests:,} requests")
        print(f"mirror sync : {report.seconds:6.2f} s  {ours:8,.0f} tickets/s   (goal >= 30,000/s)")
        print(f"floor       : {floor_seconds:6.2f} s  {plain:8,.0f} tickets/s   (plain loop)")
        print(f"ratio       : {plain / ours:6.2f}x the floor's time            (goal <= 2x)")
        if args.split:
            pages, fetch_seconds = fetch_alone(sim, db)
            write_seconds = write_alone(db, pages)
            print(
                f"fetch alone : {fetch_seconds:6.2f} s  {tickets / fetch_seconds:8,.0f} tickets/s"
            )
            print(
                f"write alone : {write_seconds:6.2f} s  {tickets / write_seconds:8,.0f} tickets/s"
            )


if __name__ == "__main__":
    main()
