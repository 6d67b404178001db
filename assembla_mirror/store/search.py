"""Full-text search over ticket summaries, descriptions and (when mirrored) comments.

The full-text index is the dialect's (for SQLite, FTS5 tables; see
:mod:`assembla_mirror.store.fts5`). It is kept current by the sync: each
inserted row is queued in ``search_pending`` by :func:`queue_new_rows` and each
edited one by a trigger (in the writing transaction), and :func:`index_pending`
indexes the queue in one pass when the sync's walks are done; one pass is many
times cheaper than indexing page by page, whose commits keep merging index
segments.

Whatever the user types is searched safely: each word is matched as typed
(the index's operators and punctuation lose their special meaning) and as a
prefix, all words required. The tokenizer folds case and diacritics, so
``cafe`` finds ``Café``. A query is bounded (:data:`MAX_WORDS` different words,
:data:`MAX_QUERY_CHARS` characters once repeated words are dropped): the index
works through each term of the query, and thousands of them take seconds to minutes.

The tokenizer cannot find everything: it drops emoji and other symbols, and a
run of CJK characters is one token, so only its beginning is indexed
(``検索`` finds ``検索フォーム``; ``フォーム`` would not). A query holding such
characters is also answered by a plain substring scan, whose hits follow the
index's.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam
from sqlalchemy import text as sql_text

from assembla_mirror.errors import ConfigError
from assembla_mirror.store import fts5
from assembla_mirror.store.backends import dialect_of

#: The searchable tables and their indexed columns; the queue names rows by their table.
INDEXED: dict[str, tuple[str, ...]] = {
    "tickets": ("summary", "description"),
    "ticket_comments": ("comment",),
}

SOURCES = frozenset(INDEXED)

_DEQUEUE = sql_text("DELETE FROM search_pending WHERE source = :source")

#: Most different words a search may hold (every word must match, so more add little).
MAX_WORDS = 32
#: Most characters of those words, spaces between them included.
MAX_QUERY_CHARS = 1000


def queue_new_rows(conn: Connection, table: str, ids: list[int]) -> None:
    """Queue just-inserted rows of ``table`` for indexing, if the table is searchable.

    The writer does this rather than an insert trigger: a statement that fires a
    trigger makes SQLite copy every page it touches to a statement journal first.
    """
    if table in SOURCES and ids:
        dialect = dialect_of(conn)
        conn.exec_driver_sql(
            dialect.insert_new_sql("search_pending", ("source", "id"), ("source", "id")),
            [(table, row_id) for row_id in ids],
        )


def index_pending(conn: Connection) -> int:
    """Write the queued rows into the full-text indexes (in the caller's transaction)."""
    dialect = dialect_of(conn)
    indexed = 0
    for table, columns in INDEXED.items():
        indexed += dialect.index_queued(conn, table, columns)
        conn.execute(_DEQUEUE, {"source": table})
    return indexed


@dataclass(frozen=True)
class SearchHit:
    """A ticket matching a search, with where it lives and a highlighted snippet."""

    ticket_id: int
    space_id: str
    space_name: str | None
    number: int
    summary: str | None
    snippet: str
    rank: float


def query_words(text: str) -> list[str]:
    """The different words of ``text``, in order; a word repeated (in any case) counts once.

    Raises :class:`ConfigError` for no word, more than :data:`MAX_WORDS`, or
    more than :data:`MAX_QUERY_CHARS` characters.
    """
    first_spelling: dict[str, str] = {}
    for word in text.split():
        first_spelling.setdefault(word.casefold(), word)
    words = list(first_spelling.values())
    if not words:
        raise ConfigError("search for at least one word")
    if len(words) > MAX_WORDS:
        raise ConfigError(
            f"search for at most {MAX_WORDS} different words (this search has {len(words)})"
        )
    length = len(" ".join(words))
    if length > MAX_QUERY_CHARS:
        raise ConfigError(
            f"search for at most {MAX_QUERY_CHARS:,} characters of different words "
            f"(this search has {length:,})"
        )
    return words


def fts_query(text: str) -> str:
    """The FTS5 query SQLite runs for ``text``: every word (as a prefix) required;
    see :func:`query_words`."""
    return fts5.match_query(query_words(text))


def search_tickets(
    conn: Connection, text: str, *, limit: int = 50, space_ids: list[str] | None = None
) -> list[SearchHit]:
    """Tickets matching ``text`` in their summary, description or comments, best first."""
    words = query_words(text)
    rows = dialect_of(conn).matching_tickets(conn, words, limit, space_ids or [])
    hits = [SearchHit(*row) for row in rows]
    if len(hits) < limit and needs_substring_scan(text):
        found = {hit.ticket_id for hit in hits}
        extra = _substring_search(conn, words, limit, space_ids)
        hits += [hit for hit in extra if hit.ticket_id not in found][: limit - len(hits)]
    return hits


def needs_substring_scan(text: str) -> bool:
    """Whether ``text`` holds characters the index cannot find (symbols, CJK)."""
    return any(
        unicodedata.category(char) in ("So", "Sk") or unicodedata.east_asian_width(char) in "WF"
        for char in text
    )


def _substring_search(
    conn: Connection, words: list[str], limit: int, space_ids: list[str] | None
) -> list[SearchHit]:
    """Tickets holding every word as typed in their text or a comment, newest first."""
    dialect = dialect_of(conn)
    conditions = []
    for i in range(len(words)):
        word = f":word_{i}"
        in_summary = dialect.contains("t.summary", word)
        in_description = dialect.contains("coalesce(t.description, '')", word)
        in_comment = dialect.contains("c.comment", word)
        conditions.append(
            f"({in_summary} OR {in_description} OR EXISTS (SELECT 1 FROM ticket_comments AS c"
            f" WHERE c.ticket_id = t.id AND {in_comment}))"
        )
    params: dict[str, object] = {f"word_{i}": word for i, word in enumerate(words)}
    if space_ids:
        conditions.append("t.space_id IN :space_ids")
        params["space_ids"] = list(space_ids)
    statement = sql_text(
        f"""
        SELECT t.id, t.space_id, s.name, t.number, t.summary, t.description
        FROM tickets AS t LEFT JOIN spaces AS s ON s.id = t.space_id
        WHERE {" AND ".join(conditions)}
        ORDER BY t.updated_at DESC
        LIMIT :limit
        """
    )
    if space_ids:
        statement = statement.bindparams(bindparam("space_ids", expanding=True))
    rows = conn.execute(statement, {**params, "limit": limit}).fetchall()
    return [
        SearchHit(ticket_id, space_id, space, number, summary, _excerpt(summary, body, words), 0.0)
        for ticket_id, space_id, space, number, summary, body in rows
    ]


def _excerpt(summary: str | None, body: str | None, words: list[str]) -> str:
    """A snippet around the first word found, marked like the index's snippets."""
    for text in (summary or "", body or ""):
        at = text.find(words[0])
        if at >= 0:
            start = max(0, at - 40)
            end = at + len(words[0])
            prefix = "…" if start else ""
            return f"{prefix}{text[start:at]}[{words[0]}]{text[end : end + 40]}"
    return (summary or "")[:80]
