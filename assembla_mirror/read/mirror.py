"""The offline object API: the original ``assembla`` wrapper's interface, answered by the mirror.

    from assembla_mirror import Mirror

    m = Mirror("assembla.db")
    space = m.space(name="Big Project")
    tickets = space.tickets(assigned_to_id=user.id, priority=1, status_name="Test")

Filters become SQL with bound parameters (never a Python loop over a table):
``field=value`` compares, ``None`` means IS NULL, a list/tuple/set means IN.
A filter naming no column raises :class:`~assembla_mirror.errors.ConfigError`
listing the columns. Singular lookups return the one match or None, and raise
:class:`AmbiguousError` when several match, as the original did. The mirror is
the cache: nothing here touches the network except :meth:`Mirror.sync`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from dateutil import parser as dateparser
from sqlalchemy import ColumnElement, Table, and_, select

from assembla_mirror.errors import ConfigError, MirrorError
from assembla_mirror.model.tables import Base
from assembla_mirror.read.records import Event, Milestone, Record, Space, Task, Ticket, User
from assembla_mirror.store.database import open_existing

R = TypeVar("R", bound=Record)

#: Names the original wrapper used for our columns.
ALIASES = {"status_name": "status"}


class AmbiguousError(MirrorError):
    """A singular lookup (``space.ticket(...)``) matched more than one record."""


class Mirror:
    """Read a mirror offline through the original wrapper's objects."""

    def __init__(self, path: str | Path = "assembla.db") -> None:
        self.path = Path(path)
        self.engine = open_existing(self.path)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Mirror {self.path}>"

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
        conditions = _range(self._table(Task), "begin_at", since, until)
        return self._select(Task, filters, extra=conditions, order="begin_at", **scope)

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
        conditions = _range(self._table(Event), "date", since, until)
        return self._select(Event, filters, extra=conditions, order="-date", **scope)

    def search(self, text: str, *, limit: int = 50) -> list[Ticket]:
        """Tickets whose summary or description match ``text`` (full-text, best first)."""
        from assembla_mirror.store.search import search_tickets

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
        extra: Iterable[ColumnElement[bool]] = (),
        order: str | None = None,
        **scope: Any,
    ) -> list[R]:
        table = self._table(kind)
        conditions = [*_conditions(table, kind, {**filters, **scope}), *extra]
        statement = select(table).where(and_(*conditions)) if conditions else select(table)
        key = order or ("number" if "number" in table.c else "id")
        column = table.c[key.lstrip("-")]
        statement = statement.order_by(column.desc() if key.startswith("-") else column)
        with self.engine.connect() as conn:
            rows = conn.execute(statement).mappings().all()
        return [kind(self, dict(row)) for row in rows]

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
        users = self._table(User)
        roles = Base.metadata.tables["user_roles"]
        members = select(roles.c.user_id).where(roles.c.space_id == space.id)
        conditions = [users.c.id.in_(members), *_conditions(users, User, filters)]
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).where(and_(*conditions)).order_by(users.c.name))
            return [User(self, dict(row), space_id=space.id) for row in rows.mappings()]

    def _assignees(self, milestone: Milestone, filters: Mapping[str, Any]) -> list[User]:
        users, tickets = self._table(User), self._table(Ticket)
        assigned = select(tickets.c.assigned_to_id).where(tickets.c.milestone_id == milestone.id)
        conditions = [users.c.id.in_(assigned), *_conditions(users, User, filters)]
        with self.engine.connect() as conn:
            rows = conn.execute(select(users).where(and_(*conditions)).order_by(users.c.name))
            return [User(self, dict(row), space_id=milestone.space_id) for row in rows.mappings()]

    def _custom_fields(self, ticket_id: int) -> dict[str, str | None]:
        values = Base.metadata.tables["ticket_custom_fields"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(values.c.title, values.c.value)
                .where(values.c.ticket_id == ticket_id)
                .order_by(values.c.title)
            )
            return {str(row[0]): row[1] for row in rows}


def _scope(**references: Any) -> dict[str, Any]:
    """Turn record-or-id arguments (``space=...``) into column filters."""
    return {
        column: value.id if isinstance(value, Record) else value
        for column, value in references.items()
        if value is not None
    }


def _conditions(table: Table, kind: type[Record], filters: Mapping[str, Any]) -> list[Any]:
    conditions: list[Any] = []
    for name, value in filters.items():
        column_name = ALIASES.get(name, name)
        if column_name not in table.c:
            raise ConfigError(
                f"{kind.table} have no field {name!r}; filter on one of: "
                + ", ".join(column.name for column in table.c if column.name != "raw_json")
            )
        column = table.c[column_name]
        if isinstance(value, Record):
            value = value.id
        if value is None:
            conditions.append(column.is_(None))
        elif isinstance(value, list | tuple | set | frozenset):
            conditions.append(column.in_(list(value)))
        else:
            conditions.append(column == value)
    return conditions


def _range(
    table: Table,
    column_name: str,
    since: date | datetime | str | None,
    until: date | datetime | str | None,
) -> list[ColumnElement[bool]]:
    column = table.c[column_name]
    conditions = []
    if since is not None:
        conditions.append(column >= _instant(since, end=False))
    if until is not None:
        conditions.append(column < _instant(until, end=True))
    return conditions


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
