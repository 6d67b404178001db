"""sync.pipeline: concurrent fetches, one writer, lazy job sources, follow-ups, errors.

What the writer commits (every page, in order per job; what a follow-up sees; what
an error leaves) is shown on SQLite and on PostgreSQL (``engine``); how lazily
jobs are drawn does not depend on the database (``sqlite_engine``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from assembla_mirror.store.database import create_engine_for
from assembla_mirror.sync.pipeline import FetchJob, Pipeline


def engine_with_pages(db: str | Path) -> Iterator[Engine]:
    """An engine on ``db`` (either backend) holding an empty ``pages`` table, disposed of
    afterwards."""
    engine = create_engine_for(db)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # the URL's ?schema=, which every connection has as its search_path
                schema = conn.exec_driver_sql("SELECT current_setting('search_path')").scalar()
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            conn.exec_driver_sql("CREATE TABLE pages (job TEXT, page INTEGER)")
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def engine(mirror_db: str) -> Iterator[Engine]:
    """A database with a ``pages`` table, on each backend."""
    yield from engine_with_pages(mirror_db)


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with a ``pages`` table."""
    yield from engine_with_pages(tmp_path / "p.db")


def stored(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as conn:
        return [
            (str(job), int(page))
            for job, page in conn.exec_driver_sql("SELECT job, page FROM pages")
        ]


def paged_job(name: str, pages: int, *, fail_at: int | None = None) -> FetchJob:
    """A job whose fetch yields ``pages`` page numbers (raising at ``fail_at``)."""

    def fetch() -> Iterator[Any]:
        for number in range(1, pages + 1):
            if number == fail_at:
                raise RuntimeError(f"{name} broke at page {number}")
            yield number

    def write(conn: Connection, page: Any) -> None:
        conn.execute(text("INSERT INTO pages VALUES (:job, :page)"), {"job": name, "page": page})

    return FetchJob(name, fetch, write)


def test_every_page_of_every_job_is_written_in_order_per_job(engine: Engine) -> None:
    pipeline = Pipeline(engine, workers=4)
    for name in "abcdef":
        pipeline.add(paged_job(name, 5))
    pipeline.run()
    rows = stored(engine)
    assert sorted(rows) == [(name, page) for name in "abcdef" for page in range(1, 6)]
    for name in "abcdef":
        assert [page for job, page in rows if job == name] == [1, 2, 3, 4, 5]


def test_a_lazy_source_is_drawn_only_as_workers_free_up(sqlite_engine: Engine) -> None:
    # 10,000 one-page jobs: the generator must never run far ahead of the workers,
    # which is what keeps a fill of that many requests at flat memory.
    workers, drawn, most_ahead = 4, [0], [0]
    finished = [0]
    lock = threading.Lock()

    def jobs() -> Iterator[FetchJob]:
        for number in range(10_000):
            with lock:
                drawn[0] += 1
                most_ahead[0] = max(most_ahead[0], drawn[0] - finished[0])
            job = paged_job(f"j{number}", 1)

            def finish(_conn: Connection) -> None:
                with lock:
                    finished[0] += 1

            yield FetchJob(job.name, job.fetch, job.write, finish)

    pipeline = Pipeline(sqlite_engine, workers=workers)
    pipeline.add_all(jobs())
    pipeline.run()
    assert len(stored(sqlite_engine)) == 10_000
    assert most_ahead[0] <= workers


def test_jobs_added_while_running_and_group_follow_ups_run(engine: Engine) -> None:
    pipeline = Pipeline(engine, workers=2)

    def then(conn: Connection) -> list[FetchJob]:
        count = conn.exec_driver_sql("SELECT count(*) FROM pages").scalar_one()
        return [paged_job(f"after-{count}", 1)]

    pipeline.add_group([paged_job("x", 3), paged_job("y", 2)], then)
    pipeline.run()
    # the follow-up saw both group members' pages written
    assert ("after-5", 1) in stored(engine)


def test_the_first_error_stops_the_run_and_keeps_written_pages(engine: Engine) -> None:
    pipeline = Pipeline(engine, workers=2)
    pipeline.add(paged_job("good", 3))
    pipeline.add(paged_job("bad", 5, fail_at=3))
    pipeline.add_all(paged_job(f"later{i}", 1) for i in range(1000))
    with pytest.raises(RuntimeError, match="bad broke at page 3"):
        pipeline.run()
    rows = stored(engine)
    assert {("bad", 1), ("bad", 2)} <= set(rows)
    assert pipeline.cancelled
    assert sum(job.startswith("later") for job, _ in rows) < 1000
