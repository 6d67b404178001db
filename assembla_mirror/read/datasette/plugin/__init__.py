"""assembla-mirror's Datasette plugin: the mirror's pages as people read them.

Installed with the package (the ``datasette`` entry point in ``pyproject.toml``), so
``mirror datasette`` and plain ``datasette assembla.db`` both load it. It acts only on
databases that are mirrors (they hold ``mirror_meta``) and leaves others alone:

* cells holding an id (``space_id``, ``milestone_id``, ``user_id`` ...) show the name
  of the row they point at, linked to it, as do Team List custom field values (user
  ids), and ``priority`` and ``state`` codes show their names (:mod:`.labels`);
* a row's page is titled by what it is (``#42 Login fails``), not by its internal id;
* a table's column descriptions fold under one line instead of filling the screen
  before any data (each column's menu still shows its own);
* a canned query's page says how many rows it shows at most and links to every row
  as CSV (:mod:`.export`), which Datasette's own CSV link cuts at that limit;
* a mirror served without its metadata (plain ``datasette assembla.db``) gets it all
  the same: descriptions, facets, queries, the dashboard (:mod:`.automatic`).

The templates (``templates/``) extend Datasette's own (``default:``) and change only
the blocks named there.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, cast
from weakref import WeakKeyDictionary

from datasette import hookimpl as datasette_hookimpl
from datasette.database import QueryInterrupted
from datasette.utils import derive_named_parameters, tilde_decode, tilde_encode
from markupsafe import Markup

from assembla_mirror.read.datasette.plugin.automatic import mirror_metadata
from assembla_mirror.read.datasette.plugin.export import ROUTE, export_csv, export_url
from assembla_mirror.read.datasette.plugin.labels import CODES, REFERENCES, NameCache
from assembla_mirror.store.field_views import field_kind
from assembla_mirror.store.row_names import FIELD_TYPE_QUERY, NAMES, name_query

#: The table that marks a database as a mirror.
MIRROR_MARK = "mirror_meta"
#: The name cache's key for custom fields' types.
FIELD_TYPES = "custom_fields.type"

_Hook = TypeVar("_Hook", bound=Callable[..., Any])


def hookimpl(function: _Hook) -> _Hook:
    """Datasette's hook marker, typed (Datasette ships no type hints)."""
    return cast(_Hook, datasette_hookimpl(function))


#: Per Datasette database: whether it is a mirror, and the names it looked up lately.
_MIRRORS: WeakKeyDictionary[Any, bool] = WeakKeyDictionary()
_NAMES: WeakKeyDictionary[Any, NameCache] = WeakKeyDictionary()


async def is_mirror(datasette: Any, database: str | None) -> bool:
    """Whether Datasette's database ``database`` is a mirror (remembered per database)."""
    if not database:
        return False
    try:
        db = datasette.get_database(database)
    except KeyError:
        return False
    if db not in _MIRRORS:
        _MIRRORS[db] = bool(await db.table_exists(MIRROR_MARK))
    return _MIRRORS[db]


def names_of(datasette: Any, database: str) -> NameCache:
    """The name cache of Datasette's database ``database``."""
    db = datasette.get_database(database)
    if db not in _NAMES:
        _NAMES[db] = NameCache()
    return _NAMES[db]


async def _first(datasette: Any, database: str, sql: str, key: Any) -> str | None:
    """The first column of the first row ``sql`` answers for ``:id`` = ``key``, as text;
    None for no row, a NULL, or a mirror too old to have the table (a page shows the
    stored value then, rather than failing)."""
    try:
        result = await datasette.get_database(database).execute(sql, {"id": key})
    except (sqlite3.Error, QueryInterrupted):
        return None
    row = result.first()
    return None if row is None or row[0] is None else str(row[0])


async def row_name(datasette: Any, database: str, table: str, key: Any) -> str | None:
    """The name of the row of ``table`` whose id is ``key`` (None when there is none)."""
    return await _first(datasette, database, name_query(table), key)


async def field_type(datasette: Any, database: str, _table: str, key: Any) -> str | None:
    """The type of custom field ``key`` (``Team List`` ...)."""
    return await _first(datasette, database, FIELD_TYPE_QUERY, key)


def _link(datasette: Any, database: str, table: str, key: Any, name: str) -> Markup:
    """``name``, linked to row ``key`` of ``table``; the id shows on hover."""
    href = datasette.urls.row(database, table, tilde_encode(str(key)))
    return Markup('<a href="{}" title="{}">{}</a>').format(href, key, name)


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Any:
    """A code's name, or the name of the row an id points at (linked to it); a Team List
    custom field's value, a user id, as the person's name."""
    # Datasette labels declared foreign keys itself (their values come as dicts).
    if table is None or value == "" or not isinstance(value, str | int):
        return None
    if (table, column) == ("ticket_custom_fields", "value"):
        return _team_member(row, value, database, datasette)
    codes = CODES.get((table, column))
    target = REFERENCES.get(column)
    if codes is None and target is None:
        return None

    async def label() -> Markup | None:
        if not await is_mirror(datasette, database):
            return None
        if codes is not None:
            name = codes.get(value) if isinstance(value, int) else None
            return None if name is None else Markup("{} <small>({})</small>").format(name, value)
        assert target is not None
        names = names_of(datasette, database)
        name = await names.name(target, value, partial(row_name, datasette, database))
        if name is None:  # an id the mirror does not hold: shown as stored
            return None
        return _link(datasette, database, target, value, name)

    return label


def _team_member(row: Any, value: Any, database: str, datasette: Any) -> Any:
    """The person a Team List custom field's ``value`` names (None for other fields)."""
    try:
        field = row["custom_field_id"]
    except (IndexError, KeyError):
        return None
    if isinstance(field, dict):  # a declared key Datasette labelled: its value inside
        field = field.get("value")

    async def person() -> Markup | None:
        if not await is_mirror(datasette, database):
            return None
        names = names_of(datasette, database)
        kind = await names.name(FIELD_TYPES, field, partial(field_type, datasette, database))
        if field_kind(kind) != "person":
            return None
        name = await names.name("users", value, partial(row_name, datasette, database))
        return None if name is None else _link(datasette, database, "users", value, name)

    return person


@hookimpl
def extra_template_vars(
    template: str, database: str | None, table: str | None, request: Any, datasette: Any
) -> Any:
    """What the plugin's templates need: a row's title, the folded column list, a
    canned query's row limit and its full export."""

    async def variables() -> dict[str, Any]:
        if request is None or not await is_mirror(datasette, database):
            return {}
        assert database is not None
        if template == "row.html" and table in NAMES:
            key = tilde_decode(request.url_vars.get("pks", ""))
            title = await row_name(datasette, database, table, key)
            return {"mirror_row_title": title} if title else {}
        if template == "table.html":
            return {"mirror_fold_columns": True}
        if template == "query.html":
            return await _query_variables(datasette, database, request)
        return {}

    return variables


async def _query_variables(datasette: Any, database: str, request: Any) -> dict[str, Any]:
    """A canned query page's row limit and the address of all its rows as CSV."""
    name = request.url_vars.get("table")
    canned = await datasette.get_canned_query(database, name, request.actor) if name else None
    if canned is None or canned.get("write"):
        return {}
    db = datasette.get_database(database)
    parameters = await derive_named_parameters(db, canned["sql"])
    params = {key: request.args[key] for key in parameters if request.args.get(key)}
    return {
        "mirror_row_limit": datasette.setting("max_returned_rows"),
        "mirror_export_url": datasette.urls.path(export_url(database, name, params)),
    }


@hookimpl
def get_metadata(datasette: Any) -> dict[str, Any]:
    """The mirrors' metadata, for plain ``datasette assembla.db`` (:mod:`.automatic`)."""
    return mirror_metadata(datasette)


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    """The full CSV export of canned queries."""
    return [(ROUTE, export_csv)]
