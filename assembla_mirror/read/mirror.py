"""The offline object API: the original ``assembla`` wrapper's interface, answered by the mirror.

    from assembla_mirror import Mirror

    m = Mirror("assembla.db")
    space = m.space(name="Big Project")
    tickets = space.tickets(assigned_to_id=user.id, priority=1, status_name="Test")

Filters become SQL with bound parameters (never a Python loop over a table; see
:mod:`assembla_mirror.store.objects`): ``field=value`` compares, ``None`` means
IS NULL, a list/tuple/set means IN.
A filter naming no column raises :class:`~assembla_mirror.errors.ConfigError`
listing the columns. Singular lookups return the one match or None, and raise
:class:`AmbiguousError` when several match, as the original did. The mirror is
the cache: nothing here touches the network except :meth:`Mirror.sync`.

Beyond the original: a ticket's history is ``ticket.history()`` and
``ticket.status_intervals()`` (:mod:`assembla_mirror.read.history`), and the
tickets deleted upstream, whose history the mirror keeps, ``m.deleted_tickets()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from dateutil import parser as dateparser
from sqlalchemy import Table

from assembla_mirror.errors import ConfigError, MirrorError
from assembla_mirror.model.tables import Base
from assembla_mirror.read.history import Change, DeletedTicket, StatusInterval
from assembla_mirror.read.records import Event, Milestone, Record, Space, Task, Ticket, User
from assembla_mirror.store import objects
from assembla_mirror.store.database import database_target, open_existing
from assembla_mirror.store.flow_reports import stay_rows
from assembla_mirror.store.objects import Between
from assembla_mirror.store.search import search_tickets

R = TypeVar("R", bound=Record)

#: Names the original wrapper used for our columns.
ALIASES = {"status_name": "status"}


class AmbiguousError(MirrorError):
    """A singular lookup (``space.ticket(...)``) matched more than one record."""


class Mirror:
    """Read a mirror offline through the original wrapper's objects."""

    def __init__(self, path: str | Path = "assembla.db") -> None:
        #: The mirror as given: a SQLite file's path or a database URL.
        self.path = path
        self.engine = open_existing(path)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Mirror {database_target(self.path)}>"  # a URL's password hidden

    # --- top-level collections -------------------------------------------------------

    def spaces(self, **filters: Any) -> list[Space]:
        """Spaces matching ``filters``."""
        return self._select(Space, filters)

    def space(self, **filters: Any) -> Space | None:
        """One space, e.g. ``m.space(name="Big Project")``."""
        return self._one(Space, filters)

    def users(self, **filters: Any) -> list[User]:
        """Users matching ``filters``."""
        return self._select(User, filters)

    def user(self, **filters: Any) -> User | None:
        """One user."""
        return self._one(User, filters)

    def tickets(self, **filters: Any) -> list[Ticket]:
        """Tickets of every space matching ``filters``."""
        return self._select(Ticket, filters)

    def deleted_tickets(self, **filters: Any) -> list[DeletedTicket]:
        """Tickets deleted upstream after they were mirrored, with their history."""
        return self._select(DeletedTicket, filters)

    def deleted_ticket(self, **filters: Any) -> DeletedTicket | None:
        """One deleted ticket, e.g. ``m.deleted_ticket(space_id=space.id, number=12)``."""
        return self._one(DeletedTicket, filters)

    def tasks(
        self,
        *,
        space: Space | str | None = None,
        user: User | str | None = None,
        ticket: Ticket | int | None = None,
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
        **filters: Any,
    ) -> list[Task]:
        """Time entries by space, user, ticket and ``begin_at`` range (``until`` is inclusive)."""
        scope = _scope(space_id=space, user_id=user, ticket_id=ticket)
        span = _span("begin_at", since, until)
        return self._select(Task, filters, span=span, order="begin_at", **scope)

    def events(
        self,
        *,
        space: Space | str | None = None,
        since: date | datetime | str | None = None,
        until: date | datetime | str | None = None,
        **filters: Any,
    ) -> list[Event]:
        """Activity events the mirror has kept, newest first."""
        scope = _scope(space_id=space)
        span = _span("date", since, until)
        return self._select(Event, filters, span=span, order="-date", **scope)

    def search(self, text: str, *, limit: int = 50) -> list[Ticket]:
        """Tickets whose summary or description match ``text`` (full-text, best first)."""
        with self.engine.connect() as conn:
            ids = [hit.ticket_id for hit in search_tickets(conn, text, limit=limit)]
        by_id = {ticket.id: ticket for ticket in self._select(Ticket, {"id": ids})}
        return [by_id[ticket_id] for ticket_id in ids if ticket_id in by_id]

    def sync(self, **options: Any) -> Any:
        """Run a sync into this mirror (``SyncOptions`` fields as keywords); returns its report."""
        from assembla_mirror.sync import SyncOptions, sync

        return sync(SyncOptions(db_path=self.path, **options))

    # --- machinery used by the records ---------------------------------------------------

    def _table(self, kind: type[Record]) -> Table:
        return Base.metadata.tables[kind.table]

    def _select(
        self,
        kind: type[R],
        filters: Mapping[str, Any],
        *,
        span: Between | None = None,
        order: str | Sequence[str] | None = None,
        **scope: Any,
    ) -> list[R]:
        table = self._table(kind)
        where = _filters(table, kind, {**filters, **scope})
        key = order or ("number" if "number" in table.c else "id")
        with self.engine.connect() as conn:
            rows = objects.find_rows(conn, kind.table, where, order=key, span=span)
        return [kind(self, row) for row in rows]

    def _one(self, kind: type[R], filters: Mapping[str, Any], **scope: Any) -> R | None:
        if not filters:
            raise ConfigError(f"say which {kind.__name__.lower()}: pass at least one filter")
        return self._only(kind, self._select(kind, filters, **scope), filters)

    def _only(self, kind: type[R], matches: list[R], filters: Mapping[str, Any]) -> R | None:
        if len(matches) > 1:
            raise AmbiguousError(
                f"{len(matches)} {kind.table} match {dict(filters)}; "
                f"use {kind.table}() for all of them or narrow the filters"
            )
        return matches[0] if matches else None

    def _get(self, kind: type[R], key: Any) -> R | None:
        return self._only(kind, self._select(kind, {"id": key}), {"id": key})

    def _members(self, space: Space, filters: Mapping[str, Any]) -> list[User]:
        where = _filters(self._table(User), User, filters)
        with self.engine.connect() as conn:
            rows = objects.space_members(conn, space.id, where)
        return [User(self, row, space_id=space.id) for row in rows]

    def _assignees(self, milestone: Milestone, filters: Mapping[str, Any]) -> list[User]:
        where = _filters(self._table(User), User, filters)
        with self.engine.connect() as conn:
            rows = objects.milestone_assignees(conn, milestone.id, where)
        return [User(self, row, space_id=milestone.space_id) for row in rows]

    def _custom_fields(self, ticket_id: int) -> dict[str, str | None]:
        with self.engine.connect() as conn:
            return objects.ticket_custom_field_values(conn, ticket_id)

    def _history(self, ticket_id: int) -> list[Change]:
        # In the order they happened; changes of one instant in the order recorded.
        return self._select(Change, {}, ticket_id=ticket_id, order=("changed_at", "id"))

    def _stays(self, ticket_id: int) -> list[StatusInterval]:
        with self.engine.connect() as conn:
            found = stay_rows(conn, [ticket_id])
        return [StatusInterval.from_row(row) for row in found.rows]


def _scope(**references: Any) -> dict[str, Any]:
    """Turn record-or-id arguments (``space=...``) into column filters."""
    return {
        column: value.id if isinstance(value, Record) else value
        for column, value in references.items()
        if value is not None
    }


def _filters(table: Table, kind: type[Record], filters: Mapping[str, Any]) -> dict[str, Any]:
    """``filters`` as column filters for the store: names checked, aliases and records resolved."""
    checked: dict[str, Any] = {}
    for name, value in filters.items():
        column_name = ALIASES.get(name, name)
        if column_name not in table.c:
            raise ConfigError(
                f"{kind.table} have no field {name!r}; filter on one of: "
                + ", ".join(column.name for column in table.c if column.name != "raw_json")
            )
        checked[column_name] = value.id if isinstance(value, Record) else value
    return checked


def _span(
    column: str,
    since: date | datetime | str | None,
    until: date | datetime | str | None,
) -> Between | None:
    """``column`` between ``since`` and ``until`` (inclusive), or None for no bound."""
    if since is None and until is None:
        return None
    low = None if since is None else _instant(since, end=False)
    high = None if until is None else _instant(until, end=True)
    return Between(column, low, high)


def _instant(value: date | datetime | str, *, end: bool) -> datetime:
    """A bound as an aware UTC datetime; a date (or date string) ``until`` includes that day."""
    if isinstance(value, str):
        try:
            parsed = dateparser.isoparse(value)
        except ValueError:
            raise ConfigError(f"cannot read {value!r} as a date or datetime") from None
        is_date_only = len(value.strip()) <= 10
        value = parsed.date() if is_date_only else parsed
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC) + (timedelta(seconds=1) if end else timedelta(0))
    day = datetime.combine(value, time(), tzinfo=UTC)
    return day + timedelta(days=1) if end else day
