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
  ``operation``, member ``role``): ``category``; other text: ``string``;
  ``status`` is an *ordered* categorical in workflow order
  (``ticket_statuses.list_order``) wherever a frame has one;
* custom field values by their field's type: ``Numeric`` ``float64``, ``Date``
  ``datetime64[ns]``, ``Team List`` the user's name; others ``string``.

The ``raw_json`` payloads are left out unless asked for (they are large).
Date filters are inclusive calendar days in UTC, as in ``mirror report``.

Tickets' history comes from :mod:`~assembla_mirror.read.flow_frames`, re-exported
here: :func:`ticket_changes`, :func:`status_intervals`, :func:`time_in_status`,
:func:`ticket_flow` and :func:`cumulative_flow`, with ``status`` an ordered
categorical in workflow order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from assembla_mirror.errors import ConfigError
from assembla_mirror.model.tables import Base
from assembla_mirror.read.flow_frames import (
    cumulative_flow,
    in_workflow_order,
    status_intervals,
    ticket_changes,
    ticket_flow,
    time_in_status,
)
from assembla_mirror.read.reports.common import check_days, resolve_spaces
from assembla_mirror.read.reports.hours import NO_DATE
from assembla_mirror.read.reports.hours import hours as hours_report
from assembla_mirror.read.typed_frames import (
    CATEGORIES,
    DEFAULT_SOURCE,
    DERIVED_KINDS,
    FIELD_KINDS,
    Kind,
    Source,
    column_kind,
    connect_source,
    convert,
    make_frame,
    pandas_module,
    parse_day,
    space_list,
    table_columns,
    view_kinds,
)
from assembla_mirror.store import listings
from assembla_mirror.store.field_views import current_field_views, field_kind
from assembla_mirror.store.results import Rows

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CATEGORIES",
    "DEFAULT_SOURCE",
    "DERIVED_KINDS",
    "Kind",
    "Source",
    "column_kind",
    "cumulative_flow",
    "custom_fields",
    "events",
    "hours",
    "hours_by_space",
    "query",
    "status_intervals",
    "table",
    "tasks",
    "ticket_changes",
    "ticket_flow",
    "tickets",
    "time_in_status",
    "view",
]


def table(name: str, source: Source = DEFAULT_SOURCE, *, raw_json: bool = False) -> pd.DataFrame:
    """A whole table of the mirror, typed (``raw_json`` left out unless asked for)."""
    if name not in Base.metadata.tables:
        raise ConfigError(
            f"no table {name!r}; the tables are: {', '.join(sorted(Base.metadata.tables))}"
        )
    columns, kinds = table_columns(name, raw_json)
    with connect_source(source) as conn:
        frame = make_frame(listings.table_rows(conn, name, columns), kinds)
        if name in ("tickets", "deleted_tickets"):
            in_workflow_order(conn, frame, [])
        return frame


def view(name: str, source: Source = DEFAULT_SOURCE) -> pd.DataFrame:
    """A view of the mirror (``hours_by_space``, ``milestone_progress``, a space's
    ``ticket_fields_...`` ...), typed: custom field columns by their field's type."""
    with connect_source(source) as conn:
        views = listings.view_names(conn)
        if name not in views:
            raise ConfigError(f"no view {name!r}; the views are: {', '.join(views)}")
        kinds = view_kinds(name)
        spaces: list[str] = []  # a space's field view: that space's workflow
        for fields in current_field_views(conn):
            if fields.name == name:
                kinds = {field.column: FIELD_KINDS[field.kind] for field in fields.fields}
                spaces = [fields.space_id]
        frame = make_frame(listings.view_rows(conn, name), kinds)
        in_workflow_order(conn, frame, spaces)
        return frame


def query(
    sql: str,
    source: Source = DEFAULT_SOURCE,
    params: Mapping[str, Any] | None = None,
    *,
    dtypes: Mapping[str, Kind] | None = None,
) -> pd.DataFrame:
    """Any SQL (``:name`` parameters bound from ``params``); columns are typed by ``dtypes``
    and, for the names the report views use (``hours``, ``week_start`` ...), by name."""
    with connect_source(source) as conn:
        return make_frame(listings.run_sql(conn, sql, params or {}), dict(dtypes or {}))


def tickets(
    source: Source = DEFAULT_SOURCE, *, space: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Tickets with ``space_name`` and ``milestone_title``; ``space`` by name, wiki_name or id."""
    columns, kinds = table_columns("tickets", raw_json=False)
    with connect_source(source) as conn:
        space_ids = resolve_spaces(conn, space_list(space))
        frame = make_frame(listings.ticket_listing(conn, columns, space_ids), kinds)
        in_workflow_order(conn, frame, space_ids)
        return frame


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
    first, last = parse_day(since), parse_day(until)
    check_days(first, last)
    columns, kinds = table_columns("tasks", raw_json=False)
    with connect_source(source) as conn:
        space_ids = resolve_spaces(conn, space_list(space))
        return make_frame(listings.task_listing(conn, columns, space_ids, first, last), kinds)


def events(
    source: Source = DEFAULT_SOURCE,
    *,
    space: str | Sequence[str] | None = None,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """Activity events the mirror kept, oldest first; ``since``/``until`` bound ``date`` (UTC)."""
    first, last = parse_day(since), parse_day(until)
    check_days(first, last)
    columns, kinds = table_columns("events", raw_json=False)
    with connect_source(source) as conn:
        space_ids = resolve_spaces(conn, space_list(space))
        return make_frame(listings.event_listing(conn, columns, space_ids, first, last), kinds)


def custom_fields(
    source: Source = DEFAULT_SOURCE, *, space: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Custom field values wide: one row per ticket with values (index ``ticket_id``), one
    column per title, in ``space`` (by name, wiki_name or id; all when None).

    A column is typed by its field's type, as the ``ticket_fields_<space>`` views
    type it: ``Numeric`` ``float64`` (NaN where a value is not a number), ``Date``
    ``datetime64[ns]`` (NaT where not a date), ``Team List`` the user's name (else
    login, else the stored id); other types keep the text. A title that fields of
    several spaces carry with different types keeps the text too.
    """
    with connect_source(source) as conn:
        space_ids = resolve_spaces(conn, space_list(space))
        rows = listings.custom_field_values(conn, space_ids)
    return _wide(rows)


#: Which column of :func:`listings.custom_field_values` holds each kind of value.
_VALUE_COLUMNS = {"number": "number", "date": "day", "person": "person", "text": "value"}


def _wide(rows: Rows) -> pd.DataFrame:
    """The long values (ticket_id, title, type, value, number, day, person) pivoted to a
    column per title, each from the value column its titles' type calls for."""
    pd = pandas_module()
    kinds: dict[str, set[str]] = {}
    for _ticket, title, type_name, *_values in rows.rows:
        kinds.setdefault(title, set()).add(field_kind(type_name))
    chosen = {title: found.pop() if len(found) == 1 else "text" for title, found in kinds.items()}
    dtypes: dict[str, Kind | None] = {"ticket_id": "int", "title": "str", "type": "str"}
    dtypes.update({column: FIELD_KINDS[kind] for kind, column in _VALUE_COLUMNS.items()})
    long = make_frame(rows, dtypes)
    kind_of = long["title"].map(chosen).astype(object)
    parts = [
        long[kind_of == kind].pivot(index="ticket_id", columns="title", values=column)
        for kind, column in _VALUE_COLUMNS.items()
        if (kind_of == kind).any()
    ]
    if not parts:
        return pd.DataFrame(index=pd.Index([], dtype="Int64", name="ticket_id"))
    wide = pd.concat(parts, axis=1).sort_index()
    wide = wide[sorted(wide.columns)]
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
    pd = pandas_module()
    with connect_source(source) as conn:
        report = hours_report(
            conn, by, since=parse_day(since), until=parse_day(until), spaces=space_list(space)
        )
    rows = report.rows
    if by == "week":  # entries without begin_at (if any) are a row with no date: NaT here
        rows = [(None if row[0] == NO_DATE else row[0], *row[1:]) for row in rows]
    frame = pd.DataFrame.from_records(rows, columns=list(report.columns))
    for name in frame.columns:
        frame[name] = convert(pd, frame[name], DERIVED_KINDS.get(name))
    return frame


def hours_by_space(
    source: Source = DEFAULT_SOURCE,
    *,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """Total hours and entries per space (every space, zero included), most hours first."""
    return hours(source, "space", since=since, until=until)
