"""``mirror db copy``: a mirror copied to another database, checkpoints and run history included.

The ``db`` group itself (with ``upgrade`` and ``current``) is defined in
:mod:`assembla_mirror.cli.sync`; this module adds ``copy`` to it. The copy is
:func:`assembla_mirror.store.copy.copy_mirror`; here are only the arguments,
the progress display and the summary.
"""

from __future__ import annotations

import click

from assembla_mirror.cli.base import quiet_option
from assembla_mirror.cli.display import format_duration
from assembla_mirror.cli.render import table
from assembla_mirror.cli.sync import close_progress, db_group, make_progress
from assembla_mirror.errors import ConfigError
from assembla_mirror.store.copy import CopyReport, copy_mirror


@db_group.command("copy")
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@quiet_option
def db_copy(source: str, destination: str, quiet: bool) -> None:
    """Copy the mirror at SRC into DST, with its checkpoints and run history.

    SRC and DST are each a file path or a database URL, as --db takes them, for
    example `mirror db copy assembla.db postgresql://me@dbhost/mirrors`. DST is
    created if needed and must not hold a mirror yet. No request goes to
    Assembla, and the next sync of DST is incremental. An interrupted copy
    leaves DST without a mirror: run the same command again.
    """
    progress = make_progress(quiet)
    try:
        report = copy_mirror(source, destination, progress=progress)
    except ConfigError as exc:
        # A refusal (no mirror at SRC, SRC and DST the same), not a misuse of the
        # command line: status 1 like the other refusals, not click's usage status 2.
        raise click.ClickException(str(exc)) from None
    finally:
        close_progress(progress)
    if not quiet:
        echo_copy_summary(report)


def echo_copy_summary(report: CopyReport) -> None:
    """What was copied: the rows of each table, the search index rebuilt, the time taken."""
    seconds = f"{report.seconds:.1f} s" if report.seconds < 60 else format_duration(report.seconds)
    click.echo(
        f"Copied {report.source} to {report.destination} in {seconds}: {report.total_rows:,} rows."
    )
    click.echo(table(("table", "rows"), list(report.rows.items())))
    click.echo(f"Search index rebuilt: {report.indexed:,} tickets and comments.")
    click.echo("Checkpoints copied: the next sync of the copy is incremental.")
