"""Serving a mirror with Datasette (the optional ``datasette`` extra)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from assembla_mirror.errors import ConfigError, MirrorError
from assembla_mirror.store.target import database_target

INSTALL_HINT = "install it from the assembla-mirror checkout with: pip install -e '.[datasette]'"


def datasette_cli() -> ModuleType:
    """Datasette's command-line module, or a clear error saying how to install it."""
    try:
        return importlib.import_module("datasette.cli")
    except ImportError:
        raise MirrorError(f"Datasette is not installed; {INSTALL_HINT}") from None


def check_servable(db: str | Path) -> None:
    """Refuse a mirror Datasette cannot open: it reads SQLite files only."""
    target = database_target(db)
    if target.backend != "sqlite":
        raise ConfigError(
            f"Datasette reads SQLite files only, and {target} is a {target.backend} "
            "database: query it with psql, pandas, Metabase or Grafana, or copy it into a "
            "file for Datasette (mirror db copy URL mirror.db)"
        )


def serve(
    db_path: str | Path,
    metadata_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8001,
    extra_args: Sequence[str] = (),
) -> None:
    """Run ``datasette serve`` on the mirror with its metadata until interrupted.

    The file is served mutable (not ``-i``): a sync may write to it meanwhile,
    and the mirror's WAL mode lets Datasette keep reading while it does.
    """
    check_servable(db_path)
    module = datasette_cli()
    args = [
        "serve",
        str(db_path),
        "--metadata",
        str(metadata_path),
        "--host",
        host,
        "--port",
        str(port),
        *extra_args,
    ]
    # Datasette's own click command, in this process: same Python, same extra.
    module.cli.main(args=args, prog_name="datasette", standalone_mode=False)
