"""Serving a mirror with Datasette (the optional ``datasette`` extra)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from assembla_mirror.errors import MirrorError

INSTALL_HINT = "install it with: pip install 'assembla-mirror[datasette]'"


def datasette_cli() -> ModuleType:
    """Datasette's command-line module, or a clear error saying how to install it."""
    try:
        return importlib.import_module("datasette.cli")
    except ImportError:
        raise MirrorError(f"Datasette is not installed; {INSTALL_HINT}") from None


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
