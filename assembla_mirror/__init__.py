"""assembla-mirror: a local, normalized SQLite copy of an Assembla account.

``Mirror`` reads a mirror offline with the original ``assembla`` wrapper's
objects (and ``Mirror.sync()`` brings it up to date); the sync engine itself is
``assembla_mirror.sync.sync``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assembla_mirror.read.mirror import Mirror

__version__ = "0.1.0"

__all__ = ["Mirror", "__version__"]


def __getattr__(name: str) -> object:
    # Lazy, so that importing the package (e.g. for `mirror --version`) stays light.
    if name == "Mirror":
        from assembla_mirror.read.mirror import Mirror

        return Mirror
    raise AttributeError(f"module 'assembla_mirror' has no attribute {name!r}")
