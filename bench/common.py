"""Shared pieces of the benchmark scripts: simulator settings, syncing, comparing mirrors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings, RateLimit
from assembla_mirror.model.tables import ENTITY_TABLES
from assembla_mirror.simulator import Simulator
from assembla_mirror.sync import SyncOptions, SyncReport, sync


def settings_for(
    sim: Simulator, rate_limit: RateLimit | None = None, **changes: Any
) -> ClientSettings:
    """Client settings aimed at ``sim``."""
    return ClientSettings(
        api_url=sim.api_url, legacy_url=sim.legacy_url, rate_limit=rate_limit, **changes
    )


def credentials_for(sim: Simulator) -> Credentials:
    """The simulator's primary caller, with the legacy login for time logs."""
    creds = sim.credentials
    return Credentials(
        api_key=creds.api_key,
        api_secret=creds.api_secret,
        username=creds.username,
        password=creds.password,
    )


def run(
    sim: Simulator, db: Path, settings: ClientSettings | None = None, **options: Any
) -> SyncReport:
    """One sync of ``sim`` into ``db``."""
    report = sync(
        SyncOptions(db_path=db, **options), settings or settings_for(sim), credentials_for(sim)
    )
    if not report.ok:
        raise SystemExit(f"sync failed: {report.error}")
    return report


def mirrors_equal(first: Path, second: Path) -> list[str]:
    """Tables whose rows differ between two mirrors (raw_json compared parsed)."""
    different = []
    for table in ENTITY_TABLES:
        if _rows(first, table) != _rows(second, table):
            different.append(table)
    return different


def _rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        cursor = conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    if "raw_json" not in names:
        return rows
    at = names.index("raw_json")
    return [(*row[:at], json.loads(row[at]), *row[at + 1 :]) for row in rows]
