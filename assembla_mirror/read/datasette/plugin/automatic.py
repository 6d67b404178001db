"""The metadata of a mirror served without it: plain ``datasette assembla.db``.

``mirror datasette`` writes the metadata beside the database and passes it to
Datasette (``-m``). Someone running plain ``datasette assembla.db`` would get bare
tables: no descriptions, facets, queries or charts. Through Datasette's
``get_metadata`` hook the plugin supplies the same metadata for every mirror it
serves, built from the file as ``mirror datasette`` builds it; metadata given
with ``-m`` still takes precedence, key by key (Datasette merges them so).

Datasette asks for metadata many times a page, so what was built is kept for
:data:`CACHE_SECONDS` per file: long enough to cost nothing, short enough to
follow a sync that adds a custom field (its typed view) while Datasette runs.
"""

from __future__ import annotations

import time
from typing import Any

from assembla_mirror.errors import MirrorError
from assembla_mirror.read.datasette.metadata import build_metadata
from assembla_mirror.store.database import current_revision, head_revision, open_readonly

__all__ = ["CACHE_SECONDS", "mirror_metadata"]

#: How long the metadata built for a file is reused.
CACHE_SECONDS = 60.0

#: By (file, name served as): when it was built, and the metadata (empty: not a mirror).
_BUILT: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def _build(path: str, name: str) -> dict[str, Any]:
    """The metadata of the mirror at ``path`` served as ``name``; empty for a file that is
    not a mirror at this version's schema (another application's database, an empty
    file, an older mirror: ``mirror datasette`` upgrades that one), which the store
    tells, read only."""
    try:
        engine = open_readonly(path)
    except MirrorError:
        return {}
    try:
        if current_revision(engine) != head_revision():
            return {}
        with engine.connect() as conn:
            return build_metadata(conn, name)
    finally:
        engine.dispose()


def _metadata_of(path: str, name: str) -> dict[str, Any]:
    """:func:`_build`, reused for :data:`CACHE_SECONDS`."""
    now = time.monotonic()
    held = _BUILT.get((path, name))
    if held is None or now - held[0] >= CACHE_SECONDS:
        held = (now, _build(path, name))
        _BUILT[(path, name)] = held
    return held[1]


def mirror_metadata(datasette: Any) -> dict[str, Any]:
    """Metadata for every mirror ``datasette`` serves from a file, in Datasette's format:
    each mirror's database entry, and the title and dashboard of the first mirror."""
    merged: dict[str, Any] = {}
    for name, database in list(datasette.databases.items()):
        path = getattr(database, "path", None)
        if not path or getattr(database, "is_memory", False):
            continue
        built = _metadata_of(str(path), name)
        if not built:
            continue
        if not merged:  # the first mirror names the instance and draws the dashboard
            merged = {key: value for key, value in built.items() if key != "databases"}
            merged["databases"] = {}
        merged["databases"][name] = built["databases"][name]
    return merged
