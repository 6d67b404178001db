"""The machinery of :mod:`assembla_mirror.read.frames`: which dtype each column gets,
and how rows become a typed DataFrame.

A column's kind comes from its model when a table declares it
(:func:`column_kind`), else from its name (:data:`DERIVED_KINDS`: the columns of
the report views and of the joined listings); :func:`make_frame` applies them.
pandas is imported only when a frame is made (it is an optional extra).
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
from assembla_mirror.read.reports.common import connect
from assembla_mirror.store.results import Rows

if TYPE_CHECKING:
    import pandas as pd

Source = str | os.PathLike[str] | Mirror
Kind = Literal["datetime", "date", "bool", "int", "float", "str", "category"]

DEFAULT_SOURCE = "assembla.db"

#: Text columns with few distinct values, worth pandas' ``category``.
CATEGORIES = {
    ("tickets", "status"),
    ("ticket_changes", "field"),
    ("ticket_changes", "source"),
    ("deleted_tickets", "status"),
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
    # columns of the history views (ticket_status_intervals, ticket_flow ...)
    "stay": "int",
    "stays": "int",
    "started_at": "datetime",
    "ended_at": "datetime",
    "closed_at": "datetime",
    "created_on": "datetime",
    "deleted": "bool",
    "current": "bool",
    "median_hours": "float",
    "p85_hours": "float",
    "mean_hours": "float",
    "lead_time_hours": "float",
    "cycle_time_hours": "float",
    "reopen_count": "int",
    "day": "date",
    "open_tickets": "int",
    "open_estimate": "float",
    # columns of ticket_hierarchy
    "hierarchy_type": "int",
    "hierarchy_name": "category",
    "parent_ticket_id": "int",
    "parent_number": "int",
    "root_ticket_id": "int",
    "depth": "int",
    "descendants": "int",
    "total_hours": "float",
    "total_estimate": "float",
}


def _as_in(table: str, *columns: str) -> dict[str, Kind | None]:
    """``columns`` typed as the model types them in ``table``."""
    return {column: column_kind(table, column) for column in columns}


def view_kinds(view: str) -> dict[str, Kind | None]:
    """The kinds of a named view's columns (:mod:`assembla_mirror.store.named_views`) where
    its names mean something else than :data:`DERIVED_KINDS` says (``state`` is a name
    there, not a code) or come straight from a table; empty for other views."""
    if view in ("ticket_priorities", "ticket_states"):
        return {"id": "int", "name": "str"}
    if view == "ticket_overview":
        dated = ("due_date", "completed_date", "created_on", "updated_at", "reporter_id")
        names = ("state", "priority", "space", "milestone", "assignee")
        return {**_as_in("tickets", *dated), **dict.fromkeys(names, "category"), "reporter": "str"}
    if view == "time_entries":
        return {
            **_as_in("tasks", "begin_at", "end_at", "description", "billed"),
            **dict.fromkeys(("space", "person", "milestone"), "category"),
            "task_id": "int",
            "ticket_number": "int",
        }
    return {}


#: The dtype of a custom field's values, by how they are read (see
#: :func:`assembla_mirror.store.field_views.field_kind`).
FIELD_KINDS: dict[str, Kind] = {"number": "float", "date": "date", "person": "str", "text": "str"}


def pandas_module() -> ModuleType:
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise MirrorError(
            "pandas is not installed; install it from the assembla-mirror checkout with: "
            "pip install -e '.[pandas]'"
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


def convert(pd: ModuleType, series: pd.Series, kind: Kind | None) -> pd.Series:
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
def connect_source(source: Source) -> Iterator[Connection]:
    if isinstance(source, Mirror):
        with source.engine.connect() as conn:
            yield conn
        return
    with connect(os.fspath(source)) as conn:
        yield conn


def make_frame(rows: Rows, kinds: Mapping[str, Kind | None]) -> pd.DataFrame:
    pd = pandas_module()
    frame = pd.DataFrame.from_records(rows.rows, columns=list(rows.columns))
    for name in frame.columns:
        frame[name] = convert(pd, frame[name], kinds.get(name, DERIVED_KINDS.get(name)))
    return frame


def table_columns(table: str, raw_json: bool) -> tuple[list[str], dict[str, Kind | None]]:
    names = [c.name for c in Base.metadata.tables[table].c if raw_json or c.name != "raw_json"]
    return names, {name: column_kind(table, name) for name in names}


def parse_day(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"cannot read {value!r} as a date (YYYY-MM-DD)") from None


def space_list(space: str | Sequence[str] | None) -> list[str]:
    if space is None:
        return []
    return [space] if isinstance(space, str) else list(space)
