"""SQLite's full-text index (FTS5): indexing queued rows, and ranked matching.

Used by the SQLite dialect only. Each searchable table ``T`` has an
external-content FTS5 table ``T_fts`` (migrations 0002, 0003 and 0005) whose
rowid is the row's id; edits and deletes of indexed rows are handled by
triggers, new rows are queued in ``search_pending`` and indexed by
:func:`index_queued`.

A search is an FTS5 query in which each word is quoted (FTS operators and
punctuation lose their special meaning) and matched as a prefix, all words
required; hits are ranked by ``bm25`` over tickets and their comments.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def index_table(source: str) -> str:
    """The FTS5 table indexing ``source``."""
    return f"{source}_fts"


def index_queued(conn: Connection, source: str, columns: Sequence[str]) -> int:
    """Write the rows of ``source`` queued in ``search_pending`` into its index."""
    fts = index_table(source)
    return int(
        conn.exec_driver_sql(
            f"INSERT INTO {fts}(rowid, {', '.join(columns)}) "
            f"SELECT t.id, {', '.join(f't.{c}' for c in columns)} FROM search_pending AS p "
            f"JOIN {source} AS t ON t.id = p.id WHERE p.source = ?",
            (source,),
        ).rowcount
    )


def match_query(words: Sequence[str]) -> str:
    """An FTS5 query requiring every one of ``words`` (each as a prefix)."""
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def matching_tickets(
    conn: Connection, words: Sequence[str], limit: int, space_ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Tickets whose summary, description or comments hold every word, best first.

    Rows are (id, space_id, space name, number, summary, snippet, rank), the
    snippet from the best-ranked match with the words marked ``[...]``.
    """
    query = match_query(words)
    spaces = f"AND t.space_id IN ({','.join('?' * len(space_ids))})" if space_ids else ""
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
        WHERE 1 {spaces}
        ORDER BY b.rank, t.space_id, t.number
        LIMIT ?
        """,
        (query, query, *space_ids, limit),
    ).fetchall()
    return [tuple(row) for row in rows]
