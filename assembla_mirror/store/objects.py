"""The rows the offline object API asks for: a table's rows matching filters, a space's
members, a milestone's assignees, a ticket's custom field values.

Filters are ``{column: value}``: a value compares equal, ``None`` means IS
NULL, a list, tuple or set means IN; every value is a bound parameter. The
caller (:mod:`assembla_mirror.read.mirror`) has checked the column names and
turned records into ids. Statements are SQLAlchemy Core, so the database's
dialect writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, select

from assembla_mirror.model.tables import Base

Filters = Mapping[str, Any]


@dataclass(frozen=True)
class Between:
    """``column`` from ``low`` (inclusive) to ``high`` (exclusive); either may be open."""

    column: str
    low: datetime | None = None
    high: datetime | None = None


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _conditions(table: Table, filters: Filters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    for name, value in filters.items():
        column = table.c[name]
        if value is None:
            conditions.append(column.is_(None))
        elif isinstance(value, list | tuple | set | frozenset):
            conditions.append(column.in_(list(value)))
        else:
            conditions.append(column == value)
    return conditions


def _between(table: Table, span: Between | None) -> list[ColumnElement[bool]]:
    if span is None:
        return []
    column = table.c[span.column]
    conditions = []
    if span.low is not None:
        conditions.append(column >= span.low)
    if span.high is not None:
        conditions.append(column < span.high)
    return conditions


def find_rows(
    conn: Connection,
    table: str,
    filters: Filters,
    *,
    order: str | Sequence[str],
    span: Between | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``table`` matching ``filters`` (and ``span``), ordered by ``order`` (a
    column name, ``-name`` for descending, or several of them), as dicts of typed values."""
    model = _table(table)
    conditions = [*_conditions(model, filters), *_between(model, span)]
    statement = select(model).where(and_(*conditions)) if conditions else select(model)
    for key in [order] if isinstance(order, str) else order:
        column = model.c[key.lstrip("-")]
        statement = statement.order_by(column.desc() if key.startswith("-") else column)
    return [dict(row) for row in conn.execute(statement).mappings()]


def space_members(conn: Connection, space_id: str, filters: Filters) -> list[dict[str, Any]]:
    """Users holding a role in the space, matching ``filters``, by name."""
    users, roles = _table("users"), _table("user_roles")
    members = select(roles.c.user_id).where(roles.c.space_id == space_id)
    conditions = [users.c.id.in_(members), *_conditions(users, filters)]
    statement = select(users).where(and_(*conditions)).order_by(users.c.name)
    return [dict(row) for row in conn.execute(statement).mappings()]


def milestone_assignees(
    conn: Connection, milestone_id: int, filters: Filters
) -> list[dict[str, Any]]:
    """Users some ticket of the milestone is assigned to, matching ``filters``, by name."""
    users, tickets = _table("users"), _table("tickets")
    assigned = select(tickets.c.assigned_to_id).where(tickets.c.milestone_id == milestone_id)
    conditions = [users.c.id.in_(assigned), *_conditions(users, filters)]
    statement = select(users).where(and_(*conditions)).order_by(users.c.name)
    return [dict(row) for row in conn.execute(statement).mappings()]


def ticket_custom_field_values(conn: Connection, ticket_id: int) -> dict[str, str | None]:
    """A ticket's custom field values by title."""
    values = _table("ticket_custom_fields")
    statement = (
        select(values.c.title, values.c.value)
        .where(values.c.ticket_id == ticket_id)
        .order_by(values.c.title)
    )
    return {str(row[0]): row[1] for row in conn.execute(statement)}
