"""``mirror simulate``: serve the bundled Assembla simulator in the foreground."""

from __future__ import annotations

import shlex
import signal
import sys
import threading
from dataclasses import fields
from types import FrameType

import click

from assembla_mirror.api.settings import parse_rate_limit
from assembla_mirror.cli.base import cli
from assembla_mirror.errors import ConfigError
from assembla_mirror.simulator import FaultConfig, Scale, Simulator, World


def parse_faults(text: str) -> FaultConfig:
    """``error_500=0.01,drop=0.005,seed=3`` -> :class:`FaultConfig`; empty text: no faults."""
    names = {f.name: f.type for f in fields(FaultConfig)}
    values: dict[str, float | int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = (s.strip() for s in part.partition("="))
        if not sep or key not in names:
            raise ConfigError(
                f"bad fault setting {part!r}; use key=value with keys {', '.join(names)}"
            )
        try:
            values[key] = int(raw) if names[key] == "int" else float(raw)
        except ValueError:
            raise ConfigError(f"fault setting {key} needs a number, got {raw!r}") from None
    return FaultConfig(**values)  # type: ignore[arg-type]


def summary(world: World) -> str:
    """One line saying what the primary caller can see."""
    counts = world.truth().counts()
    shown = (
        "spaces", "users", "tickets", "comments", "milestones", "tasks", "time_logs", "events",
        "tags", "documents", "associations",
    )  # fmt: skip
    return ", ".join(f"{counts[name]:,} {name.replace('_', ' ')}" for name in shown)


@cli.command()
@click.option(
    "--port", type=int, default=0, show_default=True, help="Port on 127.0.0.1 (0: any free one)."
)
@click.option(
    "--scale",
    default="demo",
    show_default=True,
    help="Preset (tiny, small, demo, large, bench), optionally with overrides: "
    "demo,tickets_per_space=5000,spaces=10.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the generated data.")
@click.option(
    "--latency",
    type=float,
    default=0.0,
    metavar="MS",
    help="Delay before each answer, in milliseconds.",
)
@click.option(
    "--rate-limit",
    default="off",
    show_default=True,
    metavar="PER_MINUTE/PER_SECOND",
    help="Server-side limit per credential (Assembla's is 240/20), or 'off'.",
)
@click.option(
    "--faults",
    default="",
    metavar="KEY=RATE,...",
    help="Random faults, e.g. error_500=0.01,error_503=0.01,throttle_429=0.01,drop=0.005,"
    "truncate=0.005,slow=0.01,slow_seconds=2,seed=3.",
)
def simulate(
    port: int, scale: str, seed: int, latency: float, rate_limit: str, faults: str
) -> None:
    """Serve a generated Assembla account on 127.0.0.1 until Ctrl-C.

    Prints the settings to point `mirror` at it as shell `export` lines (the
    credentials are the simulator's own fakes).

    \b
    Example:
      mirror simulate --scale small --port 8765
    """
    limit, fault_config, sizes = (
        parse_rate_limit(rate_limit),
        parse_faults(faults),
        Scale.parse(scale),
    )
    world = World.generate(seed=seed, scale=sizes)
    sim = Simulator(
        world,
        port=port,
        latency=latency / 1000.0,
        faults=fault_config,
        rate_limit=(limit.per_minute, limit.per_second) if limit else None,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # Handle both signals explicitly: a SIGINT inherited as ignored (background
    # jobs, some process managers) must still stop the server cleanly.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    sim.start()
    try:
        sim.warm_up()
        # with a server-side limit, the client should pace itself to match
        settings = sim.client_environment(str(limit) if limit else "off")
        for name, value in settings.items():
            click.echo(f"export {name}={shlex.quote(value)}")
        click.echo(
            f"# Assembla simulator (scale {scale}, seed {seed}): {summary(world)}. Ctrl-C stops it."
        )
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        sim.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
