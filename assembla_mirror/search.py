"""Full-text search over ticket summaries, descriptions and (when mirrored) comments.

The FTS5 indexes (``tickets_fts``, ``ticket_comments_fts``) are kept current by
triggers, so every sync updates them. Whatever the user types is turned into a
safe FTS5 query: each word is quoted (FTS operators and punctuation lose their
special meaning) and matched as a prefix, all words required. The tokenizer
folds case and diacritics, so ``cafe`` finds ``Café``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError


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


def fts_query(text: str) -> str:
    """An FTS5 query requiring every word of ``text`` (as a prefix)."""
    words = [word for word in re.split(r"\s+", text.strip()) if word]
    if not words:
        raise ConfigError("search for at least one word")
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def search_tickets(
    conn: Connection, text: str, *, limit: int = 50, space_ids: list[str] | None = None
) -> list[SearchHit]:
    """Tickets matching ``text`` in their summary, description or comments, best first."""
    query = fts_query(text)
    space_filter = ""
    params: list[object] = [query, query]
    if space_ids:
        space_filter = f"WHERE t.space_id IN ({','.join('?' * len(space_ids))})"
        params.extend(space_ids)
    params.append(limit)
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
        {space_filter}
        ORDER BY b.rank, t.space_id, t.number
        LIMIT ?
        """,
        tuple(params),
    ).fetchall()
    return [SearchHit(*row) for row in rows]
