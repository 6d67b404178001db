"""Tickets' history from Python and Datasette, on a mirror with a known history
(tests/read/history_mirror.py), on both databases: ``ticket.history()`` and
``ticket.status_intervals()``, deleted tickets, the pandas helpers, the report
functions, and the canned queries (SQLite: what Datasette serves)."""

from __future__ import annotations

import re
import sqlite3
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assembla_mirror import Mirror
from assembla_mirror.errors import ConfigError
from assembla_mirror.read import frames
from assembla_mirror.read.datasette import QUERIES
from assembla_mirror.read.history import Change, StatusInterval
from assembla_mirror.read.reports import connect
from assembla_mirror.read.reports.flow import cumulative_flow, cycle_time, percentile
from assembla_mirror.read.reports.timeline import ticket_timeline
from tests.read.history_mirror import ANN, BOB, CHANGES, history_mirror_on


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The history mirror as a SQLite file, for what only SQLite serves (Datasette)."""
    with history_mirror_on("sqlite", tmp_path_factory.mktemp("history")) as db:
        yield Path(db)


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def test_ticket_history_is_typed_and_in_order(history: str) -> None:
    with Mirror(history) as m:
        space = m.space(name="Big Project")
        assert space is not None
        ticket = space.ticket(number=2)
        assert ticket is not None
        changes = ticket.history()
        assert all(isinstance(change, Change) for change in changes)
        expected = [c for c in CHANGES if c["ticket_id"] == 102]
        assert [(c.changed_at, c.field, c.old_value, c.new_value, c.source) for c in changes] == [
            (at(c["changed_at"]), c["field"], c["old_value"], c["new_value"], c["source"])
            for c in expected
        ]
        # three changes of one instant (one comment) keep the order they were recorded in
        assert [c.field for c in changes[:3]] == ["status", "milestone_id", "priority"]
        assert changes[0].changed_at.tzinfo is UTC
        assert changes[0].user_id == ANN
        assert changes[0].comment_id == 5011
        assert changes[-1].user_id is None  # seen by a sync: nobody to name
        assert changes[-1].user() is None
        bob = changes[4].user()
        assert bob is not None
        assert bob.id == BOB
        assert changes[0].ticket() == ticket
        assert "changed_at (datetime): When the change was made (UTC)." in (Change.__doc__ or "")
        first = m.space(name="Big Project").ticket(number=1)  # type: ignore[union-attr]
        assert first is not None
        comment = first.history()[0].comment()
        assert comment is not None
        assert comment["comment"] == "Taking it"


def test_status_intervals(history: str) -> None:
    with Mirror(history) as m:
        ticket = m.space(wiki_name="big-project").ticket(number=2)  # type: ignore[union-attr]
        assert ticket is not None
        stays = ticket.status_intervals()
    assert all(isinstance(stay, StatusInterval) for stay in stays)
    assert [(s.stay, s.status, s.state, s.hours) for s in stays] == [
        (1, "New", 1, 25.0),
        (2, "Accepted", 1, 24.0),
        (3, "Fixed", 0, 49.0),
        (4, "Accepted", 1, 48.0),
        (5, "Fixed", 0, None),
    ]
    assert stays[0].started_at == at("2026-11-03 08:00:00")
    assert stays[-1].ended_at is None
    assert not any(stay.deleted for stay in stays)


def test_deleted_tickets_keep_their_history(history: str) -> None:
    with Mirror(history) as m:
        gone = m.deleted_ticket(number=4)
        assert gone is not None
        assert m.space(name="Big Project").ticket(number=4) is None  # type: ignore[union-attr]
        assert gone.deleted_at == at("2026-11-08 00:00:00")
        assert gone.raw["reporter_id"] == "u-carol"
        assert [(c.field, c.new_value) for c in gone.history()] == [("status", "Invalid")]
        assert gone.history()[0].ticket() is None  # no live ticket any more
        stays = gone.status_intervals()
        assert [(s.status, s.ended_at, s.deleted) for s in stays] == [
            ("New", at("2026-11-03 11:00:00"), True),
            ("Invalid", at("2026-11-08 00:00:00"), True),
        ]
        assert [t.number for t in m.deleted_tickets()] == [4]
        assert repr(gone) == "<DeletedTicket #4 - Spam (deleted)>"


def test_report_functions(history: str) -> None:
    with connect(history) as conn:
        flow = cumulative_flow(conn, spaces=["ops"], since=None, until=None, by="day")
        cycles = cycle_time(conn, "milestone", spaces=["Big Project"])
        timeline = ticket_timeline(conn, 1, spaces=["big-project"])
        with pytest.raises(ConfigError, match="cannot group cycle time by 'space'"):
            cycle_time(conn, "space")
        with pytest.raises(ConfigError, match="cannot show the flow by 'month'"):
            cumulative_flow(conn, by="month")
    assert flow.statuses == ("In Progress", "Done")
    assert flow.closed == {"Done"}
    assert flow.rows[:2] == [("2026-11-05", 1, 0, 1), ("2026-11-06", 0, 1, 1)]
    assert flow.series()[1] == ("Done", [0] + [1] * (len(flow.rows) - 1))
    assert cycles.records() == [
        {
            "space": "Big Project",
            "milestone": "Sprint 1",
            "closed": 2,
            "cycle_median": 4.06,
            "cycle_p85": 4.75,
            "lead_median": 5.1,
            "lead_p85": 5.79,
        }
    ]
    assert cycles.overall()["closed"] == 2
    assert timeline.ticket["reporter"] == "Bob Stone"
    assert timeline.events.column("field") == ["created", "status", "assignee", "status", "status"]
    assert timeline.events.column("new")[2] == "Ann Lee"
    assert [stay[1] for stay in timeline.stays.rows] == ["New", "Accepted", "Test", "Fixed"]


def test_percentile_interpolates_between_ranks() -> None:
    values = [20.0, 74.0, 121.0, 3.0, 55.5]
    assert percentile(values, 0.5) == statistics.median(values)
    # statistics' "inclusive" method is the same interpolation (position p * (n - 1))
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    assert percentile(values, 0.85) == pytest.approx(cuts[16])
    assert percentile([7.0], 0.85) == 7.0
    assert percentile([], 0.5) is None


def test_frames_of_history(history: str) -> None:
    changes = frames.ticket_changes(history, space="Big Project")
    assert len(changes) == sum(1 for c in CHANGES if c["space_id"] == "sp-big")
    assert str(changes["changed_at"].dtype) == "datetime64[ns, UTC]"
    assert str(changes["comment_id"].dtype) == "Int64"
    assert str(changes["source"].dtype) == "category"
    assert str(changes["deleted"].dtype) == "boolean"
    assert changes.loc[changes["number"] == 4, "deleted"].all()
    assert set(changes.loc[changes["user_id"] == ANN, "user_name"]) == {"Ann Lee"}
    assert len(frames.ticket_changes(history, since="2026-11-06", until="2026-11-06")) == 3

    stays = frames.status_intervals(history, space="big-project")
    assert stays["status"].cat.ordered
    assert list(stays["status"].cat.categories) == ["New", "Accepted", "Test", "Fixed", "Invalid"]
    assert str(stays["started_at"].dtype) == "datetime64[ns, UTC]"
    assert str(stays["hours"].dtype) == "float64"
    assert stays.groupby("status", observed=True)["hours"].sum()["Accepted"] == 53.5 + 24 + 48

    flow = frames.cumulative_flow(history, since="2026-11-04", until="2026-11-07")
    wide = flow.pivot_table(
        index="day", columns="status", values="tickets", aggfunc="sum", observed=False
    )
    # every space's statuses, merged and in workflow order: open ones, then closed ones
    assert list(wide.columns) == [
        "New", "Accepted", "In Progress", "Test", "Done", "Fixed", "Invalid",
    ]  # fmt: skip
    assert str(flow["day"].dtype) == "datetime64[ns]"
    assert wide.loc["2026-11-05"].tolist() == [1, 0, 1, 1, 0, 1, 1]

    per_ticket = frames.ticket_flow(history)
    assert str(per_ticket["closed_at"].dtype) == "datetime64[ns, UTC]"
    assert str(per_ticket["reopen_count"].dtype) == "Int64"
    reopened = per_ticket.set_index(["space_name", "number"]).loc[("Big Project", 2)]
    assert reopened["reopen_count"] == 1
    assert reopened["cycle_time_hours"] == 121.0
    spent = frames.time_in_status(history, space="ops")
    # sorting follows the workflow, not the alphabet
    assert spent.sort_values("status")["status"].tolist() == ["New", "In Progress", "Done"]
    assert str(spent["current"].dtype) == "boolean"


def canned(db: Path, name: str, **params: str) -> list[dict[str, object]]:
    """Run a canned query as Datasette does: every parameter bound, blank unless given."""
    sql = str(QUERIES[name]["sql"])
    binds = {key: params.get(key, "") for key in set(re.findall(r":(\w+)", sql))}
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, binds)]


def test_canned_queries_of_history(history_file: Path) -> None:
    spent = canned(history_file, "time_in_each_status", space="big-project")
    assert [(r["status"], r["tickets"], r["median_hours"], r["p85_hours"]) for r in spent] == [
        ("New", 4, 25.0, 35.45),  # 25, 25, 25 and 44 hours: p85 at rank 2.55
        ("Accepted", 2, 62.75, 69.23),
        ("Test", 1, 20.5, 20.5),
        ("Fixed", 1, 49.0, 49.0),
        ("Invalid", 1, 109.0, 109.0),
    ]
    monthly = canned(history_file, "cycle_time_by_month")
    assert monthly == [
        {
            "month": "2026-11",
            "closed": 3,
            "cycle_median_days": 3.08,
            "cycle_p85_days": 4.45,
            "lead_median_days": 4.13,  # 4.125 days: halves away from zero, as the report
            "lead_p85_days": 5.5,
        }
    ]
    assert canned(history_file, "cycle_time_by_month", **{"from": "2026-12-01"}) == []
    burndown = canned(history_file, "milestone_burndown_by_day", milestone="sprint 1")
    days = {r["day"]: (r["open_tickets"], r["open_estimate"], r["ideal_open_tickets"])
            for r in burndown}  # fmt: skip
    # #1 (estimate 3) is in Sprint 1 from its creation; #2 (5) joins on the 4th, is
    # fixed on the 5th, reopened on the 7th and fixed on the 9th. The ideal line runs
    # from the peak (2) on the 2nd to none on the due date (the 13th).
    assert days["2026-11-02"] == (1, 3.0, 2.0)
    assert days["2026-11-04"] == (2, 8.0, 1.6)
    assert days["2026-11-06"] == (0, 0.0, 1.3)
    assert days["2026-11-07"] == (1, 5.0, 1.1)
    assert days["2026-11-13"] == (0, 0.0, 0.0)
    blank = canned(history_file, "milestone_burndown_by_day")  # the open one due soonest
    assert {r["milestone"] for r in blank} == {"Sprint 1"}
