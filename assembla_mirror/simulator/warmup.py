"""Rendering the high-volume objects ahead of the first requests.

A first sync reads every ticket and task once, so without help each is
rendered on the request path (most of a cold page's cost). :func:`warm_up`
renders them the way the primary caller sees them, in chunks, holding the
world's lock only briefly, so requests can be served meanwhile. A cache entry
made for an offset a request does not use is simply replaced.
"""

from __future__ import annotations

from assembla_mirror.simulator import render, zones
from assembla_mirror.simulator.world import World

CHUNK = 250


def warm_up(world: World) -> None:
    """Render the primary caller's tickets and tasks into their caches."""
    with world.lock:
        state = world.state
        user = world.primary_user
        spaces = [d for d in state.spaces.values() if user.id in d.roles]
        ids = {d.space.id for d in spaces}
        tickets = [(d, t) for d in spaces for t in d.tickets.values()]
        tasks = [t for t in state.tasks.values() if t.space_id in ids]
    for start in range(0, len(tickets), CHUNK):
        with world.lock:
            for data, ticket in tickets[start : start + CHUNK]:
                where = zones.zone(data.space.time_zone or user.time_zone)
                render.ticket(ticket, where, data.field_generation, state)
    for start in range(0, len(tasks), CHUNK):
        with world.lock:
            for task in tasks[start : start + CHUNK]:
                space = state.spaces[task.space_id].space
                render.task(task, zones.zone(space.time_zone or user.time_zone))
