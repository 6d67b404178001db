"""pandas DataFrames of tickets' history (re-exported by :mod:`assembla_mirror.read.frames`).

    from assembla_mirror.read import frames

    flow = frames.cumulative_flow("assembla.db", space="Big Project")
    flow.pivot_table(index="day", columns="status", values="tickets", observed=True)

Typed as every frame of :mod:`~assembla_mirror.read.frames` (datetimes in UTC,
days as dates, hours as floats, flags as ``boolean``), with ``space_name``
beside ``space_id``. ``status`` is an *ordered* categorical in workflow order
(``ticket_statuses.list_order``; statuses of several spaces merged by name,
as ``mirror report flow`` does), so sorting, grouping and pivoting list the
statuses as the workflow goes; a status no workflow lists any more comes last.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from assembla_mirror.read.reports.common import check_days, resolve_spaces
from assembla_mirror.read.reports.flow import workflow_order
from assembla_mirror.read.typed_frames import (
    DEFAULT_SOURCE,
    Source,
    column_kind,
    connect_source,
    make_frame,
    pandas_module,
    parse_day,
    space_list,
)
from assembla_mirror.store.flow_reports import change_listing, history_view_listing, workflow_rows
from assembla_mirror.store.results import Rows

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "cumulative_flow",
    "status_intervals",
    "ticket_changes",
    "ticket_flow",
    "time_in_status",
]

Spaces = str | Sequence[str] | None


def in_workflow_order(conn: Connection, frame: pd.DataFrame, space_ids: Sequence[str]) -> None:
    """Make ``frame["status"]`` (when it has one) an ordered categorical in the workflow
    order of ``space_ids`` (all spaces when empty), in place."""
    if "status" not in frame.columns:
        return
    seen = [str(status) for status in frame["status"].dropna().unique()]
    order = workflow_order(workflow_rows(conn, list(space_ids)).rows, seen)
    ordered = pandas_module().CategoricalDtype([s for s in order if s in seen], ordered=True)
    frame["status"] = frame["status"].astype(ordered)


def _view(
    name: str,
    source: Source,
    space: Spaces,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    first, last = parse_day(since), parse_day(until)
    check_days(first, last)
    with connect_source(source) as conn:
        space_ids = resolve_spaces(conn, space_list(space))
        rows: Rows = history_view_listing(conn, name, space_ids, first, last)
        frame = make_frame(rows, {})
        in_workflow_order(conn, frame, space_ids)
    return frame


def ticket_changes(
    source: Source = DEFAULT_SOURCE,
    *,
    space: Spaces = None,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """Every recorded change (``ticket_changes``), by space, ticket and time, with
    ``space_name``, the ticket's ``number``, the author's ``user_name`` and ``deleted``
    (the ticket was deleted upstream); ``since``/``until`` bound ``changed_at`` (UTC days,
    inclusive). Values stay text, as recorded."""
    first, last = parse_day(since), parse_day(until)
    check_days(first, last)
    with connect_source(source) as conn:
        space_ids = resolve_spaces(conn, space_list(space))
        rows = change_listing(conn, space_ids, first, last)
    kinds = {name: column_kind("ticket_changes", name) for name in rows.columns}
    return make_frame(rows, {name: kind for name, kind in kinds.items() if kind})


def status_intervals(source: Source = DEFAULT_SOURCE, *, space: Spaces = None) -> pd.DataFrame:
    """Every stay of every ticket in a status (the ``ticket_status_intervals`` view), by
    space, ticket and stay; ``ended_at`` and ``hours`` are missing for current stays."""
    return _view("ticket_status_intervals", source, space)


def time_in_status(source: Source = DEFAULT_SOURCE, *, space: Spaces = None) -> pd.DataFrame:
    """Hours per ticket and status, over its ended stays (the ``time_in_status`` view)."""
    return _view("time_in_status", source, space)


def ticket_flow(source: Source = DEFAULT_SOURCE, *, space: Spaces = None) -> pd.DataFrame:
    """Per ticket: created, started, closed, lead and cycle time in hours, reopenings (the
    ``ticket_flow`` view)."""
    return _view("ticket_flow", source, space)


def cumulative_flow(
    source: Source = DEFAULT_SOURCE,
    *,
    space: Spaces = None,
    since: date | str | None = None,
    until: date | str | None = None,
) -> pd.DataFrame:
    """Tickets per space, day and status at the end of the day (the ``cumulative_flow``
    view), long and ready to pivot: ``day`` a date, ``status`` in workflow order.
    ``since``/``until`` are inclusive days."""
    return _view("cumulative_flow", source, space, since, until)
