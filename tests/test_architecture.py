"""The house plan, asserted: which layer may import which, across the whole package.

Layers (packages of ``assembla_mirror``) and what each may import of the package::

    errors      nothing
    api         errors                     talking to Assembla: HTTP, auth, pacing, paging
    model       errors                     the tables, and how a record becomes a row
    pages       errors, api, model         the page path: an answer's bytes to rows
    store       errors, model              every SQL statement
    sync        errors, api, model, pages, store
    read        errors, model, store, sync the mirror in use (sync: ``Mirror.sync`` only)
    simulator   errors                     a fake Assembla: shares nothing with the mirror
    cli, demo   anything

Every ``import`` counts, also one inside a function: a lazy import is still a
dependency. Besides the static rule, two runtime checks: importing the API layer
loads no database code, and a decode worker loads neither HTTP nor database code
(SQLAlchemy included).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "assembla_mirror"

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "api": {"errors"},
    "model": {"errors"},
    "pages": {"errors", "api", "model"},
    "store": {"errors", "model"},
    "sync": {"errors", "api", "model", "pages", "store"},
    "read": {"errors", "model", "store", "sync"},
    "simulator": {"errors"},
}
#: Only these modules of ``read`` may reach ``sync``.
READ_TO_SYNC = {"read/mirror.py"}
#: The top of the package may hand names on, lazily, from any layer.
COMPOSERS = {"cli", "demo", "__init__", "__main__"}


def layer_of(path: Path) -> str:
    """``api`` for ``assembla_mirror/api/client.py``, ``errors`` for ``errors.py``."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_layers(path: Path) -> set[str]:
    """The layers of ``assembla_mirror`` that ``path`` imports (anywhere in it)."""
    layers: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "assembla_mirror":  # a layer, or a name such as __version__
                modules = [alias.name for alias in node.names if not alias.name.startswith("_")]
                names = [f"assembla_mirror.{module}" for module in modules]
        for name in names:
            parts = name.split(".")
            if parts[0] == "assembla_mirror" and len(parts) > 1:
                layers.add(parts[1])
    return layers


def test_every_layer_imports_only_what_it_may() -> None:
    broken = []
    for path in sorted(PACKAGE.rglob("*.py")):
        layer = layer_of(path)
        if layer in COMPOSERS:
            continue
        assert layer in ALLOWED, f"{path}: a new layer; add it to the plan in this test"
        allowed = ALLOWED[layer] | {layer}
        if layer == "read" and str(path.relative_to(PACKAGE)) not in READ_TO_SYNC:
            allowed = allowed - {"sync"}
        for imported in sorted(imported_layers(path) - allowed):
            broken.append(f"{path.relative_to(PACKAGE.parent)} imports {imported}")
    assert broken == []


def test_the_top_of_the_package_stays_small() -> None:
    modules = {path.name for path in PACKAGE.glob("*.py")} - {"__init__.py", "__main__.py"}
    assert len(modules) <= 6, modules


def test_the_rule_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from assembla_mirror.store import writes\n")
    assert imported_layers(sample) == {"store"}


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


def test_the_api_layer_loads_no_database_code() -> None:
    api = [f"assembla_mirror.api.{path.stem}" for path in (PACKAGE / "api").glob("[!_]*.py")]
    assert imported_packages(api, ("sqlalchemy", "alembic", "sqlite3")) == []


def test_a_decode_worker_loads_neither_http_nor_database_code() -> None:
    """It starts while a sync begins and lives beside it: SQLAlchemy and the models
    alone would make it start six times slower and take 25 MB more."""
    unwanted = ("httpx", "httpcore", "alembic", "sqlite3", "sqlalchemy")
    assert imported_packages(["assembla_mirror.pages.offload"], unwanted) == []
