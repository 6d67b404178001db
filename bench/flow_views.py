"""Issue 15: how fast the flow views answer at the ``bench`` scale, on SQLite and PostgreSQL.

    python -m bench.flow_views [--tickets 100000] [--changes-per-ticket 4] [--postgres-url URL]

Fills a new mirror (a SQLite file, then a new PostgreSQL schema, dropped
afterwards) directly with the store's inserts: 10 spaces with five statuses
each, 20 milestones per space, the tickets (3% of them deleted) created over two
years, and about four changes per ticket (status moves with reopenings,
milestone and estimate changes, other fields). Then times ``SELECT count(*)`` of
each flow view, and the same filtered to one space (one milestone for the
burndown). The PostgreSQL schema is analyzed first, as autovacuum would soon
after a sync. Goal: each view within a few seconds on both.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.database import open_db
from assembla_mirror.store.flow import flow_view_definitions
from assembla_mirror.store.sqlite import SQLITE
from bench.postgres import LOCAL_SERVER, fresh_schema

SPACES = 10
STATUSES = [("New", 1), ("Accepted", 1), ("Test", 1), ("Fixed", 0), ("Invalid", 0)]
MILESTONES_PER_SPACE = 20
HISTORY_DAYS = 730
#: The filter of each view's second timing.
FILTERS = {"milestone_burndown": "milestone_id = 5"}
SPACE_FILTER = "space_id = 's5'"


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class _Ticket:
    """One generated ticket: where its history leaves it, and its changes."""

    def __init__(
        self, ticket_id: int, space: str, created: datetime, now: datetime, rng: random.Random
    ) -> None:
        self.id, self.space, self.at, self.now, self.rng = ticket_id, space, created, now, rng
        self.status = "New"
        self.milestone_id: int | None = None
        self.estimate: float | None = rng.choice([None, 1.0, 2.0, 4.0, 8.0])
        self.changes: list[tuple[Any, ...]] = []

    def change(self, field: str, old: Any, new: Any) -> None:
        self.at += timedelta(seconds=self.rng.randrange(60, 4 * 86_400))
        values = ["" if value is None else str(value) for value in (old, new)]
        at = _at(min(self.at, self.now))
        self.changes.append((self.id, self.space, at, field, *values, "comment"))

    def move(self, space: int, extra: float) -> None:
        """Through some statuses (a reopening now and then), then ``extra`` other
        changes on average: milestone, estimate, assignee, summary."""
        rng = self.rng
        milestone = rng.choice([None, *range(MILESTONES_PER_SPACE)])
        self.milestone_id = None if milestone is None else space * 100 + milestone + 1
        path = ["Accepted", "Test", "Fixed"][: rng.choice([0, 1, 2, 3, 3])]
        if path and rng.random() < 0.15:
            path += ["Accepted", "Fixed"]
        for status in path:
            self.change("status", self.status, status)
            self.status = status
        while rng.random() < extra / (extra + 1):
            field = rng.choice(["milestone_id", "estimate", "assigned_to_id", "summary"])
            if field == "milestone_id":
                new_milestone = space * 100 + rng.randrange(MILESTONES_PER_SPACE) + 1
                self.change(field, self.milestone_id, new_milestone)
                self.milestone_id = new_milestone
            elif field == "estimate":
                new_estimate = rng.choice([1.0, 2.0, 4.0, 8.0])
                self.change(field, self.estimate, new_estimate)
                self.estimate = new_estimate
            else:
                self.change(field, "a", "b")


def generate(tickets: int, changes_per_ticket: float, seed: int = 15) -> dict[str, Any]:
    """The rows to insert, by table: (columns, rows)."""
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    spaces = [(f"s{n}", f"Space {n}", "{}") for n in range(SPACES)]
    statuses = [
        (n * 10 + i, f"s{n}", name, state, "{}")
        for n in range(SPACES)
        for i, (name, state) in enumerate(STATUSES)
    ]
    milestones = [
        (
            n * 100 + i + 1,
            f"s{n}",
            f"M{i}",
            _at(now - timedelta(days=HISTORY_DAYS - i * 30))[:10],
            i < 15,
            _at(now - timedelta(days=HISTORY_DAYS - i * 30 - 45))[:10] if i < 15 else None,
            "{}",
        )
        for n in range(SPACES)
        for i in range(MILESTONES_PER_SPACE)
    ]
    live: list[tuple[Any, ...]] = []
    deleted: list[tuple[Any, ...]] = []
    changes: list[tuple[Any, ...]] = []
    for number in range(tickets):
        space = number % SPACES
        created = now - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86_400))
        ticket = _Ticket(1_000_000 + number, f"s{space}", created, now, rng)
        ticket.move(space, max(changes_per_ticket - 2.0, 0.0))  # status moves: about 2
        changes += ticket.changes
        state = dict(STATUSES)[ticket.status]
        row: tuple[Any, ...] = (ticket.id, ticket.space, number // SPACES + 1, f"Ticket {number}")
        row += (ticket.status, state, ticket.milestone_id)
        if rng.random() < 0.03:
            deleted.append((*row, _at(created), _at(now), "{}"))
        else:
            live.append((*row, ticket.estimate, _at(created), "{}"))
    return {
        "spaces": (("id", "name", "raw_json"), spaces),
        "ticket_statuses": (("id", "space_id", "name", "state", "raw_json"), statuses),
        "milestones": (
            ("id", "space_id", "title", "start_date", "is_completed", "completed_date", "raw_json"),
            milestones,
        ),
        "tickets": (
            ("id", "space_id", "number", "summary", "status", "state", "milestone_id",
             "estimate", "created_on", "raw_json"),
            live,
        ),
        "deleted_tickets": (
            ("id", "space_id", "number", "summary", "status", "state", "milestone_id",
             "created_on", "deleted_at", "last_record_json"),
            deleted,
        ),
        "ticket_changes": (
            ("ticket_id", "space_id", "changed_at", "field", "old_value", "new_value", "source"),
            changes,
        ),
    }  # fmt: skip


def fill(engine: Engine, data: dict[str, Any]) -> None:
    """Insert ``data`` into the mirror of ``engine``."""
    dialect = dialect_of(engine)
    with engine.begin() as conn:
        for table, (columns, rows) in data.items():
            dialect.insert_rows(conn, table, columns, rows)
        if dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")


def timings(engine: Engine) -> list[tuple[str, int, float, int, float]]:
    """Per view: rows and seconds of ``count(*)``, then of the filtered count."""
    found = []
    with engine.connect() as conn:
        for view in flow_view_definitions(SQLITE):
            measured: list[Any] = [view]
            for where in ("", f" WHERE {FILTERS.get(view, SPACE_FILTER)}"):
                started = time.perf_counter()
                count = conn.exec_driver_sql(f"SELECT count(*) FROM {view}{where}").scalar()
                measured += [count, time.perf_counter() - started]
            found.append(tuple(measured))
    return found


def report(label: str, engine: Engine, data: dict[str, Any]) -> None:
    started = time.perf_counter()
    fill(engine, data)
    print(f"{label}: filled in {time.perf_counter() - started:.1f} s")
    for view, count, seconds, filtered, filtered_seconds in timings(engine):
        print(
            f"  {view:<24} {count:>9,} rows {seconds:6.2f} s"
            f"   filtered {filtered:>8,} rows {filtered_seconds:6.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--changes-per-ticket", type=float, default=4.0)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("MIRROR_TEST_POSTGRES_URL") or LOCAL_SERVER
    )
    args = parser.parse_args()
    data = generate(args.tickets, args.changes_per_ticket)
    print(
        f"{len(data['tickets'][1]):,} tickets, {len(data['deleted_tickets'][1]):,} deleted, "
        f"{len(data['ticket_changes'][1]):,} changes"
    )
    with tempfile.TemporaryDirectory() as directory:
        engine = open_db(Path(directory) / "flow.db")
        report("SQLite", engine, data)
        engine.dispose()
    with fresh_schema(args.postgres_url) as url:
        engine = open_db(url)
        report("PostgreSQL", engine, data)
        engine.dispose()


if __name__ == "__main__":
    main()
