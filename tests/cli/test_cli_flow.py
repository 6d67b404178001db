"""``mirror report flow``, ``cycle-time`` and ``ticket`` on a mirror with a known history
(tests/read/history_mirror.py), on both databases: the exact tables a person reads, CSV
and JSON, the charts, the errors, and that every table fits 80 columns."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner, Result

from assembla_mirror.cli import cli
from assembla_mirror.cli.flow_render import cycle_text, duration, flow_text
from assembla_mirror.read.reports.flow import CYCLE_STATS, CycleReport, FlowReport

SVG = "{http://www.w3.org/2000/svg}"


def run(*args: str) -> Result:
    # COLUMNS fixes the terminal width the tables are made for, whatever runs the tests.
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "80"})


def output(*args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def fits(text: str, width: int = 80) -> bool:
    return all(len(line) <= width for line in text.splitlines())


FLOW_BIG = """\
Cumulative flow by day (tickets per status at the end of each day, UTC),
2026-11-02 to 2026-11-09 in 1 space(s)

day         New  Accepted  Test  Fixed  Invalid  total
----------  ---  --------  ----  -----  -------  -----
2026-11-02    2         0     0      0        0      2
2026-11-03    1         1     0      0        1      3
2026-11-04    1         2     0      0        1      4
2026-11-05    1         0     1      1        1      4
2026-11-06    0         1     0      2        1      4
2026-11-07    0         2     0      1        1      4
2026-11-08    0         2     0      1        0      3
2026-11-09    0         1     0      2        0      3
"""


def test_flow_of_one_space_day_by_day(history: str) -> None:
    # #1 and #4 are created on the 2nd; #4 turns Invalid on the 3rd and is deleted on the
    # 8th (gone at that day's end); #2 is fixed on the 5th, reopened on the 7th, fixed
    # again on the 9th; #3's move to Accepted on the 6th was inferred.
    got = output(
        "report",
        "flow",
        "--db",
        history,
        "--space",
        "big-project",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-09",
    )
    assert got == FLOW_BIG
    assert fits(got)


def test_flow_of_all_spaces_adds_them_in_workflow_order(history: str) -> None:
    got = output(
        "report",
        "flow",
        "--db",
        history,
        "--from",
        "2026-11-04",
        "--to",
        "2026-11-07",
        "--format",
        "csv",
    )
    # Ops's New is left out: no ticket stays in it past a day's end. Its statuses merge
    # in by their place in the workflows (In Progress is second, Done third).
    assert list(csv.reader(io.StringIO(got))) == [
        ["day", "New", "Accepted", "In Progress", "Test", "Done", "Fixed", "Invalid", "total"],
        ["2026-11-04", "1", "2", "0", "0", "0", "0", "1", "4"],
        ["2026-11-05", "1", "0", "1", "1", "0", "1", "1", "5"],
        ["2026-11-06", "0", "1", "0", "0", "1", "2", "1", "5"],
        ["2026-11-07", "0", "2", "0", "0", "1", "1", "1", "5"],
    ]


def test_flow_by_week_shows_each_weeks_last_day(history: str) -> None:
    got = json.loads(
        output(
            "report",
            "flow",
            "--db",
            history,
            "--space",
            "Big Project",
            "--by",
            "week",
            "--from",
            "2026-11-04",
            "--to",
            "2026-11-12",
            "--format",
            "json",
        )
    )
    # The week of Nov 2 as it ends on Sunday the 8th; the week of the 9th cut at the 12th.
    assert got == [
        {"week": "2026-11-02", "Accepted": 2, "Fixed": 1, "total": 3},
        {"week": "2026-11-09", "Accepted": 1, "Fixed": 2, "total": 3},
    ]


def test_flow_without_a_range_runs_from_the_first_ticket_through_today(history: str) -> None:
    got = output("report", "flow", "--db", history, "--space", "ops", "--format", "csv")
    lines = got.splitlines()
    today = datetime.now(UTC).date()
    first = date(2026, 11, 5)  # the Ops ticket's creation
    if (today - first).days < 42:  # up to six weeks: a row per day
        assert lines[0] == "day,In Progress,Done,total"
        assert lines[1:3] == ["2026-11-05,1,0,1", "2026-11-06,0,1,1"]
        assert lines[-1].startswith(today.isoformat())
        assert len(lines) == 1 + (today - first).days + 1
    else:
        assert lines[0] == "week,In Progress,Done,total"
        assert lines[1] == "2026-11-02,0,1,1"  # the week ends with the ticket done
        assert lines[-1].startswith((today - timedelta(days=today.weekday())).isoformat())
    assert all(line.endswith(",0,1,1") for line in lines[3:])


def test_flow_chart_is_a_stacked_area_per_status(history: str, tmp_path: Path) -> None:
    target = tmp_path / "cfd.svg"
    result = run(
        "report",
        "flow",
        "--db",
        history,
        "--space",
        "big-project",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-09",
        "--chart",
        str(target),
    )
    assert result.exit_code == 0, result.output
    root = ElementTree.fromstring(target.read_text(encoding="utf-8"))  # noqa: S314 (ours)
    assert root.tag == f"{SVG}svg"
    bands = list(root.iter(f"{SVG}polygon"))
    tips = ["".join(band.find(f"{SVG}title").itertext()) for band in bands]  # type: ignore[union-attr]
    # stacked from the end of the workflow up: Invalid at the bottom, New on top
    assert [tip.split(":")[0] for tip in tips] == ["Invalid", "Fixed", "Test", "Accepted", "New"]
    assert tips[1] == "Fixed: up to 2 tickets, 2 at the end"
    texts = ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]
    assert "Cumulative flow, 2026-11-02 to 2026-11-09 in 1 space(s)" in texts
    for status in ("New", "Accepted", "Test", "Fixed", "Invalid", "2026-11-02", "2026-11-09"):
        assert status in texts
    # the top band's upper edge reaches the day's total: 4 tickets on the 4th (of 8 days)
    top = [tuple(map(float, p.split(","))) for p in bands[-1].get("points", "").split()]
    heights = {round(x): y for x, y in top[:8]}
    assert heights[round(top[2][0])] < heights[round(top[0][0])]  # 4 tickets above 2
    page = tmp_path / "cfd.html"
    run("report", "flow", "--db", history, "--chart", str(page))
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


CYCLE_BY_WEEK = """\
Cycle and lead time in days by week, tickets closed all time

                     cycle time    lead time
week        closed  median   p85  median   p85
----------  ------  ------  ----  ------  ----
2026-11-02       2    1.96  2.75    2.56  3.66
2026-11-09       1    5.04  5.04    6.08  6.08

All 3 closed tickets, in days: cycle median 3.08, cycle p85 4.45, lead median
4.13, lead p85 5.50
"""

CYCLE_BY_MILESTONE = """\
Cycle and lead time in days by milestone, tickets closed all time

                                      cycle time    lead time
space        milestone       closed  median   p85  median   p85
-----------  --------------  ------  ------  ----  ------  ----
Big Project  Sprint 1             2    4.06  4.75    5.10  5.79
Ops          (no milestone)       1    0.83  0.83    1.00  1.00

All 3 closed tickets, in days: cycle median 3.08, cycle p85 4.45, lead median
4.13, lead p85 5.50
"""


def test_cycle_time_by_week_and_milestone(history: str) -> None:
    # Closed now: #1 (cycle 74 h, lead 99 h; week of Nov 2), Ops #1 (20 h, 24 h; same
    # week), #2 (121 h, 146 h; week of Nov 9, counted when it closed again). The deleted
    # #4 is left out. Week of Nov 2: median (20 + 74) / 2 = 47 h = 1.96 days, p85 at
    # rank 0.85 = 20 + 0.85 * 54 = 65.9 h = 2.75 days.
    assert output("report", "cycle-time", "--db", history) == CYCLE_BY_WEEK
    assert output("report", "cycle-time", "--db", history, "--by", "milestone") == (
        CYCLE_BY_MILESTONE
    )


def test_cycle_time_by_assignee_names_people(history: str) -> None:
    got = json.loads(
        output("report", "cycle-time", "--db", history, "--by", "assignee", "--format", "json")
    )
    assert [(row["assignee"], row["closed"], row["cycle_median"]) for row in got] == [
        ("Ann Lee", 1, 3.08),
        ("Bob Stone", 1, 5.04),
        ("carol", 1, 0.83),  # known by login only
    ]
    within = output(
        "report",
        "cycle-time",
        "--db",
        history,
        "--from",
        "2026-11-07",
        "--to",
        "2026-11-15",
        "--format",
        "csv",
    )
    assert within.splitlines() == [
        "week,closed,cycle_median,cycle_p85,lead_median,lead_p85",
        "2026-11-02,0,,,,",
        "2026-11-09,1,5.04,5.04,6.08,6.08",
    ]


def test_cycle_time_table_fits_with_long_names() -> None:
    long = "A milestone whose title goes on and on and on"
    report = CycleReport(
        "Cycle and lead time in days by milestone",
        ("space", "milestone", "closed", *CYCLE_STATS),
        [("Big Project with a long name", long, 1234, 1234.5, 12345.25, 2.0, 3.0)],
        "milestone",
        [(1.0, 2.0)],
    )
    text = cycle_text(report, 80)
    assert fits(text)
    assert "A milestone whose" in text
    assert "12,345.25" in text  # numbers are never cut
    assert "1,234" in text


def test_cycle_time_chart(history: str, tmp_path: Path) -> None:
    target = tmp_path / "cycle.svg"
    result = run(
        "report", "cycle-time", "--db", history, "--by", "assignee", "--chart", str(target)
    )
    assert result.exit_code == 0, result.output
    root = ElementTree.fromstring(target.read_text(encoding="utf-8"))  # noqa: S314 (ours)
    tips = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    assert "Median cycle time in days by assignee" in tips
    assert "Bob Stone: 5.04 days" in tips


TICKET_2 = """\
Big Project #2: Export to CSV
now Fixed (closed); times UTC

when              who        field      change
----------------  ---------  ---------  ------------------
2026-11-03 08:00  Ann Lee    created    New
2026-11-04 09:00  Ann Lee    status     New -> Accepted
2026-11-04 09:00  Ann Lee    milestone  (none) -> Sprint 1
2026-11-04 09:00  Ann Lee    priority   Normal -> Highest
2026-11-05 09:00  Ann Lee    status     Accepted -> Fixed
2026-11-07 10:00  Bob Stone  status     Fixed -> Accepted
2026-11-09 10:00  (mirror)   status     Accepted -> Fixed

Stays in each status

stay  status    state   from              to                for
----  --------  ------  ----------------  ----------------  -----
   1  New       open    2026-11-03 08:00  2026-11-04 09:00  1d 1h
   2  Accepted  open    2026-11-04 09:00  2026-11-05 09:00  1d 0h
   3  Fixed     closed  2026-11-05 09:00  2026-11-07 10:00  2d 1h
   4  Accepted  open    2026-11-07 10:00  2026-11-09 10:00  2d 0h
   5  Fixed     closed  2026-11-09 10:00  (now)
"""

TICKET_4 = """\
Big Project #4: Spam
DELETED upstream (found 2026-11-08 00:00), last Invalid; times UTC

when              who       field    change
----------------  --------  -------  ----------------
2026-11-02 10:00  carol     created  New
2026-11-03 11:00  carol     status   New -> Invalid
2026-11-08 00:00  (mirror)  deleted  deleted upstream

Stays in each status

stay  status   state   from              to                for
----  -------  ------  ----------------  ----------------  ------
   1  New      open    2026-11-02 10:00  2026-11-03 11:00  1d 1h
   2  Invalid  closed  2026-11-03 11:00  2026-11-08 00:00  4d 13h
"""


def test_ticket_timeline(history: str) -> None:
    got = output("report", "ticket", "2", "--db", history, "--space", "big-project")
    assert got == TICKET_2
    deleted = output("report", "ticket", "4", "--db", history, "--space", "Big Project")
    assert deleted == TICKET_4  # found among the deleted tickets, its history kept
    assert fits(got)
    assert fits(deleted)
    # the only #3 needs no --space
    assert "(inferred)  status   New -> Accepted" in output(
        "report", "ticket", "3", "--db", history
    )


def test_ticket_timeline_as_csv_and_json(history: str) -> None:
    rows = list(
        csv.DictReader(
            io.StringIO(
                output(
                    "report",
                    "ticket",
                    "1",
                    "--db",
                    history,
                    "--space",
                    "big-project",
                    "--format",
                    "csv",
                )
            )
        )
    )
    assert [(r["field"], r["old_value"], r["new_value"], r["source"]) for r in rows] == [
        ("created", "", "New", ""),
        ("status", "New", "Accepted", "comment"),
        ("assignee", "", "u-ann", "comment"),
        ("status", "Accepted", "Test", "comment"),
        ("status", "Test", "Fixed", "comment"),
    ]
    assert rows[2]["new"] == "Ann Lee"
    assert rows[1]["comment_id"] == "5001"
    assert rows[1]["when"] == "2026-11-03T10:00:00+00:00"
    got = json.loads(
        output(
            "report", "ticket", "4", "--db", history, "--space", "big-project", "--format", "json"
        )
    )
    assert got["ticket"]["deleted"] is True
    assert got["ticket"]["deleted_at"] == "2026-11-08T00:00:00+00:00"
    assert got["ticket"]["reporter"] == "carol"
    assert [stay["hours"] for stay in got["stays"]] == [25.0, 109.0]
    assert got["changes"][-1]["field"] == "deleted"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1"], "ticket #1 is in several spaces (Big Project, Ops); say which with --space"),
        (["9", "--space", "ops"], "no ticket #9 in ops in the mirror (nor among deleted ones)"),
        (
            ["2", "--space", "nowhere"],
            "no space matches 'nowhere'; the mirror has: big-project, ops",
        ),
    ],
)
def test_ticket_errors(history: str, args: list[str], message: str) -> None:
    result = run("report", "ticket", *args, "--db", history)
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {message}"


def test_flow_and_cycle_errors(history: str, tmp_path: Path) -> None:
    backwards = run("report", "flow", "--db", history, "--from", "2026-11-09", "--to", "2026-11-01")
    assert backwards.exit_code == 2
    assert "--from 2026-11-09 is after --to 2026-11-01" in backwards.output
    unknown = run("report", "cycle-time", "--db", history, "--space", "nowhere")
    assert unknown.exit_code == 2
    assert "no space matches 'nowhere'" in unknown.output
    png = run("report", "flow", "--db", history, "--chart", str(tmp_path / "cfd.png"))
    assert png.exit_code == 2
    assert "cfd.svg" in png.output
    nothing = output("report", "flow", "--db", history, "--from", "2030-01-01")
    assert nothing.endswith("(no rows)\n")


def test_a_long_workflow_still_fits_80_columns() -> None:
    statuses = [
        "New",
        "Accepted",
        "In Progress",
        "Code Review",
        "Ready for QA",
        "Testing",
        "Blocked by upstream",
        "Fixed",
        "Won't fix",
        "Invalid",
        "Duplicate",
        "検索フォーム",
    ]
    rows = [(f"2026-11-0{i}", *(i * j * 37 for j in range(len(statuses))), i) for i in (1, 2)]
    report = FlowReport("Cumulative flow", ("day", *statuses, "total"), rows, tuple(statuses))
    text = flow_text(report, 80)
    assert fits(text.replace("検索フォーム", "x" * 12))  # each wide character takes two columns
    # too many for one table: several, the day in each, names cut to 12 at most
    assert text.count("day  ") == 3
    assert "Blocked by…" in text
    assert "Columns: Blocked by… Blocked by upstream" in text
    fewer = FlowReport("Flow", ("day", *statuses[:8], "total"), rows, tuple(statuses[:8]))
    text = flow_text(fewer, 80)
    assert text.count("day  ") == 1  # one table, its headings cut and spelled out below
    assert fits(text)
    assert "Accep… Accepted" in text
    assert "day         New  " in text  # short names stay whole


def test_durations() -> None:
    assert [duration(h) for h in (None, 0.25, 1.5, 25.0, 109.0, 0.0)] == [
        "",
        "15m",
        "1h 30m",
        "1d 1h",
        "4d 13h",
        "0m",
    ]
