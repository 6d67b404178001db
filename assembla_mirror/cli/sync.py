"""``mirror sync``, ``mirror status``, ``mirror demo`` and ``mirror db``."""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Collection
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.cli.base import Duration, api_options, cli, db_option, quiet_option
from assembla_mirror.cli.display import (
    PlainProgress,
    TerminalProgress,
    format_age,
    format_duration,
    terminal_width,
    wrap_note,
)
from assembla_mirror.cli.render import table
from assembla_mirror.demo import run_demo
from assembla_mirror.read.datasette.dashboards import DASHBOARD
from assembla_mirror.read.status import MirrorStatus, mirror_status
from assembla_mirror.store.database import (
    current_revision,
    database_target,
    head_revision,
    mirror_exists,
    open_db,
)
from assembla_mirror.store.views import SAMPLE_QUERY
from assembla_mirror.sync import RESOURCES, SyncOptions, SyncReport, parse_only, sync
from assembla_mirror.sync.plan import SyncPlan, plan_sync
from assembla_mirror.sync.progress import NullProgress, Progress
from assembla_mirror.sync.report import format_bytes

#: Longest reconciliation interval accepted: a century, in days.
MAX_RECONCILE_DAYS = 36500
#: Most runs ``mirror status --runs`` shows.
MAX_STATUS_RUNS = 10000
#: TERM values of terminals that cannot move the cursor ("" is TERM unset).
DUMB_TERMINALS = ("", "dumb")


def make_progress(quiet: bool) -> Progress:
    """A live display on a terminal, plain lines on one that cannot move the cursor
    (``TERM`` dumb or unset), nothing when piped or ``--quiet``."""
    if quiet or not sys.stderr.isatty():
        return NullProgress()
    if os.environ.get("TERM", "").strip() in DUMB_TERMINALS:
        return PlainProgress()
    return TerminalProgress()


def close_progress(progress: Progress) -> None:
    """Leave the live display's final state on screen."""
    if isinstance(progress, TerminalProgress):
        progress.close()


def notes_shown(progress: Progress) -> list[str]:
    """The notes the summary need not repeat: those the display printed, when the
    summary goes to the terminal too (redirected, the summary keeps every note)."""
    if isinstance(progress, TerminalProgress | PlainProgress) and sys.stdout.isatty():
        return list(progress.shown_notes)
    return []


def echo_summary(report: SyncReport, shown_notes: Collection[str] = ()) -> None:
    """The end-of-sync summary: rows per table, requests, seconds, warnings, and the
    notes not in ``shown_notes`` (on a terminal, wrapped at its width)."""
    click.echo(
        f"Synced {len(report.spaces)} space(s) in {report.seconds:.1f} s "
        f"with {report.requests:,} requests ({report.mode})."
    )
    rows = []
    for name, total in report.totals.items():
        change = report.changes.get(name, {})
        rows.append(
            (
                name,
                total,
                change.get("inserted", 0),
                change.get("updated", 0),
                change.get("deleted", 0),
            )
        )
    click.echo(table(("table", "rows", "inserted", "updated", "deleted"), rows))
    width = terminal_width(sys.stdout) if sys.stdout.isatty() else None
    for note in report.notes:
        if note not in shown_notes:
            click.echo(f"Note: {note}" if width is None else wrap_note(note, width))
    if report.warnings:
        click.echo(f"{len(report.warnings)} warning(s); the first ones:", err=True)
        for warning in report.warnings[:10]:
            click.echo(f"  - {warning}", err=True)


def echo_plan(plan: SyncPlan) -> None:
    """Render a dry run: one line per space and resource, then the totals."""
    width = terminal_width(sys.stdout) if sys.stdout.isatty() else None
    click.echo(
        table(
            ("space", "resource", "mode", "requests", "note"),
            [(i.space, i.resource, i.mode, i.requests, i.note) for i in plan.items],
            width=width,
        )
    )
    seconds = plan.seconds_at_limit
    pace = (
        f"about {format_duration(seconds)} at the {plan.rate_limit} rate limit"
        if seconds is not None
        else "no pacing (rate limit off)"
    )
    click.echo(f"\nEstimated: {plan.requests:,} requests, {pace}.")
    click.echo(
        f"The dry run itself made {plan.probe_requests} read requests "
        f"and wrote nothing to {plan.database}."
    )
    for note in plan.notes:
        click.echo(f"Note: {note}" if width is None else wrap_note(note, width))


class FiniteFloatRange(click.FloatRange):
    """A :class:`click.FloatRange` that also refuses ``nan``, which compares false
    with both bounds and so passes the range check."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


#: What ``--with`` and ``--without`` switch (remembered by the mirror).
SWITCHES = ("comments", "associations", "files")
#: The switches that cost one request per ticket, asked about before a first fill.
PER_TICKET = ("comments", "associations")


def confirm_fill_cost(options: SyncOptions, settings: ClientSettings, names: list[str]) -> None:
    """Show what mirroring ``names`` (per-ticket streams) will cost (a dry run) and ask
    before paying it."""
    plan = plan_sync(options, settings)
    cost = sum(item.requests for item in plan.items if item.resource in names)
    if not cost:
        return
    seconds = cost / (settings.rate_limit.per_minute / 60) if settings.rate_limit else None
    pace = f" (about {format_duration(seconds)} at the rate limit)" if seconds else ""
    what = " and ".join(names)
    click.confirm(
        f"Mirroring {what} takes about {cost:,} requests, one per ticket{pace}. Continue?",
        abort=True,
    )


@cli.command("sync")
@db_option
@api_options
@click.option(
    "--space",
    "spaces",
    multiple=True,
    metavar="NAME|WIKI_NAME|ID",
    help="Sync only this space (repeatable).",
)
@click.option(
    "--only",
    multiple=True,
    metavar="RESOURCE[,...]",
    help=f"Sync only these resources: {', '.join(RESOURCES)}.",
)
@click.option("--full", is_flag=True, help="Refetch everything and reconcile deletions.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan (requests, time at the rate limit); write nothing.",
)
@click.option(
    "--with",
    "with_",
    multiple=True,
    type=click.Choice(SWITCHES),
    help="Also mirror comments, ticket associations or the files' bytes (remembered).",
)
@click.option(
    "--without",
    multiple=True,
    type=click.Choice(SWITCHES),
    help="Stop mirroring comments, associations or files (remembered).",
)
@click.option(
    "--files-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where --with files puts the files (default: beside a SQLite mirror; remembered).",
)
@click.option(
    "--reconcile-days",
    type=FiniteFloatRange(min=0, max=MAX_RECONCILE_DAYS),
    default=7,
    show_default=True,
    help="Reconcile deletions at least every N days.",
)
@click.option(
    "--poll-minutes",
    type=FiniteFloatRange(min=0, max=MAX_RECONCILE_DAYS * 24 * 60),
    default=60,
    show_default=True,
    help="Look for changes no activity announces (tags, links, files) at least every N minutes.",
)
@click.option(
    "--yes", is_flag=True, help="Do not ask before a costly first fill (comments, associations)."
)
@quiet_option
def sync_command(
    db: str,
    settings: ClientSettings,
    spaces: tuple[str, ...],
    only: tuple[str, ...],
    full: bool,
    dry_run: bool,
    with_: tuple[str, ...],
    without: tuple[str, ...],
    files_dir: Path | None,
    reconcile_days: float,
    poll_minutes: float,
    yes: bool,
    quiet: bool,
) -> None:
    """Bring the mirror up to date: the first run fetches everything, later runs what changed."""
    contradicted = sorted(set(with_) & set(without))
    if contradicted:
        both = ", ".join(f"--with {name} and --without {name}" for name in contradicted)
        raise click.UsageError(f"{both} contradict each other; give one of them")
    switch = {
        name: True if name in with_ else False if name in without else None for name in SWITCHES
    }
    options = SyncOptions(
        db_path=db,
        spaces=spaces,
        only=parse_only(only),
        full=full,
        with_comments=switch["comments"],
        with_associations=switch["associations"],
        with_files=switch["files"],
        files_dir=files_dir,
        reconcile_every=timedelta(days=reconcile_days),
        poll_every=timedelta(minutes=poll_minutes),
    )
    if dry_run:
        echo_plan(plan_sync(options, settings))
        return
    asked = [name for name in PER_TICKET if switch[name]]
    if asked and not yes and sys.stdin.isatty():
        confirm_fill_cost(options, settings, asked)
    progress = make_progress(quiet)
    try:
        report = sync(options, settings, progress=progress)
    finally:
        close_progress(progress)
    if not quiet:
        echo_summary(report, notes_shown(progress))


@cli.command("status")
@db_option
@click.option(
    "--runs",
    default=5,
    show_default=True,
    type=click.IntRange(1, MAX_STATUS_RUNS),
    help="How many recent runs to show.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, or json: one object for scripts and monitoring.",
)
@click.option(
    "--max-age",
    type=Duration(),
    metavar="DURATION",
    help="Exit with status 2 (after printing) when the last successful sync is older "
    "than this, or there was none: 45s, 90m, 2h, 1d, or a number of minutes.",
)
def status_command(db: str, runs: int, output_format: str, max_age: int | None) -> None:
    """Show the last runs, cursors, row counts and how stale the mirror is."""
    status = mirror_status(db, runs=runs)
    age = status.staleness_seconds
    if output_format == "json":
        click.echo(json.dumps(status.as_dict(max_age), indent=2))
    else:
        _echo_status(status)
    if max_age is not None and status.is_stale(max_age):
        click.echo(
            "stale: never synced successfully"
            if age is None
            else f"stale: last successful sync {format_age(age)} ago, "
            f"more than {format_age(max_age)}",
            err=True,
        )
        raise click.exceptions.Exit(2)


def _echo_status(status: MirrorStatus) -> None:
    """The text ``mirror status`` prints."""
    age = status.staleness_seconds
    # The database on a line of its own: a PostgreSQL URL is long enough by itself.
    click.echo(f"Mirror of account {status.account or '(not synced yet)'}")
    click.echo(f"Database: {status.database}")
    click.echo(
        "Last successful sync: "
        + (
            f"{status.last_success:%Y-%m-%d %H:%M} UTC ({format_duration(age)} ago)"
            if age is not None
            else "never"
        )
    )
    click.echo(f"Comments mirrored: {'yes' if status.with_comments else 'no'}")
    extras = [name for name, on in status.switched_on.items() if on and name != "comments"]
    click.echo(f"Also mirrored: {', '.join(extras) if extras else 'no associations, no files'}")
    if status.switched_on.get("files"):
        click.echo(f"Files folder: {status.files_dir or 'beside the database'}")
    if status.files is not None and status.files.attachments:
        known = status.files
        click.echo(
            f"Files: {known.attachments:,} listed ({format_bytes(known.attachment_bytes)}), "
            f"{known.downloaded:,} downloaded, {known.pending:,} to download"
        )
    click.echo()
    click.echo(
        table(
            ("run", "started (UTC)", "outcome", "mode", "requests", "rows written", "error"),
            [
                (
                    run["id"],
                    f"{run['started_at']:%Y-%m-%d %H:%M}",
                    run["outcome"],
                    run["mode"],
                    run["requests"],
                    sum(sum(c.values()) for c in run["rows"].values()),
                    (run["error"] or "")[:60],
                )
                for run in status.runs
            ],
        )
    )
    click.echo()
    click.echo(
        table(
            ("resource", "space", "cursor (UTC)", "pending", "synced", "reconciled"),
            [
                (
                    row["resource"],
                    row["space_name"] or row["space_id"] or "(account)",
                    row["cursor"],
                    "yes" if row["dirty"] or row["next_page"] or row["filled_through"] else "",
                    _minutes(row["synced_at"]),
                    _minutes(row["reconciled_at"]),
                )
                for row in status.cursors
            ],
        )
    )
    click.echo()
    click.echo(table(("table", "rows"), list(status.totals.items())))


def _minutes(moment: datetime | None) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


@cli.command("demo")
@click.option(
    "--db",
    default="demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where to write the demo mirror.",
)
@click.option(
    "--scale",
    default="demo",
    show_default=True,
    help="Simulator scale preset (tiny, small, demo, large).",
)
@quiet_option
def demo_command(db: str, scale: str, quiet: bool) -> None:
    """Sync the bundled Assembla simulator's demo account and show what the mirror answers."""
    progress = make_progress(quiet)
    try:
        demo = run_demo(db, scale=scale, progress=progress)
    finally:
        close_progress(progress)
    echo_summary(demo.sync, notes_shown(progress))
    click.echo("\nHours per space (view hours_by_space):")
    click.echo(
        table(("space", "hours", "entries"), [tuple(r.values()) for r in demo.hours_by_space])
    )
    click.echo("\nOpen tickets by status (view open_tickets_by_status):")
    click.echo(
        table(("status", "tickets"), [tuple(r.values()) for r in demo.open_tickets_by_status])
    )
    click.echo(
        f"""
Open the mirror yourself:
  sqlite3 {db} "{SAMPLE_QUERY}"
  pip install -e '.[datasette,pandas]'    # once, in the checkout
  mirror datasette --db {db}    # charts: /-/dashboards/{DASHBOARD}
  python -c "import pandas, sqlite3; \\
    print(pandas.read_sql('{SAMPLE_QUERY}', \\
                          sqlite3.connect('{db}')))"
"""
    )


@cli.group("db")
def db_group() -> None:
    """Inspect, upgrade or copy the mirror (every command upgrades its schema on open anyway)."""


@db_group.command("upgrade")
@db_option
def db_upgrade(db: str) -> None:
    """Upgrade the database to the newest schema (backing it up first)."""
    engine = open_db(db)
    click.echo(f"{database_target(db)} is at schema revision {current_revision(engine)} (head).")
    engine.dispose()


@db_group.command("current")
@db_option
def db_current(db: str) -> None:
    """Show the database's schema revision without changing anything."""
    if not mirror_exists(db):
        raise click.ClickException(f"no mirror at {database_target(db)}")
    engine = open_db(db, upgrade=False)
    revision = current_revision(engine)
    engine.dispose()
    head = head_revision()
    state = "up to date" if revision == head else f"behind head {head}"
    click.echo(f"{database_target(db)}: schema revision {revision} ({state})")
