"""Command-line interface: ``mirror <command>``. See :mod:`assembla_mirror.cli.base`."""

from __future__ import annotations

from assembla_mirror.cli.base import cli

__all__ = ["cli", "main"]


def _register_commands() -> None:
    # Importing a command module registers its commands on ``cli``. A module that
    # does not exist yet (work in progress) is simply skipped.
    import importlib

    for name in ("api", "simulate", "sync", "use"):
        try:
            importlib.import_module(f"assembla_mirror.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assembla_mirror.cli.{name}":
                raise


_register_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="mirror")
