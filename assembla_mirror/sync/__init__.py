"""Incremental sync of an Assembla account into the mirror. Entry point: :func:`sync`."""

from __future__ import annotations

from assembla_mirror.sync.engine import sync
from assembla_mirror.sync.options import RESOURCES, SyncOptions, parse_only
from assembla_mirror.sync.progress import NullProgress, Progress
from assembla_mirror.sync.report import SyncReport

__all__ = [
    "RESOURCES",
    "NullProgress",
    "Progress",
    "SyncOptions",
    "SyncReport",
    "parse_only",
    "sync",
]
