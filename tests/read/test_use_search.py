"""mirror search: unicode (accents folded, CJK, emoji), FTS syntax typed by users, comments,
on both databases (FTS5 on SQLite, full-text search on PostgreSQL), which find the same
tickets with the same snippets."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from assembla_mirror.cli import cli
from assembla_mirror.simulator import Scale, Simulator, World
from assembla_mirror.store.search import fts_query, needs_substring_scan
from tests.expected import Db
from tests.read.use_mirror import PostgresAccount, SyncedAccount, has_word_starting, rows
from tests.support import run_sync_in_process


def search(db: Db, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, ["search", "--db", str(db), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    hits: list[dict[str, object]] = json.loads(result.stdout)
    return hits


def tickets_with(db: Db, *prefixes: str, comments: bool = True) -> set[tuple[str, int]]:
    """(space name, number) of tickets where every prefix starts a word of their text."""
    texts: dict[tuple[str, int], str] = {}
    for space, number, summary, description in rows(
        db,
        "SELECT s.name, k.number, k.summary, k.description "
        "FROM tickets k JOIN spaces s ON s.id = k.space_id",
    ):
        texts[(space, number)] = f"{summary}\n{description}"
    found = {
        key for key, text in texts.items() if all(has_word_starting(text, p) for p in prefixes)
    }
    if comments:
        for space, number, comment in rows(
            db,
            "SELECT s.name, k.number, c.comment FROM ticket_comments c "
            "JOIN tickets k ON k.id = c.ticket_id JOIN spaces s ON s.id = k.space_id",
        ):
            if all(has_word_starting(comment, p) for p in prefixes):
                found.add((space, number))
    return found


def hit_keys(hits: list[dict[str, object]]) -> set[tuple[object, object]]:
    return {(hit["space"], hit["number"]) for hit in hits}


@pytest.mark.parametrize("query", ["cafe", "CAFÉ", "Café", "resume", "uberarbeiten"])
def test_accents_and_case_are_folded(mirror: str, query: str) -> None:
    expected = tickets_with(mirror, query)
    assert expected
    assert hit_keys(search(mirror, query, "--limit", "1000")) == expected


def tickets_containing(db: Db, text: str) -> set[tuple[str, int]]:
    """(space name, number) of tickets whose summary, description or a comment holds ``text``."""
    found = set()
    for space, number, *bodies in rows(
        db,
        "SELECT s.name, k.number, k.summary, k.description, c.comment FROM tickets k "
        "JOIN spaces s ON s.id = k.space_id LEFT JOIN ticket_comments c ON c.ticket_id = k.id",
    ):
        if any(text in (body or "") for body in bodies):
            found.add((space, number))
    return found


@pytest.mark.parametrize("query", ["検索", "用户", "已经", "إصلاح", "מופיעה", "traine", "Ünïcödé"])
def test_other_scripts_are_found(mirror: str, query: str) -> None:
    # A run of CJK characters is one token, so the index finds "検索" only at the start
    # of "検索フォーム"; the substring scan finds it anywhere in CJK text.
    expected = tickets_with(mirror, query)
    if needs_substring_scan(query):
        expected |= tickets_containing(mirror, query)
    assert expected  # the simulator writes each of these into some ticket or comment
    hits = search(mirror, query, "--limit", "1000")
    assert hit_keys(hits) == expected


def test_every_word_must_match_and_the_snippet_marks_them(mirror: str) -> None:
    hits = search(mirror, "cafe menu", "--limit", "1000")
    assert hit_keys(hits) == tickets_with(mirror, "cafe", "menu") != set()
    assert all("[" in str(hit["snippet"]) and "]" in str(hit["snippet"]) for hit in hits)


def test_emoji_survive_and_emoji_alone_is_found_by_substring(mirror: str) -> None:
    hits = search(mirror, "reactions", "--limit", "1000")
    assert hits
    assert any("🎉" in str(hit["summary"]) for hit in hits)
    text = CliRunner().invoke(cli, ["search", "--db", str(mirror), "reactions", "--limit", "3"])
    assert "🎉" in text.output
    # the index drops emoji; the substring scan finds them
    alone = search(mirror, "🎉", "--limit", "1000")
    assert hit_keys(alone) == tickets_containing(mirror, "🎉") != set()
    assert all("[🎉]" in str(hit["snippet"]) for hit in alone)


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '""',
        "*",
        "cafe*",
        "AND",
        "OR NOT",
        "NEAR(",
        "NEAR(cafe menu)",
        "-cafe",
        "^cafe",
        "a:b",
        "summary:cafe",
        "'",
        "(",
        ")",
        "{x}",
        '"unterminated',
        "café AND",
        "\\",
        "%_",
    ],
)
def test_fts_syntax_in_the_query_is_plain_text(mirror: str, query: str) -> None:
    # "--" ends the options, as for any command, so "-cafe" is a query too
    result = CliRunner().invoke(cli, ["search", "--db", str(mirror), "--", query])
    assert result.exit_code == 0, result.output
    assert result.exception is None


def test_operators_are_searched_as_words(mirror: str) -> None:
    # "NEAR(cafe menu)" is three words here, not an FTS NEAR group
    assert hit_keys(search(mirror, "NEAR(cafe menu)")) == set()
    assert hit_keys(search(mirror, "summary:cafe")) == set()


def test_space_filter_and_limit(mirror: str) -> None:
    space = rows(mirror, "SELECT name FROM spaces ORDER BY name LIMIT 1")[0][0]
    everywhere = tickets_with(mirror, "cafe")
    there = search(mirror, "cafe", "--space", space, "--limit", "1000")
    assert hit_keys(there) == {key for key in everywhere if key[0] == space}
    assert len(search(mirror, "cafe", "--limit", "2")) == 2
    text = CliRunner().invoke(cli, ["search", "--db", str(mirror), "cafe", "--limit", "1"])
    assert text.exit_code == 0
    first = there[0] if there else None
    assert first is None or isinstance(first["number"], int)
    assert text.output.count("\n") == 2  # one hit: a title line and a snippet line


def test_comments_are_searched_once_mirrored(mirror_db: str) -> None:
    # The index is written by the sync on each database: the tiny world suffices.
    sim = Simulator(World.generate(seed=5, scale=Scale.preset("tiny")))
    db = mirror_db
    ticket = sim.world.truth().tickets[5]
    sim.world.add_comment(ticket.space_id, ticket.number, "Zyxwvut réglé avec Ωmega 🚀")
    run_sync_in_process(sim, db)
    assert search(db, "zyxwvut") == []
    run_sync_in_process(sim, db, with_comments=True)
    hits = search(db, "zyxwvut regle")
    assert [(hit["number"], hit["summary"]) for hit in hits] == [(ticket.number, ticket.summary)]
    assert "[Zyxwvut]" in str(hits[0]["snippet"])
    assert search(db, "ωMEGA")[0]["number"] == ticket.number


def test_thousands_of_repeated_words_are_searched_once_and_fast(mirror: str) -> None:
    repeated = " ".join(["cafe", "CAFE", "Café", "cafe"] * 1250)  # 5,000 words, 2 different
    assert fts_query(repeated) == '"cafe"* "Café"*'
    started = time.perf_counter()
    hits = search(mirror, repeated, "--limit", "1000")
    assert time.perf_counter() - started < 1.0  # each FTS5 term costs; 5,000 took seconds
    assert hit_keys(hits) == hit_keys(search(mirror, "cafe Café", "--limit", "1000")) != set()
    # the substring scan (for emoji and CJK) gets the different words too
    assert hit_keys(search(mirror, "🎉 " * 5000)) == hit_keys(search(mirror, "🎉"))


def test_more_than_32_different_words_is_a_clear_error(mirror: str) -> None:
    words = " ".join(f"word{i}" for i in range(40))
    result = CliRunner().invoke(cli, ["search", "--db", str(mirror), words])
    assert result.exit_code == 2, result.output
    assert "Error: search for at most 32 different words (this search has 40)" in result.output
    assert CliRunner().invoke(cli, ["search", "--db", str(mirror), words[:200]]).exit_code == 0


def test_more_than_1000_characters_is_a_clear_error(mirror: str) -> None:
    words = " ".join(f"{i:02d}" + "x" * 60 for i in range(20))  # 20 words, 1,259 characters
    result = CliRunner().invoke(cli, ["search", "--db", str(mirror), words])
    assert result.exit_code == 2, result.output
    assert "at most 1,000 characters" in result.output
    assert words not in result.output  # the message names the limit, not the whole query


#: Queries of every kind: words, prefixes, accents and case, several words (all must match),
#: words inside quotes, punctuation, scripts without spaces, emoji, words only in comments,
#: very common words, and words nothing holds.
SAME_QUERIES = [
    "cafe",
    "CAFÉ menu",
    "resu",
    "Ünïcödé",
    "uberarbeiten",
    '"migrate café"',
    "review api",
    "檢索 検索",
    "検索",
    "用户",
    "إصلاح",
    "🎉",
    "reactions 🎉",
    "the",
    "morgen",
    "e-mail config.yaml",
    "l'été",
    "zzzz nothing",
]


def test_both_databases_find_the_same_tickets_with_the_same_snippets(
    synced_account: SyncedAccount, synced_postgres_account: PostgresAccount
) -> None:
    """The same account mirrored into each database: every query finds the same tickets,
    each shown with the same summary and snippet. Only their order may differ: FTS5 ranks
    by bm25, PostgreSQL by ts_rank."""

    def found(db: str, query: str) -> dict[tuple[object, object], tuple[object, object]]:
        hits = search(db, "--limit", "1000", "--", query)
        return {(hit["space"], hit["number"]): (hit["summary"], hit["snippet"]) for hit in hits}

    some_found = 0
    for query in SAME_QUERIES:
        on_sqlite = found(synced_account.db, query)
        assert found(synced_postgres_account.db, query) == on_sqlite, query
        some_found += bool(on_sqlite)
    assert some_found >= len(SAME_QUERIES) - 4
