"""Issue 14's targets: a full sync into PostgreSQL beside the same sync into SQLite.

    python -m bench.postgres [--scale bench] [--rounds 1] [--postgres-url URL]

With zero latency and no rate limit, a full sync (every resource, time logs
included) of a simulator account running in its own process, into a new SQLite
file and into a new PostgreSQL schema, one after the other in the same run;
then a no-change re-sync of each. Prints both times, their ratio (goal: the
PostgreSQL sync within 1.5x of the SQLite one) and the re-syncs' requests
(goal: 4). The server is ``--postgres-url``, else ``$MIRROR_TEST_POSTGRES_URL``,
else the local one; each run gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from assembla_mirror.sync import SyncOptions, SyncReport, sync
from bench.simulator import RunningSimulator, simulator_process

LOCAL_SERVER = "postgresql://root@127.0.0.1:5432/test"


@contextmanager
def fresh_schema(server: str) -> Iterator[str]:
    """The URL of a new schema on ``server``, dropped with its contents afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        make_url(server).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )
    try:
        yield f"{server}{'&' if '?' in server else '?'}schema={schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def timed_sync(sim: RunningSimulator, db: str) -> tuple[float, SyncReport]:
    """Seconds a sync of ``sim`` into ``db`` takes, and its report."""
    started = time.perf_counter()
    report = sync(SyncOptions(db_path=db), sim.settings(), sim.credentials)
    seconds = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"sync into {db.split('?')[0]} failed: {report.error}")
    return seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="bench", help="simulator scale (bench: 100k tickets)")
    parser.add_argument("--rounds", type=int, default=1, help="pairs of syncs to time")
    parser.add_argument("--postgres-url", help="a PostgreSQL database to create schemas in")
    args = parser.parse_args()
    server = args.postgres_url or os.environ.get("MIRROR_TEST_POSTGRES_URL") or LOCAL_SERVER

    with simulator_process(args.scale) as sim, tempfile.TemporaryDirectory() as scratch:
        for round_number in range(1, args.rounds + 1):
            sqlite_db = str(Path(scratch) / f"round{round_number}.db")
            sqlite_seconds, report = timed_sync(sim, sqlite_db)
            with fresh_schema(server) as postgres_db:
                postgres_seconds, _ = timed_sync(sim, postgres_db)
                _, postgres_again = timed_sync(sim, postgres_db)
            _, sqlite_again = timed_sync(sim, sqlite_db)
            totals = report.totals
            print(
                f"round {round_number}: {totals['tickets']:,} tickets, {totals['tasks']:,} tasks, "
                f"{sum(totals.values()):,} rows, {report.requests:,} requests"
            )
            print(f"  SQLite     : {sqlite_seconds:7.1f} s")
            print(
                f"  PostgreSQL : {postgres_seconds:7.1f} s  -> "
                f"{postgres_seconds / sqlite_seconds:.2f}x SQLite's time (goal <= 1.5x)"
            )
            print(
                f"  no-change re-sync: {postgres_again.requests} requests on PostgreSQL, "
                f"{sqlite_again.requests} on SQLite (goal: 4)"
            )


if __name__ == "__main__":
    main()
