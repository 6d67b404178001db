"""Issue 4's targets: what a second sync costs, and that it ends equal to a fresh one.

    python -m bench.incremental [--scale large] [--changes 30] [--spaces 5]

Prints, against the bundled simulator (rate limit off, so only counts matter):
requests of the first full sync, of a no-change re-sync (target: <= 25, aim < 5),
and of a sync after K ticket changes in S spaces next to the minimum those
changes require; then whether the incrementally synced mirror equals a fresh
full sync row for row.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from assembla_mirror.simulator import Scale, Simulator, World
from bench.common import mirrors_equal, run

#: caller + spaces + activity + the account-wide task walk
BASE_REQUESTS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="large", help="simulator scale (large = 20 spaces)")
    parser.add_argument("--changes", type=int, default=30, help="ticket changes (K)")
    parser.add_argument("--spaces", type=int, default=5, help="spaces they fall in (S)")
    args = parser.parse_args()

    world = World.generate(seed=7, scale=Scale.parse(args.scale))
    with tempfile.TemporaryDirectory() as scratch, Simulator(world) as sim:
        db = Path(scratch) / "mirror.db"
        started = time.perf_counter()
        first = run(sim, db)
        print(
            f"scale {args.scale}: {len(world.truth().spaces)} spaces, "
            f"{first.totals['tickets']:,} tickets, {first.totals['tasks']:,} tasks"
        )
        seconds = time.perf_counter() - started
        print(f"first sync:            {first.requests:6,} requests  {seconds:6.1f} s")

        again = run(sim, db)
        print(f"no-change re-sync:     {again.requests:6,} requests  (target <= 25, aim < 5)")

        truth = world.truth()
        spaces = sorted({t.space_id for t in truth.tickets})[: args.spaces]
        per_space = max(1, args.changes // len(spaces))
        changed = 0
        for space in spaces:
            for ticket in [t for t in truth.tickets if t.space_id == space][:per_space]:
                world.update_ticket(space, ticket.number, summary=f"changed {ticket.number}")
                changed += 1
        after = run(sim, db)
        minimum = BASE_REQUESTS + sum(-(-min(per_space, 100) // 100) for _ in spaces)
        print(
            f"after {changed} changes in {len(spaces)} spaces: {after.requests:6,} requests  "
            f"(minimum {minimum}; {after.changes.get('tickets', {})})"
        )

        fresh = Path(scratch) / "fresh.db"
        run(sim, fresh)
        differing = mirrors_equal(db, fresh)
        print("equal to a fresh full sync: " + ("yes" if not differing else f"NO: {differing}"))


if __name__ == "__main__":
    main()
