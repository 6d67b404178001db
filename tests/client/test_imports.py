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
