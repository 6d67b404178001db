"""Helpers for the loopback tests against the bundled Assembla simulator."""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.simulator import RequestRecord, Scale, Simulator, World


def new_world(seed: int = 7, scale: str = "tiny,spaces=3") -> World:
    """A generated account; with three spaces it has one without the ticket tool."""
    return World.generate(seed=seed, scale=Scale.parse(scale))


@contextmanager
def serving(world: World, **options: Any) -> Iterator[Simulator]:
    """``world`` served on loopback; no pacing, latency or faults unless asked."""
    options = {"rate_limit": None, "latency": 0.0, "faults": None, **options}
    with Simulator(world, **options) as sim:
        yield sim


def settings_for(sim: Simulator, **changes: Any) -> ClientSettings:
    """Settings for ``sim``: no pacing and tiny backoff unless changed."""
    base = ClientSettings(
        api_url=sim.api_url,
        legacy_url=sim.legacy_url,
        rate_limit=None,
        backoff_base=0.01,
        backoff_cap=0.05,
    )
    return base.with_(**changes)


def key_credentials(sim: Simulator, *, legacy: bool = True) -> Credentials:
    """The primary caller's key pair (and legacy login)."""
    creds = sim.credentials
    return Credentials(
        api_key=creds.api_key,
        api_secret=creds.api_secret,
        username=creds.username if legacy else None,
        password=creds.password if legacy else None,
    )


def everything_secret(sim: Simulator) -> list[str]:
    """Every secret the simulator handed out (for leak checks)."""
    creds = sim.credentials
    values = [creds.api_key, creds.api_secret, creds.password, creds.client_secret]
    return [value for value in values if value]


def ticket_space(world: World) -> str:
    """The id of the caller's first space that has a ticket tool."""
    for space in world.spaces_of():
        if world.state.require_space(space.id).ticket_tool is not None:
            return space.id
    raise AssertionError("no space with tickets")


def foreign_space(world: World) -> str:
    """The id of a space the caller is not a member of."""
    mine = {space.id for space in world.spaces_of()}
    return next(space_id for space_id in world.state.spaces if space_id not in mine)


def live_ticket_ids(world: World, space_id: str) -> set[int]:
    """Ids of the tickets a full walk of ``space_id`` must return."""
    return {ticket.id for ticket in world.state.require_space(space_id).tickets.values()}


def settled_log(sim: Simulator, count: int, timeout: float = 5.0) -> list[RequestRecord]:
    """The request log once it holds ``count`` records.

    The simulator appends a record after writing the answer, so a client can
    hold its answer a moment before the log shows the request.
    """
    deadline = time.monotonic() + timeout
    log = sim.request_log
    while len(log) < count and time.monotonic() < deadline:
        time.sleep(0.005)
        log = sim.request_log
    return log


def records(sim: Simulator, path_prefix: str = "", *, count: int = 0) -> list[RequestRecord]:
    """The request log (waiting for ``count`` records), only requests under ``path_prefix``."""
    log = settled_log(sim, count) if count else sim.request_log
    return [record for record in log if record.path.startswith(path_prefix)]


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of ``times`` inside any half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, start + window) - i for i, start in enumerate(ordered)),
        default=0,
    )
