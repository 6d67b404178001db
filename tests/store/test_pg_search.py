"""PostgreSQL's full-text search (:mod:`assembla_mirror.store.pg_search`) on a real server.

Every test works in a schema of its own (a name that needs quoting, never
``public``), made like a new mirror's: the model's tables, text columns
``COLLATE "C"`` as the PostgreSQL dialect makes them, then the index's
statements. The same rows go into a SQLite mirror, and the two databases must
find the same tickets for the same words (and, for plain text, make the same
snippets).

Set ``MIRROR_TEST_POSTGRES_URL`` (e.g. ``postgresql://user@127.0.0.1:5432/test``)
to run them; the user needs to create schemas in that database.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import time
import unicodedata
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from assembla_mirror.store import fts5, pg_search, pg_text
from assembla_mirror.store.database import open_db
from assembla_mirror.store.postgres import create_tables

URL_VARIABLE = "MIRROR_TEST_POSTGRES_URL"
if not os.environ.get(URL_VARIABLE):
    pytest.skip(
        f"PostgreSQL search tests: set {URL_VARIABLE} to a database URL "
        "(postgresql://user@host:port/database) to run them",
        allow_module_level=True,
    )

TICKET_COLUMNS = ("summary", "description")
COMMENT_COLUMNS = ("comment",)


def postgres_url() -> Any:
    return make_url(os.environ[URL_VARIABLE]).set(drivername="postgresql+psycopg")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the data both databases hold ------------------------------------------------------------


@dataclass
class Corpus:
    spaces: list[tuple[str, str]] = field(default_factory=list)
    tickets: list[tuple[int, str, int, str | None, str | None]] = field(default_factory=list)
    comments: list[tuple[int, int, str | None]] = field(default_factory=list)


LONG = " ".join(f"w{i}" for i in range(40)) + " café latte " + " ".join(f"x{i}" for i in range(40))
SENTENCES = (
    "Opening words of the text. The printer jams on every page: again and again the printer "
    "stops, and nobody knows why the tray keeps failing. Replace the tray next week."
)

CORPUS = Corpus(
    spaces=[("s1", "Alpha"), ("s2", "Beta")],
    tickets=[
        (1, "s1", 1, "Menu of the Café", "Prices for the new menu."),
        (2, "s2", 1, "cafeteria opening hours", None),
        (3, "s1", 2, "nothing to see", "a plain ticket"),
        (4, "s1", 3, "CAFÉ CRÈME", "Ünïcödé résumé naïve façade Ærø Straße Øre Åland Ñandú"),
        (5, "s2", 2, "Déjà vu", "über élan ÇA VA à la carte"),
        (
            6,
            "s1",
            4,
            "config.yaml broken",
            "user@example.com saw foo-bar and snake_case; it's v1.2.3",
        ),
        (7, "s2", 3, "検索フォーム の 改善", "絵文字 🎉 party🎉time"),
        (8, "s1", 5, "Greek ΟΔΟΣ and Ωmega", "Русский текст: йогурт и Ёлка"),
        (9, "s2", 4, "short", LONG),
        (10, "s1", 6, "Sentences", SENTENCES),
        (11, "s2", 5, "thirty-two words", " ".join(f"word{i}" for i in range(40))),
        (12, "s1", 7, "cafe", "cafe cafe cafe"),
        (13, "s2", 6, "unrelated", "the cafe is mentioned once in a much longer description " * 5),
        (14, "s1", 8, None, None),
    ],
    comments=[
        (100, 3, "Zyxwvut réglé avec Ωmega 🚀"),
        (101, 3, "another comment about the menu"),
        (102, 2, "cafe menu both here"),
        (103, 14, None),
        (104, 14, "the printer again"),
    ],
)


def load(engine: Engine, corpus: Corpus) -> None:
    """Write the corpus and queue every ticket and comment, as the sync does."""
    with engine.begin() as conn:
        if corpus.spaces:
            conn.execute(
                text("INSERT INTO spaces (id, name, raw_json) VALUES (:id, :name, '{}')"),
                [{"id": space_id, "name": name} for space_id, name in corpus.spaces],
            )
        if corpus.tickets:
            conn.execute(
                text(
                    "INSERT INTO tickets (id, space_id, number, summary, description, raw_json) "
                    "VALUES (:id, :space_id, :number, :summary, :description, '{}')"
                ),
                [
                    dict(
                        zip(
                            ("id", "space_id", "number", "summary", "description"), row, strict=True
                        )
                    )
                    for row in corpus.tickets
                ],
            )
        if corpus.comments:
            conn.execute(
                text(
                    "INSERT INTO ticket_comments (id, ticket_id, comment, raw_json) "
                    "VALUES (:id, :ticket_id, :comment, '{}')"
                ),
                [
                    dict(zip(("id", "ticket_id", "comment"), row, strict=True))
                    for row in corpus.comments
                ],
            )
        queue = [{"source": "tickets", "id": row[0]} for row in corpus.tickets]
        queue += [{"source": "ticket_comments", "id": row[0]} for row in corpus.comments]
        if queue:
            conn.execute(
                text("INSERT INTO search_pending (source, id) VALUES (:source, :id)"), queue
            )


# --- the two mirrors -----------------------------------------------------------------------


@dataclass
class Mirror:
    """A mirror's engine, and its search module (pg_search or fts5)."""

    engine: Engine
    search_module: Any

    def index(self) -> tuple[int, int]:
        with self.engine.begin() as conn:
            counts = (
                self.search_module.index_queued(conn, "tickets", TICKET_COLUMNS),
                self.search_module.index_queued(conn, "ticket_comments", COMMENT_COLUMNS),
            )
            conn.execute(text("DELETE FROM search_pending"))
        return counts

    def search(
        self, words: Sequence[str], limit: int = 1000, space_ids: Sequence[str] = ()
    ) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            rows = self.search_module.matching_tickets(conn, list(words), limit, list(space_ids))
        return [tuple(row) for row in rows]

    def ids(self, *words: str) -> set[int]:
        return {row[0] for row in self.search(words)}

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()


@pytest.fixture(scope="module")
def admin() -> Iterator[Engine]:
    engine = create_engine(postgres_url())
    yield engine
    engine.dispose()


@contextmanager
def postgres_mirror(admin: Engine) -> Iterator[tuple[str, Engine]]:
    """A new mirror in a schema of its own (dropped at the end, also after a failure)."""
    schema = f"Mirror {uuid.uuid4().hex[:10]}"  # quoting needed: a space, capitals
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {quote(schema)}")
    engine = create_engine(postgres_url())

    @event.listens_for(engine, "connect", insert=True)
    def set_search_path(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET search_path TO {quote(schema)}")
        dbapi_connection.autocommit = autocommit

    try:
        with engine.begin() as conn:
            create_tables(conn)
        yield schema, engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {quote(schema)} CASCADE")


@contextmanager
def indexed_corpus(admin: Engine) -> Iterator[Mirror]:
    """A PostgreSQL mirror holding the corpus, indexed (dropped afterwards)."""
    with postgres_mirror(admin) as (_schema, engine):
        mirror = Mirror(engine, pg_search)
        load(engine, CORPUS)
        mirror.index()
        yield mirror


@pytest.fixture
def pg(admin: Engine) -> Iterator[Mirror]:
    """The corpus on PostgreSQL, indexed; each test may change it."""
    with indexed_corpus(admin) as mirror:
        yield mirror


@pytest.fixture(scope="module")
def pg_shared(admin: Engine) -> Iterator[Mirror]:
    """The same, shared by the tests that only read it."""
    with indexed_corpus(admin) as mirror:
        yield mirror


@pytest.fixture(scope="module")
def sqlite_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """A SQLite mirror holding the corpus, indexed by FTS5."""
    engine = open_db(tmp_path_factory.mktemp("sqlite") / "m.db")
    mirror = Mirror(engine, fts5)
    load(engine, CORPUS)
    mirror.index()
    yield mirror
    engine.dispose()


# --- what the index is made of -------------------------------------------------------------


def test_the_index_lives_in_the_mirrors_schema_and_names_none(admin: Engine) -> None:
    assert not [s for s in pg_search.schema_statements() if "public" in s.lower()]
    with postgres_mirror(admin) as (schema, engine), engine.connect() as conn:
        tables = set(
            conn.execute(
                text(
                    "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = :schema AND c.relkind = 'r'"
                ),
                {"schema": schema},
            ).scalars()
        )
        functions = set(
            conn.execute(
                text(
                    "SELECT p.proname FROM pg_proc AS p JOIN pg_namespace AS n "
                    "ON n.oid = p.pronamespace WHERE n.nspname = :schema"
                ),
                {"schema": schema},
            ).scalars()
        )
    assert pg_search.internal_tables() == {"tickets_fts", "ticket_comments_fts"}
    assert pg_search.internal_tables() <= tables
    assert {"search_fold", "tickets_fts_requeue", "tickets_fts_forget"} <= functions


def test_the_indexed_columns_are_the_searchs() -> None:
    from assembla_mirror.store.search import INDEXED

    assert {source: columns for source, (_i, columns) in pg_search.INDEXES.items()} == INDEXED


def test_a_mirror_that_already_holds_rows_queues_them_all(admin: Engine) -> None:
    with postgres_mirror(admin) as (_schema, engine):
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE tickets_fts, ticket_comments_fts CASCADE"))
            conn.execute(text("DROP FUNCTION search_fold(text)"))
            for name in ("tickets_fts", "ticket_comments_fts"):
                conn.execute(text(f"DROP FUNCTION {name}_requeue, {name}_forget CASCADE"))
        load(engine, CORPUS)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM search_pending"))
            for statement in pg_search.schema_statements():  # an index added to a full mirror
                conn.exec_driver_sql(statement)
        mirror = Mirror(engine, pg_search)
        assert mirror.index() == (len(CORPUS.tickets), len(CORPUS.comments))
        assert mirror.ids("cafe", "menu") == {1, 2}


# --- matching ------------------------------------------------------------------------------


def test_every_word_must_match_in_one_text(pg_shared: Mirror) -> None:
    assert pg_shared.ids("cafe", "menu") == {1, 2}  # 1: its own text, 2: a comment
    assert pg_shared.ids("menu") == {1, 2, 3}
    # ticket 3: "menu" in one comment, "zyxwvut" in another: not one text
    assert pg_shared.ids("menu", "zyxwvut") == set()
    assert pg_shared.ids("cafe", "nowhere") == set()


def test_words_match_as_prefixes(pg_shared: Mirror) -> None:
    assert pg_shared.ids("caf") == {1, 2, 4, 9, 12, 13}
    assert pg_shared.ids("cafeteria") == {2}
    assert pg_shared.ids("cafeterias") == set()  # a prefix of the word, not the reverse
    assert pg_shared.ids("enu") == set()  # the start of a word, not any part


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["cafe"], {1, 2, 4, 9, 12, 13}),
        (["CAFÉ"], {1, 2, 4, 9, 12, 13}),
        (["Café"], {1, 2, 4, 9, 12, 13}),
        (["creme"], {4}),
        (["CRÈME"], {4}),
        (["crème"], {4}),
        (["RESUME"], {4}),
        (["résumé"], {4}),
        (["naive"], {4}),
        (["façade"], {4}),
        (["FACADE"], {4}),
        (["unicode"], {4}),
        (["ÜNÏCÖDÉ"], {4}),
        (["deja"], {5}),
        (["DÉJÀ"], {5}),
        (["uber"], {5}),
        (["élan"], {5}),
        (["ca", "va"], {5}),
        (["a", "la", "carte"], {5}),
        (["nandu"], {4}),
        (["ÑANDÚ"], {4}),
        (["aland"], {4}),
        (["åland"], {4}),
        (["ærø"], {4}),  # æ and ø have no diacritic to remove (as on SQLite)
        (["ÆRØ"], {4}),
        (["aero"], set()),
        (["øre"], {4}),
        (["ore"], set()),
        (["straße"], {4}),
        (["STRAẞE"], {4}),
        (["strasse"], set()),  # ß is a letter of its own (as on SQLite)
        (["οδος"], {8}),  # final sigma
        (["ΟΔΟΣ"], {8}),
        (["ωMEGA"], {3, 8}),
        (["йогурт"], {8}),
        (["ЁЛКА"], {8}),
        (["елка"], set()),  # Cyrillic keeps its diacritics (as on SQLite)
        (["zyxwvut", "regle"], {3}),
    ],
)
def test_case_and_accents_are_folded_both_ways(
    pg_shared: Mirror, sqlite_shared: Mirror, words: list[str], expected: set[int]
) -> None:
    assert pg_shared.ids(*words) == expected
    assert sqlite_shared.ids(*words) == expected


def test_comments_are_searched(pg_shared: Mirror) -> None:
    hits = pg_shared.search(["zyxwvut"])
    assert [hit[:5] for hit in hits] == [(3, "s1", "Alpha", 2, "nothing to see")]
    assert hits[0][5] == "[Zyxwvut] réglé avec Ωmega 🚀"
    assert pg_shared.ids("printer", "again") == {10, 14}  # 14: its comment; its text is NULL


def test_cjk_and_emoji_neither_break_indexing_nor_querying(
    pg_shared: Mirror, sqlite_shared: Mirror
) -> None:
    for words, expected in [
        (["検索"], {7}),  # the start of a run of CJK characters
        (["検索フォーム"], {7}),
        (["フォーム"], set()),  # not the start of the run: the substring scan's job
        (["改善"], {7}),
        (["party"], {7}),  # the emoji separates words
        (["time"], {7}),
        (["🎉"], set()),  # no word at all: nothing to look for
        (["🎉", "party"], {7}),  # a word without letters is left out
        (["🚀"], set()),
    ]:
        assert pg_shared.ids(*words) == expected, words
        assert sqlite_shared.ids(*words) == expected, words


def test_punctuation_separates_words_as_on_sqlite(pg_shared: Mirror, sqlite_shared: Mirror) -> None:
    for words, expected in [
        (["yaml"], {6}),
        (["config.yaml"], {6}),
        (["example"], {6}),
        (["user@example.com"], {6}),
        (["com"], {3, 6}),  # 3: "comment"
        (["bar"], {6}),
        (["foo-bar"], {6}),
        (["foo-b"], {6}),
        (["snake"], {6}),
        (["case"], {6}),
        (["it's"], {6}),
        (["it", "s"], {6}),
        (["v1.2"], {6}),
        (["2", "3"], {6}),
        (["bar-foo"], set()),  # a phrase: its words in that order
    ]:
        assert pg_shared.ids(*words) == expected, words
        assert sqlite_shared.ids(*words) == expected, words


HOSTILE = [
    ['"'],
    ['""'],
    ["'"],
    ["''"],
    ["\\"],
    ["\\'"],
    ["*"],
    [":*"],
    ["cafe*"],
    ["cafe:*"],
    ["cafe:A"],
    ["&|!():*<->"],
    ["a&b|!c:*"],
    ["!cafe"],
    ["-cafe"],
    ["^cafe"],
    ["(cafe)"],
    ["cafe)"],
    ["cafe&menu"],
    ["cafe<->menu"],
    ["cafe", "'"],
    ["NEAR(cafe", "menu)"],
    ["summary:cafe"],
    ["AND"],
    ["OR", "NOT"],
    ["%_"],
    ["$fold$"],
    ["$$"],
    ["E'\\\\x00'"],
    ["';", "DROP", "TABLE", "tickets;", "--"],
    ["x" * 1000],
    ["é" * 1000],
    ["検" * 700],  # a word too long for PostgreSQL to index (2,100 bytes)
    ["w" + "1" * 999],
    [f"word{i}" for i in range(32)],
    [f"word{i}" for i in range(31)] + ["nowhere"],
    ["café", "CAFÉ", "Café", "cafe"],
]


@pytest.mark.parametrize("words", HOSTILE, ids=[str(i) for i in range(len(HOSTILE))])
def test_typed_syntax_is_plain_text(
    pg_shared: Mirror, sqlite_shared: Mirror, words: list[str]
) -> None:
    found = pg_shared.ids(*words)
    assert found == sqlite_shared.ids(*words)
    assert pg_shared.scalar("SELECT count(*) FROM tickets") == len(CORPUS.tickets)


def test_hostile_words_find_what_they_spell(pg_shared: Mirror) -> None:
    assert pg_shared.ids(*[f"word{i}" for i in range(32)]) == {11}
    assert pg_shared.ids("cafe&menu") == {2}  # the phrase "cafe menu" of comment 102
    assert pg_shared.ids("(cafe)") == pg_shared.ids("cafe")
    assert pg_shared.ids("x" * 1000) == set()
    assert pg_shared.ids("検" * 700) == set()
    assert pg_shared.ids("caf\x00") == pg_shared.ids("caf")  # text cannot hold NUL


def test_the_space_filter_and_the_limit(pg_shared: Mirror) -> None:
    everywhere = pg_shared.search(["cafe"])
    assert {hit[0] for hit in everywhere} == {1, 2, 4, 9, 12, 13}
    assert {hit[0] for hit in pg_shared.search(["cafe"], space_ids=["s2"])} == {2, 9, 13}
    assert {hit[0] for hit in pg_shared.search(["cafe"], space_ids=["s1", "s2"])} == {
        hit[0] for hit in everywhere
    }
    assert pg_shared.search(["cafe"], space_ids=["nowhere"]) == []
    assert pg_shared.search(["cafe"], limit=2) == everywhere[:2]
    assert pg_shared.search(["cafe"], limit=0) == []
    assert pg_shared.search(["cafe"], limit=-1) == everywhere  # as SQLite's LIMIT -1
    # the limit counts tickets after the filter
    assert len(pg_shared.search(["cafe"], limit=2, space_ids=["s2"])) == 2


def test_hits_are_ranked_best_first(pg_shared: Mirror) -> None:
    hits = pg_shared.search(["cafe"])
    ranks = [hit[6] for hit in hits]
    assert all(isinstance(rank, float) for rank in ranks)
    assert ranks == sorted(ranks)
    assert all(rank < 0 for rank in ranks)  # smaller is better, like bm25
    order = [hit[0] for hit in hits]
    # the word in the summary (and again and again) before it once in a long description
    assert order.index(12) < order.index(13)
    assert order.index(1) < order.index(13)
    assert order.index(4) < order.index(9)


def test_equal_ranks_are_ordered_by_space_and_number(admin: Engine) -> None:
    same = "the very same words"
    corpus = Corpus(
        spaces=[("b", "B"), ("a", "A")],
        tickets=[
            (1, "b", 2, same, None),
            (2, "a", 9, same, None),
            (3, "b", 1, same, None),
            (4, "a", 3, same, None),
        ],
    )
    with postgres_mirror(admin) as (_schema, engine):
        mirror = Mirror(engine, pg_search)
        load(engine, corpus)
        mirror.index()
        hits = mirror.search(["very", "same"])
    assert [(hit[1], hit[3]) for hit in hits] == [("a", 3), ("a", 9), ("b", 1), ("b", 2)]
    assert len({hit[6] for hit in hits}) == 1


# --- snippets ------------------------------------------------------------------------------


def test_the_snippet_marks_the_words_in_the_original_text(pg_shared: Mirror) -> None:
    (hit,) = pg_shared.search(["cafe", "creme"])
    assert hit[5] == "[CAFÉ] [CRÈME]"
    (hit,) = pg_shared.search(["resume", "nai"])
    assert hit[5] == "Ünïcödé [résumé] [naïve] façade Ærø Straße Øre Åland Ñandú"
    (hit,) = pg_shared.search(["foo-bar"])
    assert hit[5] == "user@example.com saw [foo-bar] and snake_case; it's v1…"  # 12 words
    (hit,) = pg_shared.search(["οδος"])
    assert hit[5] == "Greek [ΟΔΟΣ] and Ωmega"


@pytest.mark.parametrize(
    "words",
    [
        ["latte"],
        ["w3"],
        ["x39"],
        ["w1", "w2"],
        ["cafe", "w39"],
        ["short"],
        ["printer"],
        ["tray"],
        ["printer", "tray"],
        ["week"],
        ["words"],
        ["menu"],
        ["cafe", "menu"],
        ["prices"],
        ["the"],
        ["again"],
        ["opening"],
    ],
)
def test_snippets_are_those_of_sqlite(
    pg_shared: Mirror, sqlite_shared: Mirror, words: list[str]
) -> None:
    pg_hits = {hit[0]: hit[5] for hit in pg_shared.search(words)}
    sqlite_hits = {hit[0]: hit[5] for hit in sqlite_shared.search(words)}
    assert pg_hits == sqlite_hits


def test_the_snippet_is_from_the_best_ranked_text(pg_shared: Mirror) -> None:
    snippets = {hit[0]: hit[5] for hit in pg_shared.search(["cafe"])}
    # ticket 2: its summary outweighs its comment (SQLite, whose bm25 weighs the
    # columns alike, prefers the comment "[cafe] menu both here")
    assert snippets[2] == "[cafeteria] opening hours"
    assert {hit[0]: hit[5] for hit in pg_shared.search(["cafe", "menu"])}[2] == (
        "[cafe] [menu] both here"
    )


def test_snippet_without_a_match_is_the_start_of_the_first_text() -> None:
    phrases = pg_text.query_phrases(["zzz"])
    assert pg_text.snippet(["one two", "three"], phrases) == "one two"
    assert pg_text.snippet([None, None], phrases) == ""
    long = " ".join(f"t{i}" for i in range(30))
    assert pg_text.snippet([long], phrases) == " ".join(f"t{i}" for i in range(12)) + "…"


# --- keeping the index current -------------------------------------------------------------


def queued(mirror: Mirror) -> set[tuple[str, int]]:
    with mirror.engine.connect() as conn:
        rows = conn.execute(text("SELECT source, id FROM search_pending")).all()
    return {(source, row_id) for source, row_id in rows}


def test_an_edit_is_found_once_the_queue_is_indexed_again(pg: Mirror) -> None:
    assert pg.ids("prices") == {1}
    with pg.engine.begin() as conn:
        conn.execute(text("UPDATE tickets SET description = 'Costs of the new menu.' WHERE id = 1"))
    # the old words stop matching at once; the new ones wait for the queue
    assert pg.ids("prices") == set()
    assert pg.ids("costs") == set()
    assert queued(pg) == {("tickets", 1)}
    assert pg.index() == (1, 0)
    assert pg.ids("prices") == set()
    assert pg.ids("costs") == {1}
    assert pg.ids("cafe", "menu") == {1, 2}

    with pg.engine.begin() as conn:
        conn.execute(text("UPDATE ticket_comments SET comment = 'nothing left' WHERE id = 100"))
    assert pg.ids("zyxwvut") == set()
    assert queued(pg) == {("ticket_comments", 100)}
    assert pg.index() == (0, 1)
    assert pg.ids("nothing", "left") == {3}


def test_an_edit_of_other_columns_or_to_the_same_text_queues_nothing(pg: Mirror) -> None:
    with pg.engine.begin() as conn:
        conn.execute(text("UPDATE tickets SET state = 1, status = 'Fixed'"))
        conn.execute(text("UPDATE tickets SET summary = summary, description = description"))
        conn.execute(text("UPDATE ticket_comments SET comment = comment, user_name = 'x'"))
        # the sync's upsert of an unchanged ticket
        conn.execute(
            text(
                "INSERT INTO tickets (id, space_id, number, summary, description, raw_json) "
                "VALUES (1, 's1', 1, 'Menu of the Café', 'Prices for the new menu.', '{}') "
                "ON CONFLICT (id) DO UPDATE SET summary = EXCLUDED.summary, "
                "description = EXCLUDED.description, raw_json = EXCLUDED.raw_json"
            )
        )
    assert queued(pg) == set()
    assert pg.ids("prices") == {1}
    with pg.engine.begin() as conn:  # NULL to text is a change too
        conn.execute(text("UPDATE tickets SET summary = 'now named' WHERE id = 14"))
    assert queued(pg) == {("tickets", 14)}


def test_an_edit_is_queued_whatever_the_editors_search_path(admin: Engine) -> None:
    with postgres_mirror(admin) as (schema, engine), postgres_mirror(admin) as (other, _):
        load(engine, CORPUS)
        mirror = Mirror(engine, pg_search)
        mirror.index()
        with admin.begin() as conn:  # someone else, in another mirror's schema
            conn.exec_driver_sql(f"SET LOCAL search_path TO {quote(other)}")
            conn.exec_driver_sql(
                f"UPDATE {quote(schema)}.tickets SET summary = 'renamed' WHERE id = 1"
            )
            conn.exec_driver_sql(f"DELETE FROM {quote(schema)}.tickets WHERE id = 4")
            assert conn.exec_driver_sql("SELECT count(*) FROM search_pending").scalar() == 0
        assert queued(mirror) == {("tickets", 1)}
        assert mirror.scalar("SELECT count(*) FROM tickets_fts WHERE id IN (1, 4)") == 0
        mirror.index()
        assert mirror.ids("renamed") == {1}


def test_a_delete_removes_the_tickets_entries(pg: Mirror) -> None:
    assert pg.ids("creme") == {4}
    with pg.engine.begin() as conn:
        conn.execute(text("DELETE FROM tickets WHERE id = 4"))
    assert pg.ids("creme") == set()
    assert pg.scalar("SELECT count(*) FROM tickets_fts WHERE id = 4") == 0

    # a ticket's comments go with it (the foreign key cascades), and their entries
    assert pg.ids("zyxwvut") == {3}
    with pg.engine.begin() as conn:
        conn.execute(text("DELETE FROM tickets WHERE id = 3"))
    assert pg.ids("zyxwvut") == set()
    assert pg.scalar("SELECT count(*) FROM ticket_comments_fts WHERE id IN (100, 101)") == 0

    # a space, its tickets and their comments
    with pg.engine.begin() as conn:
        conn.execute(text("DELETE FROM spaces WHERE id = 's2'"))
    assert pg.ids("cafe") == {1, 12}
    assert pg.scalar("SELECT count(*) FROM tickets_fts") == len(
        [row for row in CORPUS.tickets if row[1] == "s1" and row[0] not in (3, 4)]
    )
    assert pg.scalar("SELECT count(*) FROM ticket_comments_fts WHERE id = 102") == 0


def test_a_queued_row_deleted_before_indexing_leaves_the_queue(pg: Mirror) -> None:
    load(pg.engine, Corpus(tickets=[(50, "s1", 50, "ephemeral", None)]))
    with pg.engine.begin() as conn:
        conn.execute(text("UPDATE tickets SET summary = 'edited' WHERE id = 1"))
        conn.execute(text("DELETE FROM tickets WHERE id IN (1, 50)"))
    assert queued(pg) == set()
    assert pg.index() == (0, 0)


def test_indexing_a_row_again_replaces_its_entry(pg: Mirror) -> None:
    with pg.engine.begin() as conn:
        conn.execute(text("ALTER TABLE tickets DISABLE TRIGGER tickets_fts_update"))
        conn.execute(text("UPDATE tickets SET summary = 'replaced' WHERE id = 12"))
        conn.execute(text("ALTER TABLE tickets ENABLE TRIGGER tickets_fts_update"))
        conn.execute(text("INSERT INTO search_pending (source, id) VALUES ('tickets', 12)"))
    assert pg.index() == (1, 0)
    assert pg.ids("replaced") == {12}
    assert pg.scalar("SELECT count(*) FROM tickets_fts WHERE id = 12") == 1


def test_a_huge_text_is_indexed_from_its_start(pg: Mirror) -> None:
    # distinct two-character CJK words: the most lexeme bytes per character
    ideographs = [chr(0x4E00 + i) for i in range(600)]
    words = [a + b for a in ideographs for b in ideographs][:150_000]
    huge = "prologue " + " ".join(words) + " epilogue"
    load(pg.engine, Corpus(tickets=[(60, "s1", 60, "huge", huge)], comments=[(160, 60, huge)]))
    assert pg.index() == (1, 1)
    assert pg.ids("prologue") == {60}
    assert pg.ids("epilogue") == set()  # beyond the indexed characters
    (hit,) = pg.search(["huge"])
    assert hit[5] == "[huge]"


# --- folding ------------------------------------------------------------------------------


def sqlite_tokens(texts: list[str]) -> list[list[str]]:
    """The tokens SQLite's tokenizer (as the mirror configures it) makes of each text."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE f USING fts5(x, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(f, instance)")
    conn.executemany("INSERT INTO f (rowid, x) VALUES (?, ?)", enumerate(texts, 1))
    tokens: list[list[str]] = [[] for _ in texts]
    for term, doc in conn.execute("SELECT term, doc FROM v ORDER BY doc, offset"):
        tokens[doc - 1].append(term)
    conn.close()
    return tokens


def postgres_tokens(mirror: Mirror, texts: list[str]) -> list[list[str]]:
    """The lexemes the index makes of each text, in order."""
    with mirror.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT i, array_agg(lexeme ORDER BY position) FROM unnest(CAST(:texts AS text[])) "
                "WITH ORDINALITY AS t(value, i), "
                "unnest(to_tsvector('simple', search_fold(value))) AS u, "
                "unnest(u.positions) AS position GROUP BY i ORDER BY i"
            ),
            {"texts": texts},
        ).all()
    tokens: list[list[str]] = [[] for _ in texts]
    for i, lexemes in rows:
        tokens[i - 1] = list(lexemes)
    return tokens


#: Letters FTS5's tables fold otherwise, or not at all: its tables predate some
#: case pairs (Cherokee, Georgian Mtavruli, Ϳ ...), letters with two diacritics on
#: a letter that has no plain form (ǡ, ǣ, ǯ, ǽ, ǿ) lose theirs here only, and the
#: Greek letters (and numeral sign) that normalization replaces are replaced.
KNOWN_DIFFERENCES = set("ǠǡǢǣǮǯǼǽǾǿԨԪԬԮⰯ\u0374\u037f") | {
    chr(cp) for cp in [*range(0x13A0, 0x13F6), *range(0x1C90, 0x1CC0), *range(0x1F71, 0x1FFC)]
}


def test_latin_greek_and_cyrillic_letters_fold_as_on_sqlite(pg_shared: Mirror) -> None:
    letters = [
        chr(cp)
        for cp in [*range(0xB5, 0x530), *range(0x1E00, 0x2000)]
        if unicodedata.category(chr(cp)).startswith("L")
    ]
    texts = [f"q{letter}q" for letter in letters]
    differ = [
        (letter, sqlite, pg)
        for letter, sqlite, pg in zip(
            letters, sqlite_tokens(texts), postgres_tokens(pg_shared, texts), strict=True
        )
        if sqlite != pg and letter not in KNOWN_DIFFERENCES
    ]
    assert differ == []


def test_python_folds_as_the_server(pg_shared: Mirror) -> None:
    # the snippet marks words by folding them in Python: it must agree with the index
    letters = [
        chr(cp)
        for cp in [*range(0xB5, 0x530), *range(0x1E00, 0x2000), 0x212B, 0x2126, 0x3099]
        # (not superscripts, fractions ...: the snippet takes them for letters, the server
        # for separators; its marks may miss a word written with them)
        if unicodedata.category(chr(cp)) == "Nd" or unicodedata.category(chr(cp))[0] == "L"
    ]
    texts = [f"q{letter}q" for letter in letters] + ["ΟΔΟΣ", "Straße", "İstanbul", "ﬁne"]
    python = [[pg_text.fold(token) for token in re.findall(r"\w+", t)] for t in texts]
    server = postgres_tokens(pg_shared, texts)
    assert [(t, p, s) for t, p, s in zip(texts, python, server, strict=True) if p != s] == []


def test_folding_ignores_the_columns_collation(pg_shared: Mirror) -> None:
    sample = ["Café CRÈME", "ΟΔΟΣ", "Ёлка", "ÆRØ", "İstanbul", "検索 🎉", "Straße"]
    with pg_shared.engine.connect() as conn:
        same = conn.execute(
            text(
                "SELECT bool_and(to_tsvector('simple', search_fold(v COLLATE \"C\")) "
                "= to_tsvector('simple', search_fold(v))) FROM unnest(CAST(:sample AS text[])) AS v"
            ),
            {"sample": sample},
        ).scalar()
    assert same is True


def test_text_outside_the_unstable_ranges_folds_to_itself() -> None:
    """Normalization is skipped for text without a character of pg_text.UNSTABLE.

    That is right when such text is normalized (NFC) and holds no letter that loses
    a diacritic or a variant: so every letter, digit or mark that is not NFC, may
    combine with what precedes it (a mark, the second of a canonical pair, a Hangul
    vowel or final), decomposes to an ASCII letter and marks, or is a variant, must
    be in the ranges.
    """
    second_of_a_pair = set()
    for cp in range(0x110000):
        decomposition = unicodedata.decomposition(chr(cp))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                second_of_a_pair.add(int(parts[1], 16))
    second_of_a_pair |= {*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)}  # Hangul

    def must_be_inside(char: str) -> bool:
        decomposed = unicodedata.normalize("NFD", char)
        return (
            not unicodedata.is_normalized("NFC", char)
            or unicodedata.combining(char) != 0
            or ord(char) in second_of_a_pair
            or (decomposed != char and decomposed[0].isascii())
            or char in pg_text.VARIANTS
        )

    def inside(cp: int) -> bool:
        return any(low <= cp <= high for low, high in pg_text.UNSTABLE)

    outside = [
        f"U+{cp:04X}"
        for cp in range(0x80, 0x110000)
        if unicodedata.category(chr(cp))[0] in "LMN" and must_be_inside(chr(cp)) and not inside(cp)
    ]
    assert outside == []
    # the usual non-ASCII of English text stays outside: no normalization for it
    assert not any(inside(ord(c)) for c in "‘’“”–—…•€£©®™→✓😀🎉\u00a0")
    # nor for Chinese, Japanese and Korean
    assert not any(inside(ord(c)) for c in "検索フォームの改善ひらがなカタカナ한국어")


# --- in bulk -------------------------------------------------------------------------------


def test_twenty_thousand_tickets_are_indexed_in_one_quick_pass(admin: Engine) -> None:
    rng = random.Random(7)
    vocabulary = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
        for _ in range(5000)
    ] + ["café", "résumé", "naïve", "config.yaml", "foo-bar", "“quoted”", "🎉"]

    def words(count: int) -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(count))

    count = 20_000
    corpus = Corpus(
        spaces=[("s1", "Alpha")],
        tickets=[(i, "s1", i, words(8), words(rng.randint(0, 150))) for i in range(1, count + 1)],
        comments=[(i, i, words(rng.randint(5, 40))) for i in range(1, count // 2 + 1)],
    )
    corpus.tickets[-1] = (count, "s1", count, "needle in the haystack", "Crème brûlée")
    with postgres_mirror(admin) as (_schema, engine):
        load(engine, corpus)
        mirror = Mirror(engine, pg_search)
        started = time.perf_counter()
        indexed = mirror.index()
        took = time.perf_counter() - started
        characters = mirror.scalar(
            "SELECT sum(length(coalesce(summary, '')) + length(coalesce(description, ''))) "
            "FROM tickets"
        )
        print(
            f"\nindexed {indexed[0]:,} tickets and {indexed[1]:,} comments "
            f"({characters / 1e6:.1f}M characters of tickets) in {took:.2f} s: "
            f"{sum(indexed) / took:,.0f} rows/s"
        )
        assert indexed == (count, count // 2)
        assert took < 30
        assert mirror.ids("needle", "creme", "brulee") == {count}
        started = time.perf_counter()
        assert len(mirror.search(["a"], limit=50)) == 50
        print(f"a search matching most tickets: {time.perf_counter() - started:.3f} s")
