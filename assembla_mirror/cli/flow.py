"""``mirror report flow``, ``mirror report cycle-time`` and ``mirror report ticket``: how
work moved, from the tickets' history.

Each parses its options, calls :mod:`assembla_mirror.read.reports.flow` or
:mod:`assembla_mirror.read.reports.timeline`, and renders the result as the
other reports do: an aligned table (made to fit the terminal), CSV or JSON.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import click

from assembla_mirror.cli.base import db_option
from assembla_mirror.cli.flow_render import cycle_text, flow_text, timeline_text
from assembla_mirror.cli.use import DAY, emit, format_option, report_group, space_option
from assembla_mirror.read.charts import check_chart_path, save_chart, write_chart
from assembla_mirror.read.flow_chart import flow_chart
from assembla_mirror.read.reports import connect
from assembla_mirror.read.reports.flow import (
    CYCLE_BY,
    FLOW_BY,
    cumulative_flow,
    cycle_time,
)
from assembla_mirror.read.reports.timeline import ticket_timeline

F = TypeVar("F", bound=Callable[..., Any])


def terminal_width() -> int:
    """Columns of the terminal (80 when the output is not one, or ``COLUMNS`` says so)."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def _day(value: datetime | None) -> Any:
    return value.date() if value else None


def chart_option(what: str) -> Callable[[F], F]:
    """Add --chart FILE.svg|FILE.html; the command receives ``chart``."""
    return click.option(
        "--chart",
        type=click.Path(dir_okay=False),
        metavar="FILE.svg|FILE.html",
        help=f"Also draw {what} (an SVG image or an HTML page).",
    )


@report_group.command("flow")
@db_option
@space_option
@click.option("--from", "since", type=DAY, help="First day (YYYY-MM-DD, UTC, inclusive).")
@click.option("--to", "until", type=DAY, help="Last day (YYYY-MM-DD, UTC, inclusive).")
@click.option(
    "--by",
    type=click.Choice(FLOW_BY),
    help="A row per day or per week [default: days for up to six weeks, else weeks].",
)
@format_option
@chart_option("the cumulative flow diagram")
def flow_command(
    db: str,
    spaces: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    by: str | None,
    fmt: str,
    chart: str | None,
) -> None:
    """Cumulative flow: tickets per status by day.

    How many tickets were in each status at the end of each day (or week).
    Statuses come in the space's workflow order; with several spaces, statuses
    of the same name are added up. Exact to the extent the history is (see
    `mirror sync --with comments`).

    \b
    Examples:
      mirror report flow --space "Big Project" --chart cfd.svg
      mirror report flow --from 2026-10-01 --to 2026-10-31 --by day
      mirror report flow --by week --format csv > flow.csv
    """
    if chart:
        check_chart_path(chart)
    with connect(db) as conn:
        report = cumulative_flow(conn, spaces=spaces, since=_day(since), until=_day(until), by=by)
    emit(report, fmt, lambda _rows: flow_text(report, terminal_width()))
    if chart:
        svg = flow_chart(
            f"Cumulative flow, {report.span}",
            report.labels(),
            report.series(),
            closed=report.closed,
            note=f"tickets per status at the end of each {report.by} (UTC)",
        )
        click.echo(f"Chart written to {save_chart(chart, report.title, svg)}", err=True)


@report_group.command("cycle-time")
@db_option
@click.option(
    "--by",
    type=click.Choice(CYCLE_BY),
    default="week",
    show_default=True,
    help="Group the closed tickets by the week they closed, their milestone or assignee.",
)
@space_option
@click.option("--from", "since", type=DAY, help="First day of closing (YYYY-MM-DD, UTC).")
@click.option("--to", "until", type=DAY, help="Last day of closing (YYYY-MM-DD, UTC).")
@format_option
@chart_option("the median cycle time per group as a bar chart")
def cycle_time_command(
    db: str,
    by: str,
    spaces: tuple[str, ...],
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    chart: str | None,
) -> None:
    """Cycle and lead time of closed tickets.

    Per group, the tickets closed and the median and 85th percentile of their
    lead time (from creation to closing) and cycle time (from leaving the first
    status to closing), in days.

    \b
    Examples:
      mirror report cycle-time
      mirror report cycle-time --by assignee --from 2026-07-01 --to 2026-09-30
      mirror report cycle-time --by milestone --space "Big Project" --chart cycle.svg
    """
    if chart:
        check_chart_path(chart)
    with connect(db) as conn:
        report = cycle_time(conn, by, spaces=spaces, since=_day(since), until=_day(until))
    emit(report, fmt, lambda _rows: cycle_text(report, terminal_width()))
    if chart:
        title = f"Median cycle time in days by {by}"
        points = report.points()
        path = write_chart(chart, title, points, series=by == "week", unit="days", additive=False)
        click.echo(f"Chart written to {path}", err=True)


@report_group.command("ticket")
@db_option
@click.argument("number", type=click.IntRange(min=1))
@space_option
@format_option
def ticket_command(db: str, number: int, spaces: tuple[str, ...], fmt: str) -> None:
    """One ticket's story: its changes and stays.

    Created, then every change (when, who, old -> new), then how long it
    stayed in each status. Times are UTC. A ticket deleted upstream is shown
    too, marked deleted. With --format csv the changes are listed; JSON holds
    the ticket, changes and stays.

    \b
    Examples:
      mirror report ticket 3 --space "Big Project"
      mirror report ticket 12 --space big-project --format json
    """
    with connect(db) as conn:
        timeline = ticket_timeline(conn, number, spaces=spaces)
    if fmt == "json":
        click.echo(json.dumps(timeline.as_json(), ensure_ascii=False, indent=2))
    else:
        emit(timeline.events, fmt, lambda _report: timeline_text(timeline, terminal_width()))
