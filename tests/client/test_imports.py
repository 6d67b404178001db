"""The architectural rules: the client layer never pulls in the database layer, and a
decode worker pulls in neither HTTP nor database code."""

from __future__ import annotations

import json
import subprocess
import sys


def imported_packages(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    """Which modules of ``packages`` a fresh interpreter holds after importing ``modules``."""
    code = (
        "import json, sys\n"
        f"import {', '.join(modules)}\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout))


def test_client_and_paging_do_not_import_sqlalchemy() -> None:
    client_layer = [
        f"assembla_mirror.{name}"
        for name in ("client", "paging", "oauth", "credentials", "ratelimit", "legacy")
    ]
    assert imported_packages(client_layer, ("sqlalchemy", "alembic")) == []


def test_a_decode_worker_imports_neither_http_nor_database_code() -> None:
    unwanted = ("sqlalchemy", "alembic", "httpx", "sqlite3")
    assert imported_packages(["assembla_mirror.offload"], unwanted) == []
