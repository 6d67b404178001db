"""A local Assembla API simulator: generated data served over real HTTP on 127.0.0.1.

It implements ``api-contract.md`` (the assumptions assembla-mirror codes
against) and is used by the test-suite, ``mirror demo``, ``mirror simulate``
and the benchmarks::

    world = World.generate(seed=7, scale=Scale.preset("small"))
    with Simulator(world, rate_limit=(240, 20)) as sim:
        ...  # point a client at sim.api_url with sim.credentials
        world.update_ticket(world.spaces_of()[0].id, 1, status="Fixed")
        expected = world.truth()

Modules: :mod:`.world` (state and mutations), :mod:`.generator` (seeded data),
:mod:`.api` (endpoints), :mod:`.server` (HTTP, auth, limits, faults, log),
:mod:`.truth` (test oracle).
"""

from assembla_mirror.simulator.clock import Clock
from assembla_mirror.simulator.entities import RawJson
from assembla_mirror.simulator.faults import FaultConfig, FaultSet
from assembla_mirror.simulator.scale import Scale
from assembla_mirror.simulator.server import RequestRecord, SimCredentials, Simulator
from assembla_mirror.simulator.truth import Truth
from assembla_mirror.simulator.world import World

__all__ = [
    "Clock",
    "FaultConfig",
    "FaultSet",
    "RawJson",
    "RequestRecord",
    "Scale",
    "SimCredentials",
    "Simulator",
    "Truth",
    "World",
]
