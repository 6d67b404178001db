"""The benchmark suite for issue 6: each target's figure next to its goal.

    python -m bench.suite                       # every target at its default scale
    python -m bench.suite --only 1,3 --scale small

Targets (the simulator is the counterpart; figures depend on the machine):
  1 requests  a full sync's requests vs the minimum its data needs (goal: <= 2% over)
  2 paced     wall time at Assembla's 240/min, 20/s vs the floor the limit sets
              (goal: within 10%, zero 429s caused by our pace)
  3 latency   50 ms per request, no limit: full sync vs the same requests one
              after another (goal: >= 8x faster)
  4 ingest    zero latency, no limit: tickets/s end to end vs a plain loop's
              (goal: >= 30,000/s and within 2x)  -- see bench/ingest.py
  5 memory    peak RSS of a sync of 100,000 tickets + 100,000 tasks (goal: < 200 MB)
  6 fills     (measured in the run of 2) time logs and comments, one request each, at the
              limit with 500 ms latency: the sustained pace (goal: the limit's 4/s)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from assembla_mirror.api.settings import RateLimit
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.simulator.truth import Truth
from bench.common import run, settings_for
from bench.simulator import simulator_process

PER_PAGE = 100


def pages(rows: int) -> int:
    """Requests a list of ``rows`` needs, the unavoidable end-of-list probe included."""
    return rows // PER_PAGE + 1


def minimum_requests(truth: Truth, caller: str, comments: bool) -> int:
    """What a full sync of ``truth`` cannot do with fewer requests."""
    total = 2 + pages(len(truth.events))  # the caller, the spaces, the activity stream
    tool_spaces = {s.space_id for s in truth.ticket_statuses}
    for space in truth.spaces:
        total += 4  # members, roles, statuses, custom fields (404 without the tool)
        total += pages(sum(m.space_id == space.id for m in truth.milestones))
        if space.id in tool_spaces:
            total += pages(sum(t.space_id == space.id for t in truth.tickets))
        total += pages(sum(t.space_id == space.id for t in truth.tasks))
    total += sum(task.user_id == caller for task in truth.tasks)  # a time-log list each
    if comments:
        by_ticket: dict[int, int] = {}
        for comment in truth.comments:
            by_ticket[comment.ticket_id] = by_ticket.get(comment.ticket_id, 0) + 1
        total += sum(pages(by_ticket.get(ticket.id, 0)) for ticket in truth.tickets)
    return total


def target_requests(scale: str) -> str:
    world = World.generate(seed=61, scale=Scale.parse(scale))
    with tempfile.TemporaryDirectory() as scratch, Simulator(world) as sim:
        report = run(sim, Path(scratch) / "m.db", with_comments=True)
        minimum = minimum_requests(world.truth(), sim.credentials.user_id, comments=True)
    over = (report.requests - minimum) / minimum
    return f"1 requests: {report.requests:,} made, minimum {minimum:,} -> {over:+.2%} (goal <= +2%)"


def target_paced(scale: str) -> str:
    """Targets 2 and 6 in one run: Assembla's limit, 500 ms latency, comments on."""
    world = World.generate(seed=62, scale=Scale.parse(scale))
    limit = RateLimit(240, 20)
    with (
        tempfile.TemporaryDirectory() as scratch,
        Simulator(world, rate_limit=(240, 20), latency=0.5) as sim,
    ):
        started = time.perf_counter()
        report = run(
            sim,
            Path(scratch) / "m.db",
            settings_for(sim, rate_limit=limit),
            with_comments=True,
        )
        wall = time.perf_counter() - started
        throttled = sum(record.status == 429 for record in sim.request_log)
        fills = [
            r.t for r in sim.request_log if r.kind == "legacy" or r.endpoint.endswith("comments")
        ]
    floor = max(0, report.requests - limit.per_second) / (limit.per_minute / 60)
    # the fills' pace over their sustained part (past the first minute's window)
    steady = [t for t in fills if t >= fills[0] + 60] if fills else []
    pace = (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) > 1 else float("nan")
    return (
        f"2 paced: {report.requests:,} requests in {wall:.1f} s, floor {floor:.1f} s -> "
        f"{wall / floor - 1:+.1%}, {throttled} x 429 (goal: within +10%, zero 429s)\n"
        f"6 fills: {len(fills):,} comment/time-log requests, one each, sustained "
        f"{pace:.2f}/s at 500 ms latency (goal: the limit's 4/s, concurrently; one at a "
        f"time could not exceed 2/s)"
    )


def target_latency(scale: str) -> str:
    world = World.generate(seed=63, scale=Scale.parse(scale))
    with tempfile.TemporaryDirectory() as scratch, Simulator(world, latency=0.05) as sim:
        started = time.perf_counter()
        report = run(sim, Path(scratch) / "m.db")
        concurrent = time.perf_counter() - started
        requests = [(r.kind, r.path, r.query) for r in sim.request_log]
        sequential = replay_one_by_one(sim, requests)
    return (
        f"3 latency: full sync {concurrent:.1f} s for {report.requests:,} requests, the same "
        f"requests one after another {sequential:.1f} s -> {sequential / concurrent:.1f}x "
        f"(goal >= 8x)"
    )


def replay_one_by_one(
    sim: Simulator, requests: list[tuple[str, str, dict[str, list[str]]]]
) -> float:
    """Seconds a plain loop takes to make ``requests`` one after another."""
    creds = sim.credentials
    api = {"X-Api-Key": creds.api_key, "X-Api-Secret": creds.api_secret}
    started = time.perf_counter()
    with httpx.Client(base_url=sim.api_url, timeout=60) as client:
        for kind, path, query in requests:
            if kind == "legacy":
                client.get(path, params=query, auth=(creds.username, creds.password))
            else:
                client.get(path, params=query, headers=api)
    return time.perf_counter() - started


# Runs the CLI and, on the way out, reports its own peak RSS and its decode
# worker's. Neither wait4 nor getrusage would do: Linux carries the forking
# parent's peak over into the child's ru_maxrss, and the parent here has just run
# targets 1-3 in-process. VmHWM belongs to the memory of the exec'd program alone.
REPORT_PEAK = """
import atexit, sys
from assembla_mirror.cli import main
from assembla_mirror.pages.offload import Decoder
close = Decoder.close
def close_and_report(self):
    close(self)
    if self.worker_peak_rss_kib:
        print("worker-peak-kb", self.worker_peak_rss_kib, file=sys.stderr)
Decoder.close = close_and_report
def report():
    peak = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print("peak-kb", peak.split()[1], file=sys.stderr)
atexit.register(report)
sys.argv[0] = "mirror"
main()
"""


def reported_kib(stderr: str, label: str) -> int:
    """The largest figure the sync reported under ``label`` (0 if none)."""
    return max(
        (int(line.split()[1]) for line in stderr.splitlines() if line.startswith(label)), default=0
    )


def target_memory(scale: str) -> str:
    with tempfile.TemporaryDirectory() as scratch, simulator_process(scale) as sim:
        env = {**sim.exports, "ASSEMBLA_RATE_LIMIT": "off", "PATH": "/usr/bin:/bin"}
        command = [sys.executable, "-c", REPORT_PEAK, "sync", "--db", f"{scratch}/m.db", "-q"]
        started = time.perf_counter()
        process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
    sync_peak = reported_kib(process.stderr, "peak-kb") / 1024
    worker_peak = reported_kib(process.stderr, "worker-peak-kb") / 1024
    if process.returncode or not sync_peak:
        return f"5 memory: the sync failed: {process.stderr[-300:]}"
    return (
        f"5 memory: peak RSS {sync_peak + worker_peak:.0f} MB for scale {scale} in {wall:.0f} s "
        f"(sync {sync_peak:.0f} MB + decode worker {worker_peak:.0f} MB; goal < 200 MB)"
    )


TARGETS: dict[str, tuple[Callable[[str], str], str]] = {
    "1": (target_requests, "large"),
    "2": (target_paced, "small"),
    "3": (target_latency, "small"),
    "5": (target_memory, "bench"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description="issue 6 benchmark suite")
    parser.add_argument("--only", default="1,2,3,4,5", help="targets to run (2 also reports 6)")
    parser.add_argument("--scale", help="simulator scale for every chosen target")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    for target in args.only.split(","):
        if target == "4":
            scale = ["--scale", args.scale] if args.scale else []
            subprocess.run([sys.executable, "-m", "bench.ingest", *scale], check=False)
            continue
        function, default_scale = TARGETS[target]
        print(function(args.scale or default_scale), flush=True)


if __name__ == "__main__":
    main()
