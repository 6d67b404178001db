"""mirror report hours/tickets/activity against a synced simulator account, checked with
aggregates computed here in Python from the raw rows, plus CSV/JSON output and charts, on
both databases; and the same account mirrored in each gives the very same reports."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from xml.etree import ElementTree

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, text

from assembla_mirror.cli import cli
from assembla_mirror.errors import ConfigError
from assembla_mirror.read.charts import bar_chart, column_chart, nice_ticks
from assembla_mirror.read.reports import activity, hours, resolve_spaces, tickets
from assembla_mirror.read.reports.activity import zone
from assembla_mirror.read.reports.hours import HoursReport, week_start
from assembla_mirror.store.database import open_existing
from tests.expected import Db, reading
from tests.read.use_mirror import PostgresAccount, SyncedAccount, rows

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def conn(mirror: str) -> Iterator[Connection]:
    engine = open_existing(mirror)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


@dataclass
class Entry:
    """One time entry with what each grouping needs, joined here in Python."""

    space: str
    user: str
    hours: float
    begin: datetime
    ticket: int | None
    summary: str
    milestone: str

    def key(self, *names: str) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in names)


def task_rows(db: Db) -> list[Entry]:
    spaces = dict(rows(db, "SELECT id, name FROM spaces"))
    users = dict(rows(db, "SELECT id, name FROM users"))
    ticket_info = {
        i: (number, summary, milestone_id)
        for i, number, summary, milestone_id in rows(
            db, "SELECT id, number, summary, milestone_id FROM tickets"
        )
    }
    milestones = dict(rows(db, "SELECT id, title FROM milestones"))
    out = []
    for space_id, user_id, ticket_id, hours_, begin_at in rows(
        db, "SELECT space_id, user_id, ticket_id, hours, begin_at FROM tasks"
    ):
        number, summary, milestone_id = ticket_info.get(ticket_id, (None, None, None))
        if ticket_id is None:
            milestone = "(no ticket)"
        elif milestone_id is None:
            milestone = "(no milestone)"
        else:
            milestone = milestones[milestone_id]
        out.append(
            Entry(
                space=spaces[space_id],
                user=users[user_id],
                hours=hours_,
                begin=utc(begin_at),
                ticket=number,
                summary=summary if ticket_id else "(no ticket)",
                milestone=milestone,
            )
        )
    return out


def sums(entries: list[Entry], *names: str) -> dict[tuple[object, ...], float]:
    totals: dict[tuple[object, ...], float] = defaultdict(float)
    for entry in entries:
        totals[entry.key(*names)] += entry.hours
    return {key: round(value, 2) for key, value in totals.items()}


def test_hours_by_each_grouping_agree_with_python_sums(mirror: str, conn: Connection) -> None:
    entries = task_rows(mirror)
    since, until = date(2026, 3, 1), date(2026, 9, 30)
    chosen = [e for e in entries if since <= e.begin.date() <= until]
    assert 0 < len(chosen) < len(entries)
    total = round(sum(e.hours for e in chosen), 2)

    def got(report: HoursReport, *columns: str) -> dict[tuple[object, ...], float]:
        return {tuple(r[c] for c in columns): r["hours"] for r in report.records()}

    by_space = hours(conn, "space", since=since, until=until)
    expected = sums(chosen, "space")
    for space in rows(mirror, "SELECT name FROM spaces"):  # spaces without time show 0
        expected.setdefault(space, 0.0)
    assert got(by_space, "space") == expected
    assert by_space.column("hours") == sorted(by_space.column("hours"), reverse=True)

    by_user = hours(conn, "user", since=since, until=until)
    assert got(by_user, "user") == sums(chosen, "user")

    by_milestone = hours(conn, "milestone", since=since, until=until)
    assert got(by_milestone, "space", "milestone") == sums(chosen, "space", "milestone")

    by_ticket = hours(conn, "ticket", since=since, until=until)
    assert got(by_ticket, "space", "ticket", "summary") == sums(
        chosen, "space", "ticket", "summary"
    )

    by_week = hours(conn, "week", since=since, until=until)
    weekly: dict[tuple[object, ...], float] = defaultdict(float)
    for entry in chosen:
        weekly[(week_start(entry.begin.date()).isoformat(),)] += entry.hours
    assert {k: v for k, v in got(by_week, "week").items() if v} == {
        k: round(v, 2) for k, v in weekly.items()
    }
    weeks = [date.fromisoformat(w) for w in by_week.column("week")]
    assert weeks[0] == week_start(since)
    assert weeks[-1] == week_start(until)
    assert all(b - a == timedelta(days=7) for a, b in pairwise(weeks))

    by_month = hours(conn, "month", since=since, until=until)
    monthly: dict[tuple[object, ...], float] = defaultdict(float)
    for entry in chosen:
        monthly[(entry.begin.date().isoformat()[:7],)] += entry.hours
    assert {k: v for k, v in got(by_month, "month").items() if v} == {
        k: round(v, 2) for k, v in monthly.items()
    }
    # every month of the range, in order, the empty ones with 0 hours
    assert by_month.column("month") == [f"2026-{month:02d}" for month in range(3, 10)]

    by_user_month = hours(conn, "user,month", since=since, until=until)
    per_user_month: dict[tuple[object, ...], float] = defaultdict(float)
    for entry in chosen:
        per_user_month[(entry.user, entry.begin.date().isoformat()[:7])] += entry.hours
    assert got(by_user_month, "user", "month") == {
        k: round(v, 2) for k, v in per_user_month.items()
    }
    keys = [(r["user"], r["month"]) for r in by_user_month.records()]
    assert keys == sorted(keys)

    for report in (by_space, by_user, by_milestone, by_ticket, by_week, by_month, by_user_month):
        assert report.total == total, report.by


def test_day_bounds_are_inclusive_utc_days(mirror: str, conn: Connection) -> None:
    begin_at, hours_ = rows(mirror, "SELECT begin_at, hours FROM tasks ORDER BY begin_at LIMIT 1")[
        0
    ]
    day = utc(begin_at).date()
    same_day = sum(
        h for b, h in rows(mirror, "SELECT begin_at, hours FROM tasks") if utc(b).date() == day
    )
    assert hours(conn, "space", since=day, until=day).total == round(same_day, 2) >= hours_
    assert hours(conn, "space", until=day - timedelta(days=1)).total == 0
    with pytest.raises(ConfigError, match="is after"):
        hours(conn, "space", since=day, until=day - timedelta(days=1))


def test_spaces_by_name_wiki_name_or_id(mirror: str, conn: Connection) -> None:
    space_id, name, wiki = rows(mirror, "SELECT id, name, wiki_name FROM spaces ORDER BY id")[0]
    for ref in (space_id, name.upper(), wiki):
        assert resolve_spaces(conn, [ref]) == [space_id]
    only = hours(conn, "user", spaces=[wiki])
    logged = rows(mirror, "SELECT hours FROM tasks WHERE space_id = :id", id=space_id)
    assert only.total == round(sum(hours_ for (hours_,) in logged), 2)
    counted = tickets(conn, "status", spaces=[name])
    assert {r["space"] for r in counted.records()} == {name}
    with pytest.raises(ConfigError, match="no space matches 'nowhere'"):
        hours(conn, "space", spaces=["nowhere"])


def test_a_name_shared_by_two_spaces_is_ambiguous(mirror: str) -> None:
    # Renamed in a transaction that is rolled back: the shared mirror is left as it was.
    with reading(mirror) as connection:
        first, second = connection.exec_driver_sql("SELECT id FROM spaces ORDER BY id LIMIT 2")
        connection.execute(
            text("UPDATE spaces SET name = 'Twin' WHERE id IN (:first, :second)"),
            {"first": first[0], "second": second[0]},
        )
        try:
            with pytest.raises(ConfigError, match="several spaces"):
                resolve_spaces(connection, ["twin"])  # names match whatever their case
        finally:
            connection.rollback()


def test_ticket_counts_agree_with_python_counts(mirror: str, conn: Connection) -> None:
    spaces = dict(rows(mirror, "SELECT id, name FROM spaces"))
    users = dict(rows(mirror, "SELECT id, name FROM users"))
    milestones = dict(rows(mirror, "SELECT id, title FROM milestones"))
    all_tickets = rows(
        mirror, "SELECT space_id, status, state, assigned_to_id, milestone_id FROM tickets"
    )
    by_status = Counter(
        (spaces[s], status, "open" if state else "closed")
        for s, status, state, _a, _m in all_tickets
    )
    got = tickets(conn, "status").records()
    assert {(r["space"], r["status"], r["state"]): r["tickets"] for r in got} == by_status

    open_closed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for s, _status, state, assignee, _m in all_tickets:
        who = users.get(assignee, assignee) if assignee else "(unassigned)"
        open_closed[(spaces[s], who)][0 if state == 1 else 1] += 1
    got = tickets(conn, "assignee").records()
    assert {(r["space"], r["assignee"]): [r["open"], r["closed"]] for r in got} == open_closed

    per_milestone: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for s, _status, state, _a, milestone in all_tickets:
        title = milestones[milestone] if milestone else "(no milestone)"
        per_milestone[(spaces[s], title)][0 if state == 1 else 1] += 1
    got = tickets(conn, "milestone").records()
    assert {(r["space"], r["milestone"]): [r["open"], r["closed"]] for r in got} == per_milestone
    assert all(r["total"] == r["open"] + r["closed"] for r in got)


@pytest.mark.parametrize("zone_name", ["Asia/Tokyo", "America/Los_Angeles", "UTC"])
def test_activity_of_a_day_in_a_time_zone(mirror: str, conn: Connection, zone_name: str) -> None:
    tz = zone(zone_name)
    events = rows(mirror, "SELECT date, title, author_name, operation, object FROM events")
    busiest = Counter(utc(d).astimezone(tz).date() for d, *_ in events).most_common(1)[0][0]
    expected = sorted(
        (utc(d).astimezone(tz), title, author, operation)
        for d, title, author, operation, _obj in events
        if utc(d).astimezone(tz).date() == busiest
    )
    report = activity(conn, day=busiest, tz=tz)
    got = sorted((r["time"], r["title"], r["author"], r["operation"]) for r in report.records())
    assert got == expected
    assert all(
        r["time"].utcoffset() == r["time"].astimezone(tz).utcoffset() for r in report.records()
    )
    # grouped per space, oldest first within each
    spaces = report.column("space")
    assert spaces == sorted(spaces)
    for record in report.records():
        if record["object"] == "Ticket" and record["operation"] == "updated":
            assert record["details"].startswith("changed: ")


def test_activity_details_carry_the_comment(mirror: str, conn: Connection) -> None:
    found = rows(
        mirror,
        "SELECT date, comment_or_description, whatchanged FROM events "
        "WHERE object = 'Ticket Comment' AND comment_or_description <> '' ORDER BY id",
    )
    # A plain comment shows its text; one that changed fields too, its text then them.
    plain = next(row for row in found if not row[2])
    both = next(row for row in found if row[2])
    for day, comment, whatchanged in (plain, both):
        shown = f"{comment} (changed: {whatchanged})" if whatchanged else comment
        assert shown in activity(conn, day=utc(day).date(), tz=UTC).column("details")
    with pytest.raises(ConfigError, match="unknown time zone"):
        zone("Mars/Olympus")


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_formats_match_the_library(mirror: str, conn: Connection) -> None:
    report = hours(conn, "milestone", since=date(2026, 1, 1))
    as_json = json.loads(
        invoke(
            "report",
            "hours",
            "--db",
            str(mirror),
            "--by",
            "milestone",
            "--from",
            "2026-01-01",
            "--format",
            "json",
        )
    )
    assert as_json == report.records()
    as_csv = list(
        csv.reader(
            io.StringIO(
                invoke(
                    "report",
                    "hours",
                    "--db",
                    str(mirror),
                    "--by",
                    "milestone",
                    "--from",
                    "2026-01-01",
                    "--format",
                    "csv",
                )
            )
        )
    )
    assert tuple(as_csv[0]) == report.columns
    assert as_csv[1:] == [["" if v is None else str(v) for v in row] for row in report.rows]
    text = invoke("report", "hours", "--db", str(mirror), "--by", "space")
    assert text.startswith("Hours by space, all time")
    assert f"Total: {hours(conn, 'space').total:,.2f} hours" in text

    counted = json.loads(
        invoke("report", "tickets", "--db", str(mirror), "--by", "assignee", "--format", "json")
    )
    assert counted == tickets(conn, "assignee").records()

    day = date.fromisoformat(rows(mirror, "SELECT substr(max(date), 1, 10) FROM events")[0][0])
    events = json.loads(
        invoke(
            "report",
            "activity",
            "--db",
            str(mirror),
            "--day",
            str(day),
            "--tz",
            "UTC",
            "--format",
            "json",
        )
    )
    expected = activity(conn, day=day, tz=UTC).records()
    assert [e["title"] for e in events] == [e["title"] for e in expected]
    assert events[0]["time"] == expected[0]["time"].isoformat()
    summary = invoke("report", "activity", "--db", str(mirror), "--day", str(day), "--tz", "UTC")
    assert summary.startswith(f"Activity on {day:%a %d %b %Y} (UTC)")
    assert expected[0]["space"] + "\n" + "=" * len(expected[0]["space"]) in summary


def test_cli_usage_errors(synced_mirror: Path, tmp_path: Path) -> None:
    # Option checks, before any database is read: the SQLite mirror shows them.
    mirror = synced_mirror
    runner = CliRunner()
    missing = runner.invoke(cli, ["report", "hours", "--db", str(tmp_path / "none.db")])
    assert missing.exit_code == 2
    assert "no mirror at" in missing.output
    assert not (tmp_path / "none.db").exists()
    bad_day = runner.invoke(cli, ["report", "hours", "--db", str(mirror), "--from", "11/20/2026"])
    assert bad_day.exit_code == 2
    png = runner.invoke(
        cli, ["report", "hours", "--db", str(mirror), "--chart", str(tmp_path / "h.png")]
    )
    assert png.exit_code == 2
    assert "h.svg" in png.output
    assert not (tmp_path / "h.png").exists()


def parse_svg(text: str) -> ElementTree.Element:
    """Parse an SVG this package just wrote (trusted input, so no defusedxml)."""
    return ElementTree.fromstring(text)  # noqa: S314


def svg_texts(root: ElementTree.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(("by", "series"), [("week", True), ("space", False), ("user", False)])
def test_charts_are_well_formed_and_labelled(
    mirror: str, conn: Connection, tmp_path: Path, by: str, series: bool
) -> None:
    target = tmp_path / f"{by}.svg"
    result = CliRunner().invoke(
        cli, ["report", "hours", "--db", str(mirror), "--by", by, "--chart", str(target)]
    )
    assert result.exit_code == 0, result.output
    root = parse_svg(target.read_text(encoding="utf-8"))
    assert root.tag == f"{SVG}svg"
    report = hours(conn, by)
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert len(bars) == len(report.rows)
    tooltips = ["".join(bar.find(f"{SVG}title").itertext()) for bar in bars]  # type: ignore[union-attr]
    texts = svg_texts(root)
    assert report.title in texts
    for label, _value in report.points():
        assert any(tip.startswith(f"{label}: ") for tip in tooltips)
        if not series:
            assert label in texts
    heights = [float(bar.get("height" if series else "width", "0")) for bar in bars]
    values = [value for _label, value in report.points()]
    biggest = values.index(max(values))
    assert heights[biggest] == max(heights)
    if series:  # the weeks keep their order along the axis
        xs = [float(bar.get("x", "0")) for bar in bars]
        assert xs == sorted(xs)


def test_html_chart_embeds_the_svg(synced_mirror: Path, tmp_path: Path) -> None:
    # How the page is made does not depend on the database (the chart data is compared
    # between the databases below).
    target = tmp_path / "hours.html"
    invoke("report", "hours", "--db", str(synced_mirror), "--by", "week", "--chart", str(target))
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    svg = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    assert parse_svg(svg).tag == f"{SVG}svg"


def test_chart_text_is_escaped_long_lists_lumped_and_empty_charts_valid() -> None:
    points = [(f'<b>R&D "{i}" 検索フォーム {"x" * 50}', float(40 - i)) for i in range(30)]
    root = parse_svg(bar_chart("Hours & <more>", points))
    texts = svg_texts(root)
    assert "Hours & <more>" in texts
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    assert len(bars) == 25
    assert "6 others" in texts
    assert any(text.endswith("…") and text.startswith('<b>R&D "0"') for text in texts)
    total = sum(value for _label, value in points)
    assert f"total {total:,.0f} h" in texts
    assert nice_ticks(41.0)[-1] >= 41.0
    empty = parse_svg(column_chart("Nothing", []))
    assert "Nothing to show for this selection." in svg_texts(empty)


#: Report commands whose output (text, CSV, JSON, charts) must not depend on the database.
SAME_ON_BOTH = [
    ["report", "hours", "--by", "space"],
    ["report", "hours", "--by", "user", "--format", "csv"],
    ["report", "hours", "--by", "week", "--from", "2026-03-01", "--to", "2026-09-30"],
    ["report", "hours", "--by", "month", "--format", "markdown"],
    ["report", "hours", "--by", "user,month", "--from", "2026-03-01", "--format", "json"],
    ["report", "hours", "--by", "milestone", "--format", "json"],
    ["report", "hours", "--by", "ticket", "--format", "json"],
    ["report", "hours", "--by", "ticket", "--space", "Big Project", "--from", "2026-06-01"],
    ["report", "tickets", "--by", "status", "--format", "json"],
    ["report", "tickets", "--by", "assignee"],
    ["report", "tickets", "--by", "milestone", "--format", "json"],
    ["report", "tickets", "--by", "milestone"],
    ["report", "flow", "--by", "week", "--format", "json"],
    ["report", "flow", "--space", "Big Project", "--from", "2026-06-01", "--to", "2026-06-30"],
    ["report", "cycle-time", "--by", "week"],
    ["report", "cycle-time", "--by", "milestone", "--format", "json"],
    ["report", "cycle-time", "--by", "assignee", "--from", "2026-03-01", "--to", "2026-09-30"],
    ["report", "ticket", "1", "--space", "Big Project"],
    ["report", "ticket", "3", "--space", "Big Project", "--format", "json"],
]


def test_every_report_is_the_same_on_both_databases(
    synced_account: SyncedAccount, synced_postgres_account: PostgresAccount, tmp_path: Path
) -> None:
    """The same account mirrored into SQLite and into PostgreSQL reports the same numbers,
    labels, order and types (JSON prints a Decimal or a bool differently from a float or
    an int), and draws the same charts."""
    sqlite, postgres = synced_account.db, synced_postgres_account.db
    for command in SAME_ON_BOTH:
        assert invoke(*command, "--db", postgres) == invoke(*command, "--db", sqlite), command
    days = [
        day for (day,) in rows(sqlite, "SELECT DISTINCT substr(date, 1, 10) FROM events ORDER BY 1")
    ]
    for day, zone_name in [(days[0], "UTC"), (days[-1], "Asia/Tokyo"), (days[-1], "UTC")]:
        for fmt in ("json", "table"):
            command = ["report", "activity", "--day", day, "--tz", zone_name, "--format", fmt]
            on_postgres = invoke(*command, "--db", postgres)
            assert on_postgres == invoke(*command, "--db", sqlite), command
            assert "No activity" not in on_postgres
    for report, by in [
        *(("hours", by) for by in ("week", "month", "space", "user", "milestone")),
        *(("tickets", by) for by in ("status", "assignee", "milestone")),
    ]:
        charts: list[str] = []
        for db in (sqlite, postgres):
            target = tmp_path / f"{report}-{by}-{len(charts)}.svg"
            invoke("report", report, "--db", db, "--by", by, "--chart", str(target))
            charts.append(target.read_text(encoding="utf-8"))
        assert charts[0] == charts[1], (report, by)


def test_reports_as_markdown_tables(mirror: str) -> None:
    """``--format markdown``: the title as a heading, then a GitHub table with one row per
    record, numbers right-aligned, the same values as JSON gives."""
    out = invoke("report", "hours", "--db", str(mirror), "--by", "user", "--format", "markdown")
    records = json.loads(
        invoke("report", "hours", "--db", str(mirror), "--by", "user", "--format", "json")
    )
    lines = out.splitlines()
    assert lines[0].startswith("### Hours by user")
    assert lines[2] == "| user | login | hours | entries |"
    assert lines[3] == "|---|---|---:|---:|"
    body = [line.strip("|").split(" | ") for line in lines[4:]]
    assert len(body) == len(records)
    assert [cells[1].strip() for cells in body] == [record["login"] for record in records]
    assert [float(cells[2].replace(",", "")) for cells in body] == [
        record["hours"] for record in records
    ]


def test_a_chart_of_tickets_counts_them_as_the_report_does(mirror: str, tmp_path: Path) -> None:
    """``report tickets --chart``: a bar per status with every ticket of it; per
    assignee, the open ones."""
    for by, count in (("status", "tickets"), ("assignee", "open")):
        target = tmp_path / f"{by}.svg"
        records = json.loads(
            invoke("report", "tickets", "--db", str(mirror), "--by", by, "--format", "json")
        )
        invoke("report", "tickets", "--db", str(mirror), "--by", by, "--chart", str(target))
        svg = ElementTree.parse(target).getroot()  # noqa: S314 (the chart just written)
        shown = [
            float(title.text.rsplit(": ", 1)[1].split()[0].replace(",", ""))
            for title in svg.iter("{http://www.w3.org/2000/svg}title")
            if title.text and title.text.endswith(" tickets")
        ]
        expected = sorted((float(record[count] or 0) for record in records), reverse=True)
        assert sorted(shown, reverse=True)[: len(expected)] == expected[: len(shown)]
        assert sum(shown) == sum(expected)
