"""``mirror demo``: sync the bundled simulator's demo account and report on it.

The whole product runs as it would against Assembla: a real HTTP server on
127.0.0.1 (the simulator), the real client, the real sync (comments and ticket
history included) into a SQLite file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.errors import ConfigError
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.store.database import open_db
from assembla_mirror.store.reports import open_tickets_per_status, space_hours
from assembla_mirror.store.runs import get_meta, set_meta
from assembla_mirror.sync import SyncOptions, SyncReport, sync
from assembla_mirror.sync.progress import Progress

DEMO_SEED = 20141003
DEMO_MARK = "demo"


@dataclass
class DemoReport:
    """The demo's sync report and the two small reports it prints."""

    sync: SyncReport
    hours_by_space: list[dict[str, Any]] = field(default_factory=list)
    open_tickets_by_status: list[dict[str, Any]] = field(default_factory=list)


def prepare_demo_file(path: Path) -> None:
    """Start from a fresh file, but only ever replace an earlier demo database."""
    if path.exists():
        engine = open_db(path)
        try:
            with engine.connect() as conn:
                is_demo = get_meta(conn, DEMO_MARK) == "1"
        finally:
            engine.dispose()
        if not is_demo:
            raise ConfigError(
                f"{path} exists and is not a demo database; choose another --db for the demo"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = open_db(path)
    try:
        with engine.begin() as conn:
            set_meta(conn, DEMO_MARK, "1")
    finally:
        engine.dispose()


def run_demo(
    db_path: str | Path, *, scale: str = "demo", progress: Progress | None = None
) -> DemoReport:
    """Generate the demo account, serve it on loopback, sync it into ``db_path``, report."""
    path = Path(db_path)
    prepare_demo_file(path)
    world = World.generate(seed=DEMO_SEED, scale=Scale.parse(scale))
    with Simulator(world) as sim:
        creds = sim.credentials
        settings = ClientSettings(api_url=sim.api_url, legacy_url=sim.legacy_url, rate_limit=None)
        credentials = Credentials(
            api_key=creds.api_key,
            api_secret=creds.api_secret,
            username=creds.username,
            password=creds.password,
        )
        # With comments and associations, as a team that wants ticket history and the
        # ticket hierarchy would sync (a request or two per ticket, which the local
        # simulator answers in a moment).
        options = SyncOptions(db_path=path, with_comments=True, with_associations=True)
        report = sync(options, settings, credentials, progress=progress)
    engine = open_db(path)
    try:
        with engine.connect() as conn:
            hours = space_hours(conn)
            open_tickets = open_tickets_per_status(conn)
    finally:
        engine.dispose()
    return DemoReport(report, hours, open_tickets)
