"""The architectural rule: the client layer never pulls in the database layer."""

from __future__ import annotations

import subprocess
import sys


def test_client_and_paging_do_not_import_sqlalchemy() -> None:
    code = (
        "import sys\n"
        "import assembla_mirror.client, assembla_mirror.paging, assembla_mirror.oauth\n"
        "import assembla_mirror.credentials, assembla_mirror.ratelimit, assembla_mirror.legacy\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'alembic')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_a_decode_worker_imports_neither_http_nor_database_code() -> None:
    code = (
        "import sys\n"
        "import assembla_mirror.offload\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'alembic', 'httpx', 'sqlite3')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
