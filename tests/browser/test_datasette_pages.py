"""`mirror datasette` as an analyst meets it: pages rendered by headless Chromium (after
their JavaScript ran), checked on the DOM, with a screenshot of each saved as a test
artifact (issue 17: "check each point in a real browser")."""

from __future__ import annotations

import json
import re
import sqlite3
from contextlib import closing

import pytest

from tests.browser.chromium import Browser, Element
from tests.browser.server import BrowserMirror

#: reStructuredText markup a page must not show: double backquotes and roles.
RST = re.compile(r"``|:[a-z]+:`")


def rows(table: Element) -> list[dict[str, str]]:
    """The rows of a Datasette results table, by column (``td.col-NAME``)."""
    body = table.one("tbody")
    return [
        {
            cls.removeprefix("col-"): cell.text
            for cell in row.find_all("td")
            for cls in cell.classes
            if cls.startswith("col-")
        }
        for row in body.find_all("tr")
    ]


def query(db: BrowserMirror, sql: str) -> list[tuple[object, ...]]:
    """The rows of ``sql`` on the mirror, read with sqlite3 (not the package's code)."""
    with closing(sqlite3.connect(f"file:{db.path}?mode=ro", uri=True)) as conn:
        return list(conn.execute(sql))


def test_the_index_page_shows_the_mirror_title(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    metadata = json.loads(
        browser_mirror.path.with_name("assembla.metadata.json").read_text("utf-8")
    )
    title = f"Assembla mirror of {browser_mirror.login}"
    assert metadata["title"] == title
    page = browser.open("/")
    assert page.one("h1").text == title
    assert title in page.one("title").text
    # and links the database by its name
    assert browser_mirror.database in {a.text for a in page.find_all("a")}
    assert not RST.search(page.one("body").text)


def test_the_database_page_lists_the_ready_made_queries(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    page = browser.open(f"/{browser_mirror.database}")
    links = {a.text for a in page.find_all("a")}
    assert {"Search tickets and comments", "Workload by assignee"} <= links
    assert not RST.search(page.one("body").text)


def spaces(db: BrowserMirror) -> set[str]:
    """The names of the mirror's spaces with a ticket tool."""
    return {str(name) for (name,) in query(db, "SELECT name FROM spaces")}


@pytest.mark.parametrize("name", ["workload_by_assignee", "hours_by_space_between"])
def test_a_canned_query_opens_on_its_answer_with_its_sql_behind_show(
    browser: Browser, browser_mirror: BrowserMirror, name: str
) -> None:
    page = browser.open(f"/{browser_mirror.database}/{name}")
    # The answer, no SQL: neither the read-only listing nor the editor (CodeMirror
    # replaces the textarea once the page's script ran).
    answer = rows(page.one("table", class_="rows-and-columns"))
    assert answer
    assert page.find("pre", id="sql-query") is None
    assert page.find("textarea", id="sql-editor") is None
    assert page.find(class_="CodeMirror") is None
    toggle = page.one("span", class_="show-hide-sql")
    (show,) = toggle.find_all("a")
    assert show.text == "show"
    assert "_show_sql=1" in show.attrs["href"]
    if name == "hours_by_space_between":
        assert {row["space"] for row in answer} <= spaces(browser_mirror)
    # "show" shows the SQL, and a "hide" link back
    shown = browser.open(show.attrs["href"])
    sql = shown.find("pre", id="sql-query") or shown.find(class_="CodeMirror")
    assert sql is not None, "the SQL is not shown after 'show'"
    assert "SELECT" in sql.text.upper()
    assert [a.text for a in shown.one("span", class_="show-hide-sql").find_all("a")] == ["hide"]


def non_adjacent_words(db: BrowserMirror) -> tuple[str, int, str, str]:
    """A ticket whose summary has two words (ASCII letters, four or more) with another
    word between them: ``(space, number, first word, second word)``."""
    for space, number, summary in query(
        db,
        "SELECT s.name, k.number, k.summary FROM tickets AS k "
        "JOIN spaces AS s ON s.id = k.space_id ORDER BY s.name, k.number",
    ):
        words = str(summary).split()
        plain = [i for i, word in enumerate(words) if re.fullmatch(r"[A-Za-z]{4,}", word)]
        for i in plain:
            for j in plain:
                if j >= i + 2:
                    return str(space), int(str(number)), words[i], words[j]
    raise AssertionError("no ticket summary has two plain words apart")


def test_search_finds_tickets_by_words_that_are_not_adjacent(
    browser: Browser, browser_mirror: BrowserMirror
) -> None:
    space, number, first, second = non_adjacent_words(browser_mirror)
    path = f"/{browser_mirror.database}/search_tickets_and_comments"
    for q in (f"{first} {second}", f"{second.upper()} {first.lower()}"):
        page = browser.open(f"{path}?q={q.replace(' ', '+')}&space=")
        found = rows(page.one("table", class_="rows-and-columns"))
        assert (space, str(number)) in {(row["space"], row["number"]) for row in found}, (
            q,
            found[:5],
        )


@pytest.mark.parametrize("table", ["tickets", "tasks", "ticket_statuses", "ticket_custom_fields"])
def test_table_descriptions_show_no_restructuredtext(
    browser: Browser, browser_mirror: BrowserMirror, table: str
) -> None:
    # These tables' descriptions are written with ``names`` in the source docstrings.
    page = browser.open(f"/{browser_mirror.database}/{table}?_size=5")
    description = page.one("div", class_="metadata-description").text
    assert description
    assert not RST.search(description), description
    columns = page.one("dl", class_="column-descriptions")
    described = [dd.text for dd in columns.find_all("dd")]
    assert described
    assert [text for text in described if RST.search(text)] == []
    assert not RST.search(page.one("body").text)


def test_each_page_opened_left_a_screenshot(browser: Browser) -> None:
    browser.open("/-/metadata")
    (shot,) = browser.shots
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
