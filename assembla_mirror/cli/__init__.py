"""Command-line interface: ``mirror <command>``. See :mod:`assembla_mirror.cli.base`.

Each command module registers its commands on :data:`cli` when imported.
"""

from __future__ import annotations

from assembla_mirror.cli import api, simulate, sync, use  # noqa: F401  (registers commands)
from assembla_mirror.cli.base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mirror")
