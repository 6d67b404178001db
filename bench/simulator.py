"""Run the bundled simulator in its own process, as `mirror simulate` does for users.

A benchmark must not share a GIL with the server it measures against.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings, RateLimit


@dataclass(frozen=True)
class RunningSimulator:
    """Where a simulator process listens and how to call it."""

    exports: dict[str, str]

    @property
    def credentials(self) -> Credentials:
        """The primary caller, legacy login included."""
        e = self.exports
        return Credentials(
            api_key=e["ASSEMBLA_API_KEY"],
            api_secret=e["ASSEMBLA_API_SECRET"],
            username=e["ASSEMBLA_USERNAME"],
            password=e["ASSEMBLA_PASSWORD"],
        )

    def settings(self, rate_limit: RateLimit | None = None, **changes: object) -> ClientSettings:
        """Client settings aimed at this simulator."""
        return ClientSettings(
            api_url=self.exports["ASSEMBLA_API_URL"],
            legacy_url=self.exports["ASSEMBLA_LEGACY_URL"],
            rate_limit=rate_limit,
            **changes,  # type: ignore[arg-type]
        )


@contextmanager
def simulator_process(scale: str, *extra: str) -> Iterator[RunningSimulator]:
    """Start `mirror simulate --scale SCALE` on an OS-chosen port; stop it afterwards."""
    command = [sys.executable, "-m", "assembla_mirror", "simulate", "--scale", scale, *extra]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSEMBLA_")}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        exports: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("export "):
                key, _, value = line.removeprefix("export ").strip().partition("=")
                exports[key] = value.strip("'\"")
            elif line.startswith("#"):
                break  # the summary line comes last
        if "ASSEMBLA_API_URL" not in exports:
            raise SystemExit("the simulator did not start")
        yield RunningSimulator(exports)
    finally:
        process.terminate()
        process.wait(timeout=30)
