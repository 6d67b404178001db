"""pandas DataFrames from a mirror, with the dtypes the data means (pandas is an optional extra).

    from assembla_mirror.read import frames

    tasks = frames.tasks("assembla.db", since="2026-01-01")
    tasks.groupby("space_name")["hours"].sum()

Every helper takes the mirror as a path (the file must exist) or an open
:class:`~assembla_mirror.read.mirror.Mirror`. Columns get their meaning as dtypes:

* datetimes: ``datetime64[ns, UTC]`` (the mirror stores UTC);
* dates (``due_date``, ``week_start`` ...): ``datetime64[ns]`` at midnight;
* hours, estimates, budgets: ``float64``;
* flags: the nullable ``boolean``; integers: the nullable ``Int64``;
* a few low-cardinality labels (ticket ``status``, event ``object`` and
  ``operation``, member ``role``): ``category``; other text: ``string``.

The ``raw_json`` payloads are left out unless asked for (they are large).
Date filters are inclusive calendar days in UTC, as in ``mirror report``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Boolean, Connection, Float, Integer, Numeric
from sqlalchemy import types as sqltypes

from assembla_mirror.errors import ConfigError, MirrorError
from assembla_mirror.model.columns import UTC_FORMAT, ISODate, UTCDateTime
from assembla_mirror.model.tables import Base
from assembla_mirror.read.mirror import Mirror
from assembla_mirror.read.reports.common import check_days, connect, resolve_spaces
from assembla_mirror.read.reports.hours import NO_DATE
from assembla_mirror.read.reports.hours import hours as hours_report
from assembla_mirror.store import listings
from assembla_mirror.store.results import Rows

if TYPE_CHECKING:
    import pandas as pd

Source = str | os.PathLike[str] | Mirror
Kind = Literal["datetime", "date", "bool", "int", "float", "str", "category"]

DEFAULT_SOURCE = "assembla.db"

#: Text columns with few distinct values, worth pandas' ``category``.
CATEGORIES = {
    ("tickets", "status"),
    ("events", "object"),
    ("events", "operation"),
    ("user_roles", "role"),
    ("custom_fields", "type"),
    ("sync_runs", "outcome"),
    ("sync_runs", "mode"),
}

#: Columns of the report views (and of the joins below) that no model declares.
DERIVED_KINDS: dict[str, Kind] = {
    "space_name": "str",
    "user_login": "str",
    "user_name": "str",
    "assignee_login": "str",
    "assignee_name": "str",
    "milestone_title": "str",
    "ticket_summary": "str",
    "week_start": "date",
    "hours": "float",
    "entries": "int",
    "tickets": "int",
    "tickets_total": "int",
    "tickets_open": "int",
    "tickets_closed": "int",
    "percent_closed": "float",
    "estimate": "float",
    "invested_hours": "float",
    "overdue": "bool",
    # names the views share with the tables they read
    "space_id": "str",
    "user_id": "str",
    "assigned_to_id": "str",
    "ticket_id": "int",
    "milestone_id": "int",
    "number": "int",
    "summary": "str",
    "title": "str",
    "status": "category",
    "state": "int",
    "start_date": "date",
    "due_date": "date",
    "completed_date": "date",
    "is_completed": "bool",
    # columns of the hours and tickets reports
    "space": "str",
    "user": "str",
    "login": "str",
    "week": "date",
    "milestone": "str",
    "ticket": "int",
}


def _pandas() -> ModuleType:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise MirrorError(
            "pandas is not installed; install it with: pip install 'assembla-mirror[pandas]'"
        ) from None


def column_kind(table: str, column: str) -> Kind | None:
    """The kind of a model column (None for a name the model does not have)."""
    if (table, column) in CATEGORIES:
        return "category"
    model = Base.metadata.tables.get(table)
    if model is None or column not in model.c:
        return None
    kind: sqltypes.TypeEngine[Any] = model.c[column].type
    if isinstance(kind, UTCDateTime):
        return "datetime"
    if isinstance(kind, ISODate):
        return "date"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Integer):
        return "int"
    if isinstance(kind, Float | Numeric):
        return "float"
    return "str"


def _convert(pd: ModuleType, series: pd.Series, kind: Kind | None) -> pd.Series:
    # Casting explicitly to ns keeps the dtype the same on pandas 2 and 3
    # (pandas 3 infers microseconds from text).
    if kind == "datetime":
        return pd.to_datetime(series, format=UTC_FORMAT, utc=True).astype("datetime64[ns, UTC]")
    if kind == "date":
        return pd.to_datetime(series, format="%Y-%m-%d").astype("datetime64[ns]")
    if kind == "bool":
        return series.astype("boolean")
    if kind == "int":
        return series.astype("Int64")
    if kind == "float":
        return pd.to_numeric(series).astype("float64")
    if kind == "category":
        return series.astype("category")
    if kind == "str":
        return series.astype("string")
    return series


@contextmanager
def _connect(source: Source) -> Iterator[Connection]:
    if isinstance(source, Mirror):
        with source.engine.connect() as conn:
            yield conn
        return
    with connect(os.fspath(source)) as conn:
        yield conn


def _frame(rows: Rows, kinds: Mapping[str, Kind | None]) -> pd.DataFrame:
    pd = _pandas()
    frame = pd.DataFrame.from_records(rows.rows, columns=list(rows.columns))
    for name in frame.columns:
        frame[name] = _convert(pd, frame[name], kinds.get(name, DERIVED_KINDS.get(name)))
    return frame


def _table_columns(table: str, raw_json: bool) -> tuple[list[str], dict[str, Kind | None]]:
    names = [c.name for c in Base.metadata.tables[table].c if raw_json or c.name != "raw_json"]
    return names, {name: column_kind(table, name) for name in names}


def _day(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"cannot read {value!r} as a date (YYYY-MM-DD)") from None


def _spaces(space: str | Sequence[str] | None) -> list[str]:
    if space is None:
        return []
    return [space] if isinstance(space, str) else list(space)


def table(name: str, source: Source = DEFAULT_SOURCE, *, raw_json: bool = False) -> pd.DataFrame:
    """A whole table of the mirror, typed (``raw_json`` left out unless asked for)."""
    if name not in Base.metadata.tables:
        raise ConfigError(
            f"no table {name!r}; the tables are: {', '.join(sorted(Base.metadata.tables))}"
        )
    columns, kinds = _table_columns(name, raw_json)
    with _connect(source) as conn:
        return _frame(listings.table_rows(conn, name, columns), kinds)


def view(name: str, source: Source = DEFAULT_SOURCE) -> pd.DataFrame:
    """A report view of the mirror (``hours_by_space``, ``milestone_progress`` ...), typed."""
    with _connect(source) as conn:
        views = listings.view_names(conn)
        if name not in views:
            raise ConfigError(f"no view {name!r}; the views are: {', '.join(views)}")
        return _frame(listings.view_rows(conn, name), {})


def query(
    sql: str,
    source: Source = DEFAULT_SOURCE,
    params: Mapping[str, Any] | None = None,
    *,
    dtypes: Mapping[str, Kind] | None = None,
) -> pd.DataFrame:
    """Any SQL (``:name`` parameters bound from ``params``); columns are typed by ``dtypes``
    and, for the names the report views use (``hours``, ``week_start`` ...), by name."""
    with _connect(source) as conn:
        return _frame(listings.run_sql(conn, sql, params or {}), dict(dtypes or {}))


def tickets(
    source: Source = DEFAULT_SOURCE, *, space: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Tickets with ``space_name`` and ``milestone_title``; ``space`` by name, wiki_name or id."""
    columns, kinds = _table_columns("tickets", raw_json=False)
    with _connect(source) as conn:
        space_ids = resolve_spaces(conn, _spaces(space))
        return _frame(listings.ticket_listing(conn, columns, space_ids), kinds)


def tasks(
    source: Source = DEFAULT_SOURCE,
    *,
    space: str | Sequence[str] | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """Time entries with ``space_name``, ``user_login``, ``user_name`` and ``ticket_summary``.

    ``since``/``until`` are inclusive days bounding ``begin_at`` (UTC).
    """
    first, last = _day(since), _day(until)
    check_days(first, last)
    columns, kinds = _table_columns("tasks", raw_json=False)
    with _connect(source) as conn:
        space_ids = resolve_spaces(conn, _spaces(space))
        return _frame(listings.task_listing(conn, columns, space_ids, first, last), kinds)


def events(
    source: Source = DEFAULT_SOURCE,
    *,
    space: str | Sequence[str] | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """Activity events the mirror kept, oldest first; ``since``/``until`` bound ``date`` (UTC)."""
    first, last = _day(since), _day(until)
    check_days(first, last)
    columns, kinds = _table_columns("events", raw_json=False)
    with _connect(source) as conn:
        space_ids = resolve_spaces(conn, _spaces(space))
        return _frame(listings.event_listing(conn, columns, space_ids, first, last), kinds)


def custom_fields(source: Source = DEFAULT_SOURCE) -> pd.DataFrame:
    """Custom field values wide: one row per ticket (index ``ticket_id``), one column per title."""
    with _connect(source) as conn:
        long = _frame(
            listings.custom_field_values(conn),
            {"ticket_id": "int", "title": "str", "value": "str"},
        )
    wide = long.pivot(index="ticket_id", columns="title", values="value")
    wide.columns.name = None
    return wide


def hours(
    source: Source = DEFAULT_SOURCE,
    by: str = "space",
    *,
    space: str | Sequence[str] | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """The rows of ``mirror report hours --by BY`` as a DataFrame (see ``reports.hours``)."""
    pd = _pandas()
    with _connect(source) as conn:
        report = hours_report(conn, by, since=_day(since), until=_day(until), spaces=_spaces(space))
    rows = report.rows
    if by == "week":  # entries without begin_at (if any) are a row with no date: NaT here
        rows = [(None if row[0] == NO_DATE else row[0], *row[1:]) for row in rows]
    frame = pd.DataFrame.from_records(rows, columns=list(report.columns))
    for name in frame.columns:
        frame[name] = _convert(pd, frame[name], DERIVED_KINDS.get(name))
    return frame


def hours_by_space(
    source: Source = DEFAULT_SOURCE,
    *,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """Total hours and entries per space (every space, zero included), most hours first."""
    return hours(source, "space", since=since, until=until)
