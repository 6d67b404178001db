"""The overall line of a sync's progress: requests expected, the percentage and the ETA."""

from __future__ import annotations

import io
from collections import defaultdict

import pytest

from assembla_mirror.api.settings import RateLimit
from assembla_mirror.cli.display import (
    PlainProgress,
    TerminalProgress,
    format_left,
    format_overall,
)
from assembla_mirror.sync.declare import LinkWalk, NewestFirst, PerItem, WholeList
from assembla_mirror.sync.overall import Forecast, Overall, eta_seconds, sustained_rate
from assembla_mirror.sync.progress import NullProgress


def test_eta_is_what_remains_at_the_observed_rate() -> None:
    # 100 requests in 50 s: 2 a second, 300 left: 150 s
    assert eta_seconds(100, 400, 50.0) == pytest.approx(150.0)
    # never faster than the pacing sustains: a first burst says nothing of the rest
    assert eta_seconds(100, 400, 5.0, ceiling=4.0) == pytest.approx(75.0)
    assert eta_seconds(100, 400, 50.0, ceiling=4.0) == pytest.approx(150.0)
    # too early to say; nothing left
    assert eta_seconds(3, 400, 10.0) is None
    assert eta_seconds(50, 400, 1.0) is None
    assert eta_seconds(400, 400, 10.0) == 0.0


def test_the_pacing_sustains_its_slower_window() -> None:
    assert sustained_rate(RateLimit(240, 20)) == pytest.approx(4.0)
    assert sustained_rate(RateLimit(6000, 20)) == pytest.approx(20.0)
    assert sustained_rate(None) is None


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Shown(NullProgress):
    """A progress that keeps every overall state it is told."""

    def __init__(self) -> None:
        self.states: list[Overall] = []

    def overall(self, status: Overall) -> None:
        self.states.append(status)


KINDS = {
    "events": NewestFirst,
    "users": WholeList,
    "tickets": NewestFirst,
    "comments": PerItem,
    "ticket_tags": LinkWalk,
}


def test_the_total_is_unknown_until_every_walk_ended_then_counts_what_is_queued() -> None:
    clock, requests, queued = Clock(), [0], defaultdict[str, set[int]](set)
    shown = Shown()
    forecast = Forecast(shown, lambda: requests[0], queued, KINDS, RateLimit(240, 20), clock)
    forecast.expect(["users:a", "tickets:a"])
    forecast.begin("tickets:a", "tickets · A")
    requests[0] = 3
    forecast.advance("tickets:a", 100)
    queued["comments"].update(range(100))  # the walk queues its tickets' comments
    assert forecast.status().expected is None  # the walk goes on: size unknown
    assert shown.states[-1].fraction is None
    forecast.anticipate("ticket_tags", 10)
    requests[0] = 5
    forecast.advance("tickets:a", 50)
    queued["comments"].update(range(100, 150))
    forecast.end("tickets:a")
    # the list never began (one request), 150 comments, 10 tags to walk
    assert forecast.status().expected == 5 + 1 + 150 + 10
    forecast.begin("users:a", "users · A")
    requests[0] = 6
    forecast.end("users:a")
    requests[0] = 56
    clock.now += 14.0
    forecast.advance("comments", 50)
    status = forecast.status()
    assert status.expected == 56 + 100 + 10
    assert status.fraction == pytest.approx(56 / 166)
    # 56 requests in 14 s: 4 a second; 110 left
    assert status.seconds_left == pytest.approx(110 / 4)
    forecast.begin("ticket_tags", "ticket tags", total=12)  # replaces the anticipation
    assert forecast.status().expected == 56 + 100 + 12
    forecast.finish()
    assert shown.states[-1].finished
    assert shown.states[-1].fraction == 1.0


def test_a_forecast_forwards_everything_to_a_progress_without_an_overall_line() -> None:
    out = io.StringIO()
    inner = TerminalProgress(out)
    forecast = Forecast(NullProgress(), lambda: 0, {}, KINDS)
    forecast.begin("tickets:a", "tickets · A")  # a progress with no overall(): fine
    forecast = Forecast(inner, lambda: 0, {}, KINDS)
    forecast.begin("tickets:a", "tickets · A")
    forecast.advance("tickets:a", 7)
    forecast.note("a note")
    assert inner.shown_notes == ["a note"]
    assert "7 rows" in out.getvalue()


def test_the_overall_line_fits_and_says_what_it_knows() -> None:
    sizing = Overall(requests=312, expected=None, elapsed=20.0)
    assert format_overall(sizing) == " … overall: sizing the account · 312 requests so far"
    known = Overall(requests=1_204, expected=3_250, elapsed=301.0, ceiling=4.0)
    assert format_overall(known) == " … overall 37% · ~9 min left · 1,204 of ~3,250 requests"
    early = Overall(requests=2, expected=300, elapsed=0.5)
    assert format_overall(early) == " … overall 1% · 2 of ~300 requests"
    done = Overall(requests=8_227, expected=8_227, elapsed=1_000.0, finished=True)
    assert format_overall(done) == " ✓ overall 100% · 8,227 requests in 16m 40s"
    assert [format_left(s) for s in (0.2, 40, 89, 240, 5_399, 7_900)] == [
        "~1s",
        "~40s",
        "~89s",
        "~4 min",
        "~90 min",
        "~2h 12m",
    ]
    worst = Overall(requests=9_999_999, expected=99_999_999, elapsed=3.0, ceiling=4.0)
    assert len(format_overall(worst)) < 80


def test_the_terminal_draws_the_overall_line_last() -> None:
    out = io.StringIO()
    progress = TerminalProgress(out)
    progress.begin("tickets:a", "tickets · A")
    progress.overall(Overall(requests=40, expected=100, elapsed=10.0))
    progress.close()
    final = out.getvalue().split("\x1b[J")[-1].splitlines()
    assert final[0].startswith(" … tickets")
    assert final[-1] == " … overall 40% · ~15s left · 40 of ~100 requests"


def test_a_dumb_terminal_gets_a_line_per_tenth_and_one_at_the_end() -> None:
    out = io.StringIO()
    progress = PlainProgress(out)
    progress.overall(Overall(requests=1, expected=None, elapsed=1.0))
    for done in (5, 12, 15, 25, 99, 100):
        progress.overall(Overall(requests=done, expected=100, elapsed=10.0))
    progress.overall(Overall(requests=100, expected=100, elapsed=10.0, finished=True))
    lines = out.getvalue().splitlines()
    assert [line.split("·")[0].strip() for line in lines] == [
        "… overall 12%",
        "… overall 25%",
        "… overall 99%",
        "✓ overall 100%",
    ]
