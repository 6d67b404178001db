"""A mirror in a PostgreSQL database: one mirror the whole team reads.

The mirror lives in one schema of the database (``public`` unless the URL says
``?schema=NAME``), which every connection puts first on its ``search_path``:
the store's SQL never names a schema, so several mirrors can share a database.
The driver is psycopg 3 (the optional extra ``postgres``).

* A new mirror is created at the head revision from the models, with the
  full-text index (:mod:`.pg_search`), in one transaction (PostgreSQL's DDL is
  transactional), and stamped; later migrations run as on SQLite. No file copy
  is kept before a migration: a failed one rolls back whole. Back the database
  up with ``pg_dump`` (the README says how).
* Text columns sort and compare by code point (``COLLATE "C"``), as in
  SQLite, whatever the database's own collation: reports list names in the
  same order on both.
* The run lock is a session advisory lock held by a connection of its own for
  the length of a sync: the server releases it when that connection ends, also
  when the process is killed. Readers take no lock at all (MVCC).
* A refused row (a constraint) aborts a PostgreSQL transaction, so each batch
  that may be refused runs under a savepoint.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from typing import Any

from sqlalchemy import Connection, Engine, String, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from assembla_mirror.errors import ConfigError, LockedError, MirrorError, SchemaError
from assembla_mirror.model.tables import Base
from assembla_mirror.store import pg_search
from assembla_mirror.store.dialect import Contents, Dialect, quote
from assembla_mirror.store.failures import describe_database_error
from assembla_mirror.store.target import EXTRA_MISSING, DatabaseTarget

#: What a connection identifies itself as (``pg_stat_activity.application_name``).
APPLICATION = "assembla-mirror"
#: libpq's settings that keep a vanished server from hanging a sync (libpq waits for
#: ever by default): at most 10 s to connect, and a connection whose server stops
#: answering (idle, or with a statement sent and never acknowledged) is found dead
#: within about a minute. A URL's own values win.
LIVENESS = {
    "connect_timeout": "10",
    "keepalives": "1",
    "keepalives_idle": "30",
    "keepalives_interval": "10",
    "keepalives_count": "3",
    "tcp_user_timeout": "60000",
}


class PostgresDialect(Dialect):
    """A mirror in one schema of a PostgreSQL database."""

    name = "postgresql"
    #: The wire protocol counts bind parameters in 16 bits.
    max_parameters = 65_535
    creates_at_head = True

    # --- opening ---------------------------------------------------------------------

    def exists(self, target: DatabaseTarget) -> bool:
        return bool(self.contents(target, readonly=True, busy_timeout_ms=10_000).names)

    def contents(self, target: DatabaseTarget, *, readonly: bool, busy_timeout_ms: int) -> Contents:
        engine = self._engine(target, busy_timeout_ms=busy_timeout_ms, readonly=True, pool=False)
        try:
            with engine.connect() as conn:
                names = frozenset(
                    conn.execute(
                        text(
                            "SELECT c.relname FROM pg_class AS c "
                            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'v', 'p', 'f')"
                        ),
                        {"schema": target.schema},
                    ).scalars()
                )
                revision = None
                if "alembic_version" in names:
                    revision = conn.execute(
                        text("SELECT version_num FROM alembic_version")
                    ).scalar_one_or_none()
        finally:
            engine.dispose()
        return Contents(revision, names)

    def create_engine(
        self, target: DatabaseTarget, *, busy_timeout_ms: int, readonly: bool = False
    ) -> Engine:
        return self._engine(target, busy_timeout_ms=busy_timeout_ms, readonly=readonly, pool=True)

    def _engine(
        self, target: DatabaseTarget, *, busy_timeout_ms: int, readonly: bool, pool: bool
    ) -> Engine:
        # Session settings go in the startup packet (libpq's "options"), so that no
        # connection ever runs a statement outside the mirror's schema or timeouts.
        settings = [f"-c search_path={target.schema}", f"-c lock_timeout={int(busy_timeout_ms)}"]
        if readonly:
            settings.append("-c default_transaction_read_only=on")
        else:
            # A commit does not wait for its WAL to reach the disk, as SQLite's WAL mode
            # with synchronous=NORMAL does not: a server crash may lose the last moment's
            # commits (pages with their checkpoints: the next sync fetches them again),
            # never consistency. It saves a sync a disk flush per transaction.
            settings.append("-c synchronous_commit=off")
        # The report views' plans look costly enough to PostgreSQL to JIT-compile them,
        # which takes longer than running them (2-3 s of a 5 s burndown at 100,000
        # tickets). A default only: a URL's own options come after it, and win.
        defaults = ["-c jit=off"]
        given = target.url.query.get("options")
        options = " ".join([*defaults, *([given] if isinstance(given, str) else []), *settings])
        arguments: dict[str, Any] = {
            "connect_args": {
                **{name: value for name, value in LIVENESS.items() if name not in target.url.query},
                "options": options,
                "application_name": APPLICATION,
            },
        }
        if not pool:
            arguments["poolclass"] = NullPool
        try:
            return create_engine(target.url, **arguments)
        except ModuleNotFoundError as exc:
            if exc.name is not None and exc.name.startswith("psycopg"):
                raise ConfigError(EXTRA_MISSING) from None
            raise

    def writable(self, target: DatabaseTarget) -> bool:
        # The server decides, statement by statement; a refusal is described then.
        return True

    def describe_error(self, exc: BaseException, target: DatabaseTarget) -> MirrorError | None:
        return describe_database_error(exc, target)

    # --- creating and migrating --------------------------------------------------------

    def create_at_head(self, connection: Connection) -> None:
        encoding = connection.exec_driver_sql("SHOW server_encoding").scalar()
        if encoding != "UTF8":
            raise SchemaError(
                f"a mirror needs a UTF-8 database (this one is {encoding}): Assembla's text "
                "is Unicode; create one with createdb -E UTF8 -T template0 NAME"
            )
        schema = connection.exec_driver_sql("SELECT current_setting('search_path')").scalar()
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {quote(str(schema))}")
        create_tables(connection)

    def backup(self, target: DatabaseTarget, revision: str | None, *, busy_timeout_ms: int) -> None:
        return None  # a migration is one transaction: it commits whole or not at all

    def migrating(self, connection: Connection) -> Any:
        return nullcontext()

    @contextmanager
    def run_lock(self, target: DatabaseTarget) -> Iterator[None]:
        engine = self._engine(target, busy_timeout_ms=10_000, readonly=False, pool=False)
        try:
            with engine.connect() as conn:
                key = lock_key(target.schema)
                taken = conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
                if not taken.scalar_one():
                    raise LockedError(
                        f"another `mirror sync` is already running on {target}; "
                        "wait for it to finish (readers are not affected)"
                    )
                conn.commit()  # the lock is the session's: no transaction stays open
                try:
                    yield
                finally:
                    # Closing the connection (below) ends the session, and the lock with it;
                    # a connection already lost (server restarted, session terminated) has
                    # nothing left to release, and its error must not hide the sync's own.
                    with suppress(DBAPIError):
                        conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                        conn.commit()
        finally:
            engine.dispose()

    # --- writing -----------------------------------------------------------------------

    def placeholders(self, count: int) -> str:
        return ",".join(["%s"] * count)

    def insert_rows(
        self, connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Any]
    ) -> None:
        # COPY: a tenth of the time and a sixth of the server's CPU of an executemany
        # of INSERTs (measured: 100,000 custom field rows, 0.22 s against 1.7 s).
        import psycopg  # the optional extra: here only once a PostgreSQL connection exists

        statement = f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"
        driver = connection.connection.driver_connection
        assert driver is not None, "a connection in use has its driver's connection"
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as exc:
            # As SQLAlchemy wraps what it runs itself (IntegrityError for a refused row).
            raise DBAPIError.instance(statement, None, exc, psycopg.Error) from None

    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c not in key)
        return (
            f"{self.insert_sql(table, columns)} "
            f"ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE SET {updates}"
        )

    def insert_new_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        keys = ", ".join(map(quote, key))
        return f"{self.insert_sql(table, columns)} ON CONFLICT ({keys}) DO NOTHING"

    @contextmanager
    def refusable(self, connection: Connection) -> Iterator[None]:
        # A refused statement aborts the whole transaction; a savepoint confines it.
        with connection.begin_nested():
            yield

    def refused_columns(self, reason: str, table: str, columns: Sequence[str]) -> list[str]:
        # DETAIL:  Key (space_id, number)=(a, 1) already exists.
        # null value in column "summary" of relation "tickets" violates ...
        found = re.search(r"Key \(([^)]*)\)=", reason)
        if found:
            return [name.strip().strip('"') for name in found.group(1).split(",")]
        return re.findall(r'column "(\w+)"', reason)[:1]

    def continue_ids(self, connection: Connection, table: str, column: str) -> None:
        # setval(..., NULL) (an empty table) leaves the sequence alone.
        connection.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:table, :column), "
                f"(SELECT max({quote(column)}) FROM {quote(table)}))"
            ),
            {"table": quote(table), "column": column},
        )

    # --- searching ---------------------------------------------------------------------

    def index_queued(self, connection: Connection, source: str, columns: Sequence[str]) -> int:
        return pg_search.index_queued(connection, source, columns)

    def matching_tickets(
        self, connection: Connection, words: Sequence[str], limit: int, space_ids: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        return pg_search.matching_tickets(connection, words, limit, space_ids)

    def contains(self, text: str, part: str) -> str:
        return f"strpos({text}, {part}) > 0"

    def internal_tables(self, connection: Connection) -> set[str]:
        return pg_search.internal_tables()

    # --- expressions of views and reports -----------------------------------------------

    def week_start(self, column: str) -> str:
        # Datetimes are UTC text; date_trunc's week starts on Monday (ISO 8601).
        return f"to_char(date_trunc('week', CAST({column} AS timestamp)), 'YYYY-MM-DD')"

    def today(self) -> str:
        return "to_char(CURRENT_TIMESTAMP AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def rounded(self, number: str, digits: int) -> str:
        # round(double, n) does not exist: round as numeric, and read back a float
        # (psycopg would hand numeric to Python as Decimal).
        return f"CAST(ROUND(CAST({number} AS NUMERIC), {int(digits)}) AS DOUBLE PRECISION)"

    def seconds_between(self, start: str, end: str) -> str:
        # Stored datetimes are UTC text without fractions: the difference is whole seconds.
        return (
            f"CAST(EXTRACT(EPOCH FROM CAST({end} AS timestamp) - CAST({start} AS timestamp))"
            " AS BIGINT)"
        )

    def next_day(self, day: str) -> str:
        return f"to_char(CAST({day} AS date) + 1, 'YYYY-MM-DD')"

    def date_value(self, day: str) -> str:
        return f"CAST({day} AS date)"


def create_tables(connection: Connection) -> None:
    """The mirror's tables at head, text collated ``"C"``, and its full-text index, in
    the schema first on the connection's ``search_path`` (which must exist)."""
    Base.metadata.create_all(connection)
    for table in Base.metadata.sorted_tables:
        # Dates and datetimes are text too (a TypeDecorator over String). One
        # statement per table: each ALTER TABLE rebuilds the table's indexes.
        collated = [
            f"ALTER COLUMN {quote(column.name)} "
            f'TYPE {column.type.compile(connection.dialect)} COLLATE "C"'
            for column in table.columns
            if isinstance(getattr(column.type, "impl", column.type), String)
        ]
        if collated:
            connection.exec_driver_sql(f"ALTER TABLE {quote(table.name)} {', '.join(collated)}")
    for statement in pg_search.schema_statements():
        connection.exec_driver_sql(statement)


def lock_key(schema: str) -> int:
    """The advisory lock key of the mirror in ``schema`` (locks are per database already)."""
    digest = hashlib.sha256(f"assembla-mirror:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


POSTGRESQL = PostgresDialect()
