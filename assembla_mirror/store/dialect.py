"""What differs between databases, behind one small interface.

The rest of the store writes SQL that every supported database reads alike
(``text()`` with named binds, or SQLAlchemy Core) and asks a :class:`Dialect`
for the rest:

* opening: whether a database is there, what it holds before anything writes
  to it, an engine whose connections are set up for the mirror, whether it may
  be written, and what one error of its driver means for the user;
* creating and migrating: a new database built at the head revision (where
  the dialect does that rather than replaying history), the copy kept before
  a migration, what must hold around one, and the run lock that keeps two
  syncs (and two first migrations) apart;
* writing: parameter markers, plain insert, upsert and insert-if-new
  statements (the sync's hot path runs them through the driver), how many
  bound parameters one statement may hold, and what a refused row leaves;
* searching: the full-text index (indexing queued rows, ranked matching, the
  tables it keeps) and a substring test for what the index cannot find;
* expressions the views and reports share: the start of a week, today, a
  rounded number, the seconds between two datetimes, the day after a date, a
  date value.

The implementations are :mod:`.sqlite` and :mod:`.postgres`; which one serves
a database is :mod:`.backends`' choice, from its URL or an open connection.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine

from assembla_mirror.errors import MirrorError
from assembla_mirror.store.target import DatabaseTarget


@dataclass(frozen=True)
class Contents:
    """What a database holds before the mirror writes to it.

    ``revision`` is its Alembic revision (None when unstamped or new);
    ``names`` the names of its tables, views, indexes and triggers.
    """

    revision: str | None = None
    names: frozenset[str] = frozenset()


def quote(name: str) -> str:
    """Quote an identifier, standard SQL (column names such as ``order`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


class Dialect(ABC):
    """What the store asks of a database that differs from one database to another."""

    #: The SQLAlchemy backend name of the databases this dialect serves.
    name: ClassVar[str]
    #: Most bound parameters one statement may hold.
    max_parameters: ClassVar[int]

    # --- opening -------------------------------------------------------------------

    @abstractmethod
    def exists(self, target: DatabaseTarget) -> bool:
        """Whether there is a database to open at ``target`` (for a file: the file; for a
        server: the mirror's tables in its schema). Refuses (raises
        :class:`~assembla_mirror.errors.MirrorError`) what cannot hold a mirror."""

    @abstractmethod
    def contents(self, target: DatabaseTarget, *, readonly: bool, busy_timeout_ms: int) -> Contents:
        """What the database holds (empty :class:`Contents` for a new one), read without
        changing anything; with ``readonly``, where the database cannot be written."""

    @abstractmethod
    def create_engine(
        self, target: DatabaseTarget, *, busy_timeout_ms: int, readonly: bool = False
    ) -> Engine:
        """An engine whose connections are set up for the mirror.

        Connections wait up to ``busy_timeout_ms`` for another one's write lock,
        enforce foreign keys, and make every write, DDL included, happen in a
        real transaction. With ``readonly`` they can only read.
        """

    @abstractmethod
    def writable(self, target: DatabaseTarget) -> bool:
        """Whether the mirror may write to the database."""

    @abstractmethod
    def describe_error(self, exc: BaseException, target: DatabaseTarget) -> MirrorError | None:
        """The error a user should see for ``exc``, met using ``target`` (None: not one of
        the database's own failures, such as a bug)."""

    # --- creating and migrating ------------------------------------------------------

    #: A new database is built at the head revision by :meth:`create_at_head`, not by
    #: replaying every migration (a dialect newer than the oldest revisions does so).
    creates_at_head: ClassVar[bool] = False

    def create_at_head(self, connection: Connection) -> None:
        """Create the mirror's schema at the head revision on ``connection`` (in the
        caller's transaction; the caller stamps the revision)."""
        raise NotImplementedError(f"{self.name} databases are created by their migrations")

    @abstractmethod
    def backup(
        self, target: DatabaseTarget, revision: str | None, *, busy_timeout_ms: int
    ) -> Path | None:
        """Keep a consistent copy of the database at ``revision`` before migrating it;
        return where, or None when the dialect keeps no copy itself."""

    @abstractmethod
    def migrating(self, connection: Connection) -> AbstractContextManager[None]:
        """What must hold around a migration run on ``connection`` (taken outside any
        transaction), checked when it ends; raises :class:`SchemaError` on a bad result."""

    @abstractmethod
    def run_lock(self, target: DatabaseTarget) -> AbstractContextManager[object]:
        """An exclusive, non-blocking lock on the database for the length of a sync.

        Raises :class:`~assembla_mirror.errors.LockedError` when another holds it.
        The kernel (or the server) must release it when its holder dies.
        """

    # --- writing -------------------------------------------------------------------

    @abstractmethod
    def placeholders(self, count: int) -> str:
        """``count`` positional parameter markers of the driver, comma-separated."""

    def insert_sql(self, table: str, columns: Sequence[str]) -> str:
        """A plain ``INSERT`` of ``columns`` taking positional parameters."""
        return (
            f"INSERT INTO {quote(table)} ({', '.join(map(quote, columns))}) "
            f"VALUES ({self.placeholders(len(columns))})"
        )

    def insert_rows(
        self, connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Any]
    ) -> None:
        """Insert ``rows`` (tuples in ``columns`` order), all new, in the caller's
        transaction; a refused row raises IntegrityError, as :meth:`insert_sql` would."""
        connection.exec_driver_sql(self.insert_sql(table, columns), rows)

    @abstractmethod
    def upsert_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """An insert of ``columns`` that updates every non-key column of a row whose
        ``key`` is already stored."""

    @abstractmethod
    def insert_new_sql(self, table: str, columns: Sequence[str], key: Sequence[str]) -> str:
        """An insert of ``columns`` that leaves out rows whose ``key`` is already stored."""

    @abstractmethod
    def refusable(self, connection: Connection) -> AbstractContextManager[None]:
        """Around statements the database may refuse (a constraint), so that a refusal
        leaves the transaction usable; it undoes at least the refused statement."""

    @abstractmethod
    def refused_columns(self, reason: str, table: str, columns: Sequence[str]) -> list[str]:
        """The columns of ``table`` that a refusal's ``reason`` (the driver's message) names."""

    def continue_ids(self, connection: Connection, table: str, column: str) -> None:
        """Make new rows of ``table`` take ids in ``column`` past the largest stored one,
        after rows were inserted with their ids (a copy); nothing where the database
        does that itself (SQLite's rowid)."""
        return

    # --- searching -----------------------------------------------------------------

    @abstractmethod
    def index_queued(self, connection: Connection, source: str, columns: Sequence[str]) -> int:
        """Index the rows of ``source`` queued in ``search_pending``; how many."""

    @abstractmethod
    def matching_tickets(
        self, connection: Connection, words: Sequence[str], limit: int, space_ids: Sequence[str]
    ) -> list[tuple[Any, ...]]:
        """Tickets whose summary, description or comments hold every word (a word or the
        start of one, case and accents folded), best first, at most ``limit``, in
        ``space_ids`` (all when empty): (id, space_id, space name, number, summary,
        snippet with the words marked ``[...]``, rank)."""

    @abstractmethod
    def contains(self, text: str, part: str) -> str:
        """A condition: SQL expression ``text`` holds ``part`` as is (case-sensitive)."""

    @abstractmethod
    def internal_tables(self, connection: Connection) -> set[str]:
        """Tables of the dialect's own machinery (a full-text index's), not for people."""

    # --- expressions of views and reports -------------------------------------------

    @abstractmethod
    def week_start(self, column: str) -> str:
        """The date (``YYYY-MM-DD``) of the Monday of the week of UTC datetime ``column``."""

    @abstractmethod
    def today(self) -> str:
        """Today's date (``YYYY-MM-DD``, UTC)."""

    def rounded(self, number: str, digits: int) -> str:
        """SQL expression ``number`` rounded to ``digits`` decimals, as a float."""
        return f"ROUND({number}, {int(digits)})"

    @abstractmethod
    def seconds_between(self, start: str, end: str) -> str:
        """Whole seconds from UTC datetime ``start`` to ``end`` (both stored text), an
        integer; NULL when either is NULL."""

    @abstractmethod
    def next_day(self, day: str) -> str:
        """The date (``YYYY-MM-DD``) after date ``day`` (``YYYY-MM-DD`` text)."""

    def date_value(self, day: str) -> str:
        """Valid ``YYYY-MM-DD`` text ``day`` as the database's date: the text itself where
        dates are text (SQLite), a ``date`` where the database has the type."""
        return day
