"""RateLimiter: the spacing rule, bursts, pauses, threads; backoff and Retry-After parsing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from assembla_mirror.api.pacing import RateLimiter, backoff_delay, parse_retry_after
from assembla_mirror.api.settings import RateLimit

from .conftest import FakeClock


def run_requests(
    limiter: RateLimiter, clock: FakeClock, durations: list[float]
) -> tuple[list[float], list[float]]:
    """Send requests one after another; each takes its duration. Returns (grants, completions)."""
    grants: list[float] = []
    completions: list[float] = []
    for duration in durations:
        with limiter.slot():
            grants.append(clock.now)
            clock.now += duration
        completions.append(clock.now)
    return grants, completions


def test_default_allows_a_burst_of_20_then_waits_a_second_after_completion(
    clock: FakeClock,
) -> None:
    limiter = RateLimiter.from_setting(RateLimit(), clock=clock, sleep=clock.sleep)
    grants, completions = run_requests(limiter, clock, [0.0] * 21)
    assert grants[:20] == [grants[0]] * 20  # the whole burst at once
    assert grants[20] == pytest.approx(completions[0] + 1.0, abs=0.02)


def test_each_request_waits_for_the_completion_n_places_earlier_and_no_longer(
    clock: FakeClock,
) -> None:
    limiter = RateLimiter(((5, 10.0), (2, 1.0)), clock=clock, sleep=clock.sleep, margin=0.0)
    durations = [0.3, 0.05, 2.0, 0.1, 0.7, 0.2, 0.4, 1.5, 0.05, 0.05, 0.6, 0.1]
    grants, completions = run_requests(limiter, clock, durations)
    for k, granted in enumerate(grants):
        needed = completions[k - 1] if k else grants[0]  # sequential: after the previous one
        if k >= 2:
            needed = max(needed, completions[k - 2] + 1.0)
        if k >= 5:
            needed = max(needed, completions[k - 5] + 10.0)
        assert granted == pytest.approx(needed), k  # never earlier, never later than needed


def test_sustains_the_per_minute_rate_over_a_long_run(clock: FakeClock) -> None:
    limiter = RateLimiter.from_setting(RateLimit(), clock=clock, sleep=clock.sleep)
    grants, _ = run_requests(limiter, clock, [0.0] * 1000)
    for k in range(240, len(grants)):
        # Every 240 requests take one minute: never less, and no more than the margin.
        assert grants[k] - grants[k - 240] == pytest.approx(60.0, abs=0.02)
    for k in range(20, len(grants)):
        assert grants[k] - grants[k - 20] >= 1.0


def test_pause_until_holds_back_the_next_request_even_without_pacing(clock: FakeClock) -> None:
    limiter = RateLimiter.from_setting(None, clock=clock, sleep=clock.sleep)
    grants, _ = run_requests(limiter, clock, [0.0, 0.0])
    assert grants == [clock.now, clock.now]
    limiter.pause_until(clock.now + 5.0)
    before = clock.now
    grants, _ = run_requests(limiter, clock, [0.0])
    assert grants[0] == pytest.approx(before + 5.0)


def test_a_request_still_in_flight_blocks_the_one_n_places_later() -> None:
    limiter = RateLimiter(((1, 0.001),), margin=0.0)
    first = limiter.acquire()
    granted = threading.Event()

    def second() -> None:
        with limiter.slot():
            granted.set()

    worker = threading.Thread(target=second)
    worker.start()
    assert not granted.wait(0.2)  # first is still in flight: second may not start
    limiter.release(first)
    assert granted.wait(5)
    worker.join()


def test_an_interrupted_waiter_does_not_stall_the_line(clock: FakeClock) -> None:
    calls = {"n": 0}

    def failing_sleep(seconds: float) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        clock.sleep(seconds)

    limiter = RateLimiter(((1, 1.0),), clock=clock, sleep=failing_sleep)
    with limiter.slot():
        pass
    with pytest.raises(KeyboardInterrupt), limiter.slot():
        pass
    with limiter.slot():  # the abandoned ticket is skipped
        pass


def test_threads_never_exceed_the_limits_measured_from_completions() -> None:
    # Real clock, several threads, short windows: check the rule on the record.
    limiter = RateLimiter(((12, 0.3), (4, 0.1)))
    log: list[tuple[float, float]] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(8):
            with limiter.slot() as slot:
                pass
            with lock:
                log.append((slot.granted_at, slot.completed_at or 0.0))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    grants = sorted(start for start, _ in log)
    for count, window in ((12, 0.3), (4, 0.1)):
        for k in range(count, len(grants)):
            assert grants[k] - grants[k - count] >= window


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid rate limits"):
        RateLimiter(((0, 1.0),))


def test_backoff_grows_exponentially_is_capped_and_jittered_in_the_upper_half() -> None:
    assert backoff_delay(1, 1.0, 60.0, rng=lambda: 0.0) == 0.5
    assert backoff_delay(1, 1.0, 60.0, rng=lambda: 1.0) == 1.0
    assert backoff_delay(4, 1.0, 60.0, rng=lambda: 1.0) == 8.0
    assert backoff_delay(20, 1.0, 60.0, rng=lambda: 1.0) == 60.0
    assert 30.0 <= backoff_delay(20, 1.0, 60.0) <= 60.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("-4", 0.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("inf", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_accepts_seconds_and_http_dates(
    value: str | None, expected: float | None
) -> None:
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected
