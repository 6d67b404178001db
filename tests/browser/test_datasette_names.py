"""Issue 17 in a real browser: names where the tables hold ids and codes, rows titled by
what they are, column descriptions folded, row limits said out loud with every row a
click away, and the charts drawn. Each page rendered by headless Chromium after its
scripts ran, with a screenshot saved as an artifact."""

from __future__ import annotations

import csv
import html
import io

import httpx

from assembla_mirror.store.named_views import PRIORITIES
from tests.browser.chromium import Browser, Element
from tests.browser.server import BrowserMirror
from tests.browser.test_datasette_pages import non_adjacent_words, query, rows


def facet(page: Element, name: str) -> dict[str, str]:
    """A facet's values as the page lists them: label → count."""
    box = page.one("div", id=f"facet-{name}")
    found: dict[str, str] = {}
    for item in box.find_all("li"):
        link = item.find("a")
        if link is not None and link.text:
            found[link.text] = item.text.removeprefix(link.text).strip()
    return found


def test_a_ticket_page_is_titled_by_its_number_and_summary(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    ((ticket, number, summary, milestone, priority),) = query(
        browser_mirror,
        "SELECT k.id, k.number, k.summary, m.title, k.priority FROM tickets AS k"
        " JOIN milestones AS m ON m.id = k.milestone_id ORDER BY k.id LIMIT 1",
    )
    page = browser.open(f"/{browser_mirror.database}/tickets/{ticket}")
    assert page.one("h1", class_="mirror-row-title").text == f"#{number} {summary}"
    assert page.one("title").text.startswith(f"#{number} ")
    (row,) = rows(page.one("table", class_="rows-and-columns"))
    assert row["milestone_id"] == milestone
    assert row["priority"] == f"{PRIORITIES[int(str(priority))]} ({priority})"
    assert row["space_id"].startswith(str(query(browser_mirror, "SELECT name FROM spaces")[0][0]))


def test_the_tickets_table_shows_names_and_folds_its_column_list(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    page = browser.open(f"/{browser_mirror.database}/tickets?_size=20&_sort=id")
    folded = page.one("details", class_="mirror-columns")
    assert "open" not in folded.attrs  # closed until asked for
    assert folded.one("summary").text.startswith("What the ")
    milestones = {str(title) for (title,) in query(browser_mirror, "SELECT title FROM milestones")}
    shown = [row["milestone_id"] for row in rows(page.one("table", class_="rows-and-columns"))]
    named = {name for name in shown if name}
    assert named
    assert named <= milestones


def test_ticket_overview_facets_on_names(browser: Browser, browser_mirror: BrowserMirror) -> None:
    page = browser.open(f"/{browser_mirror.database}/ticket_overview")
    assert set(facet(page, "priority")) <= set(PRIORITIES.values())
    assert set(facet(page, "state")) == {"open", "closed"}
    spaces = {str(name) for (name,) in query(browser_mirror, "SELECT name FROM spaces")}
    assert set(facet(page, "space")) <= spaces
    people = {str(name) for (name,) in query(browser_mirror, "SELECT name FROM users")}
    assert set(facet(page, "assignee")) - {"(unassigned)"} <= people
    assert "(no milestone)" in facet(page, "milestone")


def test_time_entries_facet_on_people(browser: Browser, browser_mirror: BrowserMirror) -> None:
    page = browser.open(f"/{browser_mirror.database}/time_entries")
    people = {str(name) for (name,) in query(browser_mirror, "SELECT name FROM users")}
    persons = facet(page, "person")
    assert persons
    assert set(persons) <= people


def test_a_canned_query_states_its_limit_and_links_every_row(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    page = browser.open(f"/{browser_mirror.database}/tickets_closed_between")
    note = page.one("p", class_="mirror-row-limit")
    assert "at most 1,000 rows" in note.text
    link = note.one("a", class_="mirror-export")
    assert link.text == "Every row as CSV"
    answer = httpx.get(browser.url(html.unescape(link.attrs["href"] or "")), timeout=30)
    assert answer.status_code == 200
    exported = list(csv.reader(io.StringIO(answer.text)))
    ((closed,),) = query(browser_mirror, "SELECT count(*) FROM tickets WHERE state = 0")
    assert len(exported) - 1 == closed


def test_the_dashboard_draws_every_chart(browser: Browser) -> None:
    page = browser.open("/-/dashboards/assembla")
    assert page.one("h1").text == "Assembla: hours and tickets"
    body = page.one("body").text
    # The plugin shows a chart's ⚠ (hidden until then) when its query was cut at the row
    # limit: none may be.
    warnings = [node for node in page.iter() if "chart-tooltip" in node.classes]
    assert len(warnings) >= 4
    shown = [node for node in warnings if "visible" in (node.attrs.get("style") or "")]
    assert shown == []
    # vega-embed draws each chart as an SVG of marks; the two metrics are text
    drawn = [node for node in page.iter() if node.tag == "svg" and "marks" in node.classes]
    assert len(drawn) >= 4, len(drawn)
    assert "Hours per week" in body
    assert "Cumulative flow" in body


def test_the_tickets_search_box_takes_all_the_words(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    # The same words the search query is tried with: the table's own search box agrees.
    space, number, first, second = non_adjacent_words(browser_mirror)
    page = browser.open(f"/{browser_mirror.database}/ticket_overview?_size=max&space={space}")
    (ticket,) = [
        row
        for row in rows(page.one("table", class_="rows-and-columns"))
        if row["number"] == str(number)
    ]
    search = f"{second} {first}".replace(" ", "+")
    found = browser.open(f"/{browser_mirror.database}/tickets?_search={search}&_size=max")
    summaries = {row["summary"] for row in rows(found.one("table", class_="rows-and-columns"))}
    assert ticket["summary"] in summaries


def test_the_hours_by_milestone_view_labels_what_has_no_milestone(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    page = browser.open(f"/{browser_mirror.database}/hours_by_milestone?_size=max")
    shown = rows(page.one("table", class_="rows-and-columns"))
    titles = {row["milestone_title"] for row in shown}
    assert "" not in titles
    assert "(no milestone)" in titles
    ((total,),) = query(browser_mirror, "SELECT ROUND(SUM(hours), 2) FROM tasks")
    assert round(sum(float(row["hours"] or 0) for row in shown), 2) == total
