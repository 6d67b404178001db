"""Server-side rate limiting per credential, over HTTP and on the limiter's own clock."""

from __future__ import annotations

import time

import httpx
import pytest

from assembla_mirror.simulator import Simulator
from assembla_mirror.simulator.limits import RateLimiter

from .helpers import connect


class Ticking:
    """A monotonic clock for the limiter that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_beyond_per_second_is_429(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    tiny_sim.rate_limit = (30, 5)
    answers = [tiny.get("/v1/user") for _ in range(9)]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 4
    refused = answers[5:]
    assert all(a.json() == {"error": "rate limit exceeded"} for a in refused)
    with_header = ["retry-after" in a.headers for a in refused]
    assert with_header == [True, False, True, False]
    assert all(int(a.headers["retry-after"]) >= 1 for a in refused if "retry-after" in a.headers)
    assert [r.status for r in tiny_sim.request_log[-4:]] == [429] * 4


def test_limit_is_per_credential(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    tiny_sim.rate_limit = (30, 3)
    for _ in range(5):
        tiny.get("/v1/user")
    assert tiny.get("/v1/user").status_code == 429
    other = next(u for u in tiny_sim.world.state.users if u != tiny_sim.credentials.user_id)
    with connect(tiny_sim, tiny_sim.credentials_for(other)) as client:
        assert client.get("/v1/user").status_code == 200


@pytest.mark.slow
def test_the_window_rolls_and_limits_change_at_runtime(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    tiny_sim.rate_limit = (30, 2)
    statuses = [tiny.get("/v1/user").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    time.sleep(1.05)
    assert tiny.get("/v1/user").status_code == 200
    tiny_sim.rate_limit = None
    assert {tiny.get("/v1/user").status_code for _ in range(10)} == {200}
    assert tiny_sim.rate_limit is None


def test_per_minute_limit_and_retry_after_seconds() -> None:
    clock = Ticking()
    limiter = RateLimiter(6, 5, clock=clock)
    assert all(limiter.check("me").allowed for _ in range(5))
    clock.now += 1.5
    assert limiter.check("me").allowed  # sixth in the minute
    refused = limiter.check("me")
    assert not refused.allowed
    assert refused.retry_after == 59  # the first arrival leaves the minute at 160.0
    assert limiter.check("me").retry_after is None  # every other 429 has no header
    clock.now = 159.9
    assert not limiter.check("me").allowed  # the five from 100.0 are still in the minute
    clock.now = 160.0
    assert limiter.check("me").allowed  # they left: four arrivals remain, refused ones included
    assert limiter.check("other").allowed


def test_refused_requests_count() -> None:
    clock = Ticking()
    limiter = RateLimiter(240, 2, clock=clock)
    assert [limiter.check("me").allowed for _ in range(4)] == [True, True, False, False]
    clock.now += 1.01
    assert limiter.check("me").allowed
    clock.now += 0.5
    assert limiter.check("me").allowed
    assert not limiter.check("me").allowed
