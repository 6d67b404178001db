"""The streams a run mirrors beyond ``--only``: those switched on and off.

Comments, associations and files are optional (``--with NAME``, ``--without
NAME``), and the mirror remembers the choice in ``mirror_meta``; time logs need
the legacy login. Downloaded files go to a folder beside a SQLite mirror, or to
the one ``--files-dir`` named (remembered too).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError
from assembla_mirror.store.checkpoints import load_state
from assembla_mirror.store.database import database_target
from assembla_mirror.store.runs import FILES_DIR_KEY, get_meta, set_meta
from assembla_mirror.sync import fills
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.declare import Parent, PerItem
from assembla_mirror.sync.options import SyncOptions
from assembla_mirror.sync.streams import OPTIONAL, STREAMS

FILES_DIR_NEEDED = (
    "--with files on a PostgreSQL mirror needs --files-dir FOLDER, where the files go "
    "(remembered for later runs)"
)


def remember(options: SyncOptions, conn: Connection) -> None:
    """Record the streams this run switches on or off, for the runs after it."""
    for name, key in OPTIONAL.items():
        wanted = options.switch(name)
        if wanted is not None:
            set_meta(conn, key, "1" if wanted else "0")


def switched_off(ctx: SyncContext, conn: Connection) -> set[str]:
    """Streams not synced this run beyond ``--only``: the optional ones (comments,
    associations, files) unless switched on (the option, else what the mirror
    remembers), time logs without the legacy login."""
    off = set()
    for name, key in OPTIONAL.items():
        wanted = ctx.options.switch(name)
        if wanted is None:
            wanted = get_meta(conn, key) == "1"
        if not wanted:
            off.add(name)
    if not ctx.time_logs_enabled:
        off.add("time_logs")
    return off


def files_folder(options: SyncOptions, conn: Connection, *, remember: bool = True) -> Path:
    """Where this run's downloads go: ``--files-dir`` (remembered unless ``remember`` is
    false: a dry run), else the folder remembered, else beside a SQLite mirror
    (``assembla.db`` -> ``assembla.files``). ConfigError for a PostgreSQL mirror that
    was never given one."""
    if options.files_dir is not None:
        folder = Path(options.files_dir).expanduser().resolve()
        if remember:
            set_meta(conn, FILES_DIR_KEY, str(folder))
        return folder
    remembered = get_meta(conn, FILES_DIR_KEY)
    if remembered:
        return Path(remembered)
    target = database_target(options.db_path)
    if target.file is None:
        raise ConfigError(FILES_DIR_NEEDED)
    return target.file.with_name(target.file.stem + ".files")


def announce_fill_costs(ctx: SyncContext, selected: list[str]) -> None:
    """Say what a first fill of a per-ticket stream (comments, associations) costs before
    any of it is paid."""
    for stream in STREAMS.values():
        if not (isinstance(stream.listing, PerItem) and ctx.mirrors(stream)):
            continue
        if stream.parent is not Parent.TICKET:
            continue
        with ctx.engine.connect() as conn:
            known = fills.count_first_fill(ctx, conn, stream, selected)
            pending = any(
                not load_state(conn, stream.name, space).complete_once for space in selected
            )
        if not pending:
            continue
        if not known:  # a first sync: nothing to count yet
            ctx.note(f"{stream.name}: the first fill costs one request per ticket")
            continue
        limit = ctx.client.settings.rate_limit
        pace = (
            f"about {known / (limit.per_minute / 60) / 60:,.0f} min at the {limit} rate limit"
            if limit
            else "no pacing"
        )
        ctx.note(
            f"{stream.name}: the first fill costs one request per ticket: {known:,} for the "
            f"tickets already mirrored ({pace}), plus one for each ticket this run brings"
        )
