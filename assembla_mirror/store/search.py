"""Full-text search over ticket summaries, descriptions and (when mirrored) comments.

The FTS5 indexes (``tickets_fts``, ``ticket_comments_fts``) are kept current
by the sync: each inserted row is queued in ``search_pending`` by
:func:`queue_new_rows` and each edited one by a trigger (in the writing
transaction), and :func:`index_pending` indexes the queue in one pass when the
sync's walks are done; one pass is many times cheaper than indexing page by
page, whose commits keep merging index segments.

Whatever the user types is turned into a safe FTS5 query: each word is quoted
(FTS operators and punctuation lose their special meaning) and matched as a
prefix, all words required. The tokenizer folds case and diacritics, so
``cafe`` finds ``Café``. A query is bounded (:data:`MAX_WORDS` different words,
:data:`MAX_QUERY_CHARS` characters once repeated words are dropped): FTS5 works
through each term of the query, and thousands of them take seconds to minutes.

The tokenizer cannot find everything: it drops emoji and other symbols, and a
run of CJK characters is one token, so only its beginning is indexed
(``検索`` finds ``検索フォーム``; ``フォーム`` would not). A query holding such
characters is also answered by a plain substring scan, whose hits follow the
index's.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError

#: (index, table, indexed columns); the queue names rows by their table.
INDEXES = (
    ("tickets_fts", "tickets", ("summary", "description")),
    ("ticket_comments_fts", "ticket_comments", ("comment",)),
)


SOURCES = frozenset(table for _fts, table, _columns in INDEXES)

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
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO search_pending (source, id) VALUES (?, ?)",
            [(table, row_id) for row_id in ids],
        )


def index_pending(conn: Connection) -> int:
    """Write the queued rows into the full-text indexes (in the caller's transaction)."""
    indexed = 0
    for fts, table, columns in INDEXES:
        indexed += conn.exec_driver_sql(
            f"INSERT INTO {fts}(rowid, {', '.join(columns)}) "
            f"SELECT t.id, {', '.join(f't.{c}' for c in columns)} FROM search_pending AS p "
            f"JOIN {table} AS t ON t.id = p.id WHERE p.source = ?",
            (table,),
        ).rowcount
        conn.exec_driver_sql("DELETE FROM search_pending WHERE source = ?", (table,))
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
    """An FTS5 query requiring every word of ``text`` (as a prefix); see :func:`query_words`."""
    return " ".join('"' + word.replace('"', '""') + '"*' for word in query_words(text))


def search_tickets(
    conn: Connection, text: str, *, limit: int = 50, space_ids: list[str] | None = None
) -> list[SearchHit]:
    """Tickets matching ``text`` in their summary, description or comments, best first."""
    hits = _index_search(conn, fts_query(text), limit, space_ids)
    if len(hits) < limit and needs_substring_scan(text):
        found = {hit.ticket_id for hit in hits}
        extra = _substring_search(conn, query_words(text), limit, space_ids)
        hits += [hit for hit in extra if hit.ticket_id not in found][: limit - len(hits)]
    return hits


def needs_substring_scan(text: str) -> bool:
    """Whether ``text`` holds characters the index cannot find (symbols, CJK)."""
    return any(
        unicodedata.category(char) in ("So", "Sk") or unicodedata.east_asian_width(char) in "WF"
        for char in text
    )


def _space_filter(space_ids: list[str] | None) -> tuple[str, list[object]]:
    if not space_ids:
        return "", []
    return f"AND t.space_id IN ({','.join('?' * len(space_ids))})", list(space_ids)


def _index_search(
    conn: Connection, query: str, limit: int, space_ids: list[str] | None
) -> list[SearchHit]:
    where, space_params = _space_filter(space_ids)
    rows = conn.exec_driver_sql(
        f"""
        WITH matches AS (
            SELECT rowid AS ticket_id, bm25(tickets_fts) AS rank,
                   snippet(tickets_fts, -1, '[', ']', '…', 12) AS snippet
            FROM tickets_fts WHERE tickets_fts MATCH ?
            UNION ALL
            SELECT c.ticket_id, bm25(ticket_comments_fts),
                   snippet(ticket_comments_fts, 0, '[', ']', '…', 12)
            FROM ticket_comments_fts
            JOIN ticket_comments AS c ON c.id = ticket_comments_fts.rowid
            WHERE ticket_comments_fts MATCH ?
        ),
        best AS (
            SELECT ticket_id, min(rank) AS rank FROM matches GROUP BY ticket_id
        )
        SELECT t.id, t.space_id, s.name, t.number, t.summary,
               (SELECT m.snippet FROM matches AS m
                WHERE m.ticket_id = b.ticket_id ORDER BY m.rank LIMIT 1),
               b.rank
        FROM best AS b
        JOIN tickets AS t ON t.id = b.ticket_id
        LEFT JOIN spaces AS s ON s.id = t.space_id
        WHERE 1 {where}
        ORDER BY b.rank, t.space_id, t.number
        LIMIT ?
        """,
        (query, query, *space_params, limit),
    ).fetchall()
    return [SearchHit(*row) for row in rows]


def _substring_search(
    conn: Connection, words: list[str], limit: int, space_ids: list[str] | None
) -> list[SearchHit]:
    where, space_params = _space_filter(space_ids)
    each_word = (
        "(instr(t.summary, ?) OR instr(coalesce(t.description, ''), ?) OR EXISTS ("
        "SELECT 1 FROM ticket_comments AS c WHERE c.ticket_id = t.id AND instr(c.comment, ?)))"
    )
    rows = conn.exec_driver_sql(
        f"""
        SELECT t.id, t.space_id, s.name, t.number, t.summary, t.description
        FROM tickets AS t LEFT JOIN spaces AS s ON s.id = t.space_id
        WHERE {" AND ".join([each_word] * len(words))} {where}
        ORDER BY t.updated_at DESC
        LIMIT ?
        """,
        (*(word for word in words for _ in range(3)), *space_params, limit),
    ).fetchall()
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
