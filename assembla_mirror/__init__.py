"""assembla-mirror: a local, normalized SQLite copy of an Assembla account."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
