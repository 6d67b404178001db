"""Helpers for tests that sync a simulator account (imported by test modules)."""

from __future__ import annotations

from pathlib import Path

from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.simulator import Simulator
from assembla_mirror.sync import SyncOptions, SyncReport, sync


def settings_for(sim: Simulator, **changes: object) -> ClientSettings:
    """Client settings pointing at a simulator: no pacing, tiny backoff for fast retries."""
    base = ClientSettings(
        api_url=sim.api_url,
        legacy_url=sim.legacy_url,
        rate_limit=None,
        backoff_base=0.01,
        backoff_cap=0.05,
    )
    return base.with_(**changes) if changes else base


def credentials_for(sim: Simulator, *, legacy: bool = True) -> Credentials:
    """The simulator's primary caller as key/secret credentials (plus legacy login)."""
    creds = sim.credentials
    return Credentials(
        api_key=creds.api_key,
        api_secret=creds.api_secret,
        username=creds.username if legacy else None,
        password=creds.password if legacy else None,
    )


def run_sync(sim: Simulator, db: Path, *, legacy: bool = True, **options: object) -> SyncReport:
    """One sync of ``sim`` into ``db`` with the given :class:`SyncOptions` fields."""
    return sync(
        SyncOptions(db_path=db, **options),  # type: ignore[arg-type]
        settings_for(sim),
        credentials_for(sim, legacy=legacy),
    )
