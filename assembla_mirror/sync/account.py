"""The account step of a sync: who the caller is, which spaces exist, which are selected."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError, DataError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.decode import Page
from assembla_mirror.pages.rows import Rows
from assembla_mirror.store import history, lookups
from assembla_mirror.store import writes as store
from assembla_mirror.store.checkpoints import delete_states
from assembla_mirror.store.runs import get_meta, set_meta
from assembla_mirror.sync.context import SpaceInfo, SyncContext


def check_caller(conn: Connection, me: dict[str, Any], counter: store.ChangeCounter) -> str:
    """Return the caller's id; refuse a mirror that holds another account's data."""
    try:
        row = n.to_row(n.USERS, me)
    except DataError as exc:
        raise DataError(f"GET /v1/user returned an unusable user: {exc}") from None
    caller_id, login = row[0], row[1]
    owner = get_meta(conn, "caller_id")
    if owner is not None and owner != caller_id:
        raise ConfigError(
            f"this mirror holds the account of {get_meta(conn, 'caller_login')!r}, but the "
            f"credentials belong to {login!r}; use another --db for a second account"
        )
    set_meta(conn, "caller_id", caller_id)
    set_meta(conn, "caller_login", login)
    store.upsert(conn, n.USERS, [row], counter)
    return str(caller_id)


def read_spaces(ctx: SyncContext) -> Page:
    """The caller's spaces as one page (``/v1/spaces`` is not paged, whatever it is asked)."""
    decode = ctx.decoder.for_table(n.SPACES, None)
    pages = [
        page
        for _number, page, _last in ctx.client.iter_decoded("/v1/spaces", None, decode)
        if page is not None
    ]
    rows = Rows()
    for page in pages:
        rows.rows += page.rows.rows
        rows.warnings += page.rows.warnings
        rows.listed += page.rows.listed
    return Page(sum(page.count for page in pages), [], None, 0, rows)


def write_spaces(ctx: SyncContext, conn: Connection, spaces: Page) -> None:
    """Store the caller's spaces; drop spaces the caller no longer has (and all under them)."""
    ctx.record(spaces.rows.warnings)
    ctx.upsert(conn, n.SPACES, spaces.rows.rows)
    # A space listed with a bad value still exists: it must not lose its data.
    listed = spaces.rows.listed
    if len(listed) < spaces.count:
        ctx.warn("spaces: a listed space has no readable id, so no space is removed this run")
    elif not listed and store.count_rows(conn, "spaces", {}):
        # An account with no space at all is far likelier a broken answer than the truth.
        ctx.warn("spaces: Assembla listed no space at all; the mirrored ones are kept")
    else:
        for space_id in store.delete_missing(conn, "spaces", "id", {}, listed, ctx.counter):
            delete_states(conn, space_id)
            history.forget_space(conn, space_id, ctx.counter)
    all_spaces = {
        space_id: SpaceInfo(space_id, name, wiki_name, tool)
        for space_id, name, wiki_name, tool in lookups.spaces(conn)
    }
    ctx.spaces = select_spaces(all_spaces, ctx.options.spaces)


def select_spaces(spaces: dict[str, SpaceInfo], wanted: tuple[str, ...]) -> dict[str, SpaceInfo]:
    """The spaces ``--space`` names (by id, wiki_name or name, case-insensitive); all if none."""
    if not wanted:
        return dict(spaces)
    selected: dict[str, SpaceInfo] = {}
    for name in wanted:
        folded = name.casefold()
        matches = [
            info
            for info in spaces.values()
            if folded
            in (info.id.casefold(), (info.wiki_name or "").casefold(), info.name.casefold())
        ]
        if not matches:
            available = ", ".join(sorted(info.wiki_name or info.name for info in spaces.values()))
            raise ConfigError(f"no space matches {name!r}; the caller's spaces are: {available}")
        if len(matches) > 1:
            raise ConfigError(f"{name!r} matches several spaces; use its wiki_name or id")
        selected[matches[0].id] = matches[0]
    return selected
