"""Column types shared by the models and the migrations.

Migrations import these from here (a stable module) rather than from the live
models, so an old migration keeps working when the models move on.

Datetimes are stored as UTC text ``YYYY-MM-DD HH:MM:SS``: the form SQLite's own
``datetime()`` produces, so ``updated_at > datetime('now', '-7 days')`` compares
correctly as text and every date function parses it. Dates are ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

UTC_FORMAT = "%Y-%m-%d %H:%M:%S"


def format_utc(value: datetime) -> str:
    """Format an aware datetime as stored UTC text (naive datetimes are taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime(UTC_FORMAT)


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime stored as UTC text; reads back as an aware ``datetime`` in UTC."""

    impl = String(19)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        """What a value reads back as (the stored text is only its form)."""
        return datetime

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, datetime):
            return format_utc(value)
        raise TypeError(
            f"UTCDateTime expects a datetime or stored text, got {type(value).__name__}"
        )

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return datetime.strptime(value, UTC_FORMAT).replace(tzinfo=UTC)


class ISODate(TypeDecorator[date]):
    """A calendar date stored as ``YYYY-MM-DD`` text; reads back as ``datetime.date``."""

    impl = String(10)
    cache_ok = True

    @property
    def python_type(self) -> type[date]:
        """What a value reads back as (the stored text is only its form)."""
        return date

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, date):
            return value.isoformat()
        raise TypeError(f"ISODate expects a date or stored text, got {type(value).__name__}")

    def process_result_value(self, value: Any, dialect: Dialect) -> date | None:
        if value is None:
            return None
        return date.fromisoformat(value[:10])
