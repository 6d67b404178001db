"""``mirror report``, ``mirror search`` and ``mirror datasette``: the mirror in use.

Each command parses its options, calls :mod:`assembla_mirror.read.reports`,
:mod:`assembla_mirror.store.search` or :mod:`assembla_mirror.read.datasette`, and renders
the rows as an aligned table (the default), CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import click

from assembla_mirror.cli.base import cli, db_option
from assembla_mirror.cli.render import hanging, markdown_table, table
from assembla_mirror.read.charts import check_chart_path, write_chart
from assembla_mirror.read.datasette import serve, write_metadata
from assembla_mirror.read.datasette.serve import check_servable, datasette_cli
from assembla_mirror.read.reports import HOURS_BY, TICKETS_BY, Report, connect, resolve_spaces
from assembla_mirror.read.reports import activity as activity_report
from assembla_mirror.read.reports import hours as hours_report
from assembla_mirror.read.reports import tickets as tickets_report
from assembla_mirror.read.reports.activity import today_in, zone
from assembla_mirror.read.reports.tickets import chart_points as ticket_chart_points
from assembla_mirror.store.search import query_words, search_tickets

F = TypeVar("F", bound=Callable[..., Any])

DAY = click.DateTime(formats=["%Y-%m-%d"])
FORMATS = ("table", "csv", "json", "markdown")


def format_option(func: F) -> F:
    """Add --format table|csv|json; the command receives ``fmt``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="Aligned table, CSV (with a header), JSON (a list of objects) or a Markdown table.",
    )(func)


def space_option(func: F) -> F:
    """Add --space (repeatable); the command receives ``spaces``."""
    return click.option(
        "--space",
        "spaces",
        multiple=True,
        metavar="NAME|WIKI_NAME|ID",
        help="Only this space (repeatable).",
    )(func)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def emit(report: Report, fmt: str, render_table: Callable[[Report], str]) -> None:
    """Print ``report`` as CSV, JSON, a Markdown table (its title as a heading), or with
    ``render_table``."""
    if fmt == "markdown":
        rows = [[_plain(value) for value in row] for row in report.rows]
        click.echo(f"### {report.title}\n\n{markdown_table(report.columns, rows)}")
    elif fmt == "json":
        records = [{k: _plain(v) for k, v in record.items()} for record in report.records()]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(report.columns)
        writer.writerows([[_plain(value) for value in row] for row in report.rows])
        click.echo(buffer.getvalue(), nl=False)
    else:
        click.echo(render_table(report))


def clip(text: Any, width: int) -> Any:
    """Long text cut for a terminal table (CSV and JSON keep it whole)."""
    if not isinstance(text, str):
        return text
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def plain_table(report: Report) -> str:
    """Title, then the rows aligned under their column names."""
    rows = [[clip(value, 60) for value in row] for row in report.rows]
    if not rows:
        return f"{report.title}\n\n(no rows)"
    return f"{report.title}\n\n{table(report.columns, rows)}"


@cli.group("report")
def report_group() -> None:
    """Reports on the mirror: hours, tickets, daily activity, and how work flowed."""


@report_group.command("hours")
@db_option
@click.option(
    "--by",
    type=click.Choice(HOURS_BY),
    default="space",
    show_default=True,
    help="How to group the hours.",
)
@click.option("--from", "since", type=DAY, help="First day (YYYY-MM-DD, UTC, inclusive).")
@click.option("--to", "until", type=DAY, help="Last day (YYYY-MM-DD, UTC, inclusive).")
@space_option
@format_option
@click.option(
    "--chart",
    type=click.Path(dir_okay=False),
    metavar="FILE.svg|FILE.html",
    help="Also draw the hours as a bar chart (an SVG image or an HTML page).",
)
def hours_command(
    db: str,
    by: str,
    since: datetime | None,
    until: datetime | None,
    spaces: tuple[str, ...],
    fmt: str,
    chart: str | None,
) -> None:
    """Hours logged, by space, user, week, milestone or ticket.

    \b
    Examples:
      mirror report hours --by user --from 2026-01-01 --to 2026-03-31
      mirror report hours --by week --space "Big Project" --chart hours.svg
      mirror report hours --by user,month --from 2026-01-01 --format markdown
      mirror report hours --by ticket --format csv > hours.csv
    """
    if chart:
        check_chart_path(chart)  # before any work: a wrong suffix is a usage error
    with connect(db) as conn:
        report = hours_report(
            conn,
            by,
            since=since.date() if since else None,
            until=until.date() if until else None,
            spaces=spaces,
        )

    def render(rows: Report) -> str:
        text = plain_table(rows)
        return text if not rows.rows else f"{text}\n\nTotal: {report.total:,.2f} hours"

    emit(report, fmt, render)
    if chart:
        path = write_chart(chart, report.title, report.points(), series=by in ("week", "month"))
        click.echo(f"Chart written to {path}", err=True)


@report_group.command("tickets")
@db_option
@click.option(
    "--by",
    type=click.Choice(TICKETS_BY),
    default="status",
    show_default=True,
    help="How to count the tickets.",
)
@space_option
@format_option
@click.option(
    "--chart",
    type=click.Path(dir_okay=False),
    help="Also write a bar chart (.svg, or .html to open in a browser): all tickets by "
    "status, open tickets by assignee or milestone.",
)
def tickets_command(db: str, by: str, spaces: tuple[str, ...], fmt: str, chart: str | None) -> None:
    """Ticket counts by status, assignee or milestone, per space.

    \b
    Examples:
      mirror report tickets --by assignee --space big-project
      mirror report tickets --by milestone --format json
      mirror report tickets --by status --chart status.svg
    """
    if chart:
        check_chart_path(chart)  # before any work: a wrong suffix is a usage error
    with connect(db) as conn:
        report = tickets_report(conn, by, spaces=spaces)
    emit(report, fmt, plain_table)
    if chart:
        title = report.title if by == "status" else report.title.replace("Tickets", "Open tickets")
        points = ticket_chart_points(report, by)
        path = write_chart(chart, title, points, series=False, unit="tickets")
        click.echo(f"Chart written to {path}", err=True)


@report_group.command("activity")
@db_option
@click.option("--day", type=DAY, help="The day (YYYY-MM-DD) [default: today].")
@click.option(
    "--tz",
    "tz_name",
    default="local",
    show_default=True,
    metavar="ZONE",
    help="Time zone of the day and the times shown: local, UTC or a name like Europe/Paris.",
)
@space_option
@format_option
def activity_command(
    db: str, day: datetime | None, tz_name: str, spaces: tuple[str, ...], fmt: str
) -> None:
    """Who did what on one day, per space, from the activity stream.

    \b
    Examples:
      mirror report activity
      mirror report activity --day 2026-11-20 --tz UTC --space "Big Project"
    """
    tz = zone(tz_name)
    with connect(db) as conn:
        report = activity_report(
            conn, day=day.date() if day else today_in(tz), tz=tz, spaces=spaces
        )
    emit(report, fmt, activity_text)


#: Where an event's later lines start: under its text, past the time.
EVENT_INDENT = " " * 7


def activity_text(report: Report) -> str:
    """The summary as the original wrapper printed it: per space, an event per paragraph."""
    lines = [report.title]
    if not report.rows:
        lines.append("\nNo activity mirrored for this day.")
    current = None
    for record in report.records():
        if record["space"] != current:
            current = record["space"]
            lines += ["", str(current), "=" * len(str(current))]
        moment: datetime = record["time"]
        event = f"{record['author']} {record['operation']} {record['object']}: {record['title']}"
        lines.append(hanging(event, EVENT_INDENT, first=f"{moment:%H:%M}  "))
        if record["details"]:
            details = clip(record["details"], 100)
            lines.append(hanging(details, EVENT_INDENT, first=EVENT_INDENT))
        if record["url"]:
            lines.append(f"       {record['url']}")
    return "\n".join(lines)


@cli.command("search")
@db_option
@click.argument("text")
@space_option
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(min=1), help="At most N tickets."
)
@format_option
def search_command(db: str, text: str, spaces: tuple[str, ...], limit: int, fmt: str) -> None:
    """Find tickets by words in their summary, description or comments.

    Every word must match (as a word or the start of one); case and accents
    are ignored, so "cafe" finds "Café".

    \b
    Examples:
      mirror search "login safari"
      mirror search résumé --space big-project --limit 5
      mirror search -- -x     (a query starting with a dash)
    """
    words = " ".join(query_words(text))  # as searched: each word once (and within the limits)
    with connect(db) as conn:
        hits = search_tickets(conn, text, limit=limit, space_ids=resolve_spaces(conn, spaces))
    report = Report(
        title=f"Tickets matching {words!r}",
        columns=("space", "number", "summary", "snippet"),
        rows=[(hit.space_name, hit.number, hit.summary, hit.snippet) for hit in hits],
    )
    emit(report, fmt, search_text)


def search_text(report: Report) -> str:
    """One paragraph per hit: where it is and its summary, then the matching words."""
    if not report.rows:
        return f"No tickets match {report.title.removeprefix('Tickets matching ')}."
    lines = []
    for space, number, summary, snippet in report.rows:
        lines.append(f"{space} #{number}  {summary or ''}")
        lines.append(f"    {clip(snippet, 110)}")
    return "\n".join(lines)


@cli.command(
    "datasette", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "-p", "--port", default=8001, show_default=True, type=click.IntRange(0, 65535), help="Port."
)
@click.option(
    "--metadata-out",
    type=click.Path(dir_okay=False),
    help="Where to write the metadata [default: beside the database, NAME.metadata.json].",
)
@click.option("--no-serve", is_flag=True, help="Only write the metadata file.")
@click.argument("datasette_args", nargs=-1, type=click.UNPROCESSED)
def datasette_command(
    db: str,
    host: str,
    port: int,
    metadata_out: str | None,
    no_serve: bool,
    datasette_args: Sequence[str],
) -> None:
    """Open the mirror in Datasette, with descriptions, facets and ready-made queries.

    The metadata is also written to a file that plain Datasette can use
    (`datasette assembla.db -m assembla.metadata.json`). Anything after the
    options is passed to `datasette serve`.

    \b
    Examples:
      mirror datasette --port 8080
      mirror datasette --no-serve --metadata-out meta.json
      mirror datasette -- --setting sql_time_limit_ms 5000
    """
    check_servable(db)
    if not no_serve:
        datasette_cli()  # a missing extra is reported before anything is written
    with connect(db) as conn:
        path = write_metadata(conn, db, metadata_out)
    click.echo(
        f"Metadata written to {path} (for plain Datasette: datasette {db} -m {path})", err=True
    )
    if not no_serve:
        serve(db, path, host=host, port=port, extra_args=datasette_args)
