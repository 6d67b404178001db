"""The ``mirror`` click group and the option decorators its commands share.

Commands live in sibling modules (one per concern) and register themselves on
:data:`cli`. A command body only parses options, calls the library and renders
the result; errors derived from :class:`~assembla_mirror.errors.MirrorError`
become a message (one line, or wrapped between words on a terminal) and exit status 1
(2 for usage errors, as click does).
"""

from __future__ import annotations

import functools
import re
import shutil
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from assembla_mirror import __version__
from assembla_mirror.api.settings import DEFAULT_DB_PATH, ClientSettings
from assembla_mirror.cli.render import fill
from assembla_mirror.errors import ConfigError, MirrorError

F = TypeVar("F", bound=Callable[..., Any])


#: What click prints before an error's message.
ERROR_PREFIX = "Error: "


def for_stderr(message: str) -> str:
    """``message`` broken between words to fit the terminal stderr shows on, its later
    lines under its first word (past click's ``Error:``); as it is when stderr is not a
    terminal, so a log keeps it on one line."""
    if not sys.stderr.isatty():
        return message
    indent = " " * len(ERROR_PREFIX)
    columns = shutil.get_terminal_size().columns
    wrapped = fill(message, columns, first=ERROR_PREFIX, indent=indent, floor=40)
    return wrapped.removeprefix(ERROR_PREFIX)


class MirrorGroup(click.Group):
    """A click group that turns library errors into clean messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            # No context: the top-level usage line would be noise for a subcommand's error.
            raise click.UsageError(for_stderr(str(exc))) from None
        except MirrorError as exc:
            raise click.ClickException(for_stderr(str(exc))) from None
        except KeyboardInterrupt:
            click.echo("Interrupted; everything committed so far is kept.", err=True)
            ctx.exit(130)


@click.group(cls=MirrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mirror")
def cli() -> None:
    """Keep a local, normalized SQLite mirror of an Assembla account.

    Credentials come from the environment (ASSEMBLA_API_KEY and
    ASSEMBLA_API_SECRET, or ASSEMBLA_ACCESS_TOKEN) or from `mirror auth`,
    never from the command line.
    """


def api_options(func: F) -> F:
    """Add --api-url, --legacy-url, --rate-limit, --timeout and --max-response-mb; the
    command receives ``settings``."""

    @click.option(
        "--api-url",
        metavar="URL",
        help="Assembla API base URL [env ASSEMBLA_API_URL; default https://api.assembla.com].",
    )
    @click.option(
        "--legacy-url",
        metavar="URL",
        help="Legacy XML host for time logs [env ASSEMBLA_LEGACY_URL; default https://www.assembla.com].",
    )
    @click.option(
        "--rate-limit",
        metavar="PER_MINUTE/PER_SECOND",
        help="Client-side pacing, or 'off' [env ASSEMBLA_RATE_LIMIT; default 240/20].",
    )
    @click.option(
        "--timeout",
        metavar="SECONDS|connect=S,read=S,pool=S,total=S",
        help="Bound each request: its whole exchange (total), or each part "
        "[env ASSEMBLA_TIMEOUT; default connect=10,read=30,write=30,pool=30,total=60].",
    )
    @click.option(
        "--max-response-mb",
        metavar="MB",
        help="Refuse an answer larger than this [env ASSEMBLA_MAX_RESPONSE_MB; default 64].",
    )
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        api_url: str | None,
        legacy_url: str | None,
        rate_limit: str | None,
        timeout: str | None,
        max_response_mb: str | None,
        **kwargs: Any,
    ) -> Any:
        settings = ClientSettings.from_env(
            api_url=api_url,
            legacy_url=legacy_url,
            rate_limit=rate_limit,
            timeouts=timeout,
            max_response_bytes=max_response_mb,
        )
        return func(*args, settings=settings, **kwargs)

    return wrapper  # type: ignore[return-value]


def db_option(func: F) -> F:
    """Add --db PATH-OR-URL (env ASSEMBLA_MIRROR_DB, default assembla.db); the command
    receives ``db``."""
    return click.option(
        "--db",
        "db",
        envvar="ASSEMBLA_MIRROR_DB",
        default=DEFAULT_DB_PATH,
        show_default=True,
        metavar="PATH|URL",
        help=(
            "The mirror: a SQLite file, or postgresql://USER@HOST/DBNAME[?schema=NAME] "
            "(keep a password out of the command line: PGPASSWORD, ~/.pgpass or the "
            "variable) [env ASSEMBLA_MIRROR_DB]."
        ),
    )(func)


def quiet_option(func: F) -> F:
    """Add -q/--quiet; the command receives ``quiet``."""
    return click.option(
        "-q", "--quiet", is_flag=True, help="No progress display (it is off anyway when piped)."
    )(func)


#: The units a duration option takes, in seconds; a bare number is minutes.
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The longest duration accepted: a century.
MAX_DURATION_SECONDS = 36500 * 86400
_DURATION = re.compile(r"(\d{1,15})\s*([a-z]?)")


def parse_duration(text: str) -> int:
    """Seconds in ``45s``, ``90m``, ``2h``, ``1d`` or a bare number of minutes (``30``);
    :class:`click.BadParameter` for anything else."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None or match[2] not in ("", *DURATION_UNITS):
        raise click.BadParameter(
            f"{text!r} is not a duration: give a whole number with s, m, h or d "
            "(45s, 90m, 2h, 1d), or a bare number of minutes"
        )
    seconds = int(match[1]) * DURATION_UNITS[match[2] or "m"]
    if seconds > MAX_DURATION_SECONDS:
        raise click.BadParameter(f"{text!r} is longer than a century")
    return seconds


class Duration(click.ParamType[int]):
    """A click option type for :func:`parse_duration`: the value is seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        return parse_duration(str(value))
