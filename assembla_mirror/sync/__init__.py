"""Incremental sync of an Assembla account into the mirror. Entry point: :func:`sync`."""

from __future__ import annotations

from assembla_mirror.sync.engine import sync
from assembla_mirror.sync.options import SyncOptions
from assembla_mirror.sync.progress import NullProgress, Progress
from assembla_mirror.sync.report import SyncReport
from assembla_mirror.sync.streams import RESOURCES, parse_only

__all__ = [
    "RESOURCES",
    "NullProgress",
    "Progress",
    "SyncOptions",
    "SyncReport",
    "parse_only",
    "sync",
]
