"""A local Assembla API simulator: generated data served over real HTTP on 127.0.0.1.

It implements ``api-contract.md`` (the assumptions assembla-mirror codes
against) and is used by the test-suite, ``mirror demo``, ``mirror simulate``
and the benchmarks::

    world = World.generate(seed=7, scale=Scale.preset("small"))
    with Simulator(world, rate_limit=(240, 20)) as sim:
        ...  # point a client at sim.api_url with sim.credentials
        world.update_ticket(world.spaces_of()[0].id, 1, status="Fixed")
        expected = world.truth()

Tests that need no network can skip the socket: ``sim.transport()`` is an httpx
transport answering in-process through the same handling (pass it with base URL
:data:`IN_PROCESS_URL`; the simulator need not be started).

Modules: :mod:`.world` (state and mutations), :mod:`.generator` (seeded data),
:mod:`.history` (tickets' histories, served as change comments in Ruby's YAML by
:mod:`.ruby_yaml`), :mod:`.api` (endpoints), :mod:`.server` (auth, limits, faults,
log: the core), :mod:`.transport` (the socket server), :mod:`.inprocess` (the path
without a socket), :mod:`.truth` (test oracle, with :mod:`.truth_history` for stays
in statuses, flow and burndown).

The archive (tags, files, ticket associations) has modules of its own:
:mod:`.entities_archive`, :mod:`.generator_archive`, :mod:`.api_archive`,
:mod:`.render_archive`, :mod:`.changes_archive` (its mutations),
:mod:`.truth_archive`, :mod:`.content` (files' bytes, derived on demand) and
:mod:`.storage` (downloads: ``Range``, and redirects to a storage host the
simulator serves itself; ``Simulator(storage_url=...)``, ``sim.storage_log``).
"""

from assembla_mirror.simulator.clock import Clock
from assembla_mirror.simulator.entities import RawJson
from assembla_mirror.simulator.faults import FaultConfig, FaultSet
from assembla_mirror.simulator.inprocess import IN_PROCESS_URL, SocketOnlyFault
from assembla_mirror.simulator.scale import Scale
from assembla_mirror.simulator.server import RequestRecord, SimCredentials, Simulator
from assembla_mirror.simulator.truth import Truth
from assembla_mirror.simulator.world import World

__all__ = [
    "IN_PROCESS_URL",
    "Clock",
    "FaultConfig",
    "FaultSet",
    "RawJson",
    "RequestRecord",
    "Scale",
    "SimCredentials",
    "Simulator",
    "SocketOnlyFault",
    "Truth",
    "World",
]
