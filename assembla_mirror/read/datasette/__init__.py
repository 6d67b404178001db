"""The mirror in Datasette: generated metadata (descriptions, facets, queries) and serving.

    from assembla_mirror.read.datasette import build_metadata

:func:`~assembla_mirror.read.datasette.metadata.write_metadata` writes a file usable
with plain ``datasette assembla.db -m assembla.metadata.json``;
``mirror datasette`` writes it and serves the mirror with it.
"""

from __future__ import annotations

from assembla_mirror.read.datasette.metadata import (
    build_metadata,
    database_name,
    default_metadata_path,
    missing_descriptions,
    write_metadata,
)
from assembla_mirror.read.datasette.queries import QUERIES
from assembla_mirror.read.datasette.serve import serve

__all__ = [
    "QUERIES",
    "build_metadata",
    "database_name",
    "default_metadata_path",
    "missing_descriptions",
    "serve",
    "write_metadata",
]
