"""PostgreSQL's full-text index: the same searches as SQLite's FTS5 (:mod:`.fts5`), in plain SQL.

Used by the PostgreSQL dialect only; :mod:`.search` holds what both share (the
queue, the query's words, the substring fallback).

**The index.** Each searchable table ``T`` has a table ``T_fts (id, document)``
(the names SQLite's index tables have) whose ``document`` is a ``tsvector``
of the row's text, with a GIN index. A ticket's summary is weighted ``A`` and
its description ``D``; a comment is ``D``. As on SQLite, new rows are queued
in ``search_pending`` by the writer and :func:`index_queued` writes the queue
in one ``INSERT ... SELECT`` (an upsert, so a row queued twice is harmless).
Triggers (created by :func:`schema_statements`) keep the index current:

* an ``UPDATE`` that changes an indexed column removes the row's entry at once
  and queues the row again (``ON CONFLICT DO NOTHING``), so the old words stop
  matching straight away and the new ones match once the queue is indexed;
  an upsert that rewrites a row unchanged costs nothing (the trigger's ``WHEN``);
* a ``DELETE`` (also one cascading from a space or ticket) removes the rows'
  entries and queue entries, one set-based statement per statement.

The trigger functions pin ``search_path`` to the mirror's schema as it was
when they were created (``SET search_path FROM CURRENT``): they work whatever
the ``search_path`` of whoever edits the mirror, and never touch another
mirror's tables. Nothing here names a schema.

**Folding.** ``unaccent`` is not used: ``CREATE EXTENSION`` needs privileges a
mirror's user may lack and is database-wide. Instead the SQL function
``search_fold`` (created in the mirror's schema, from built-in functions only)
folds the text before ``to_tsvector('simple', ...)`` parses it:

* accents are removed from Latin letters (``normalize(..., NFD)``, the
  combining marks after an ASCII letter dropped, ``NFC`` again), as SQLite's
  ``unicode61 remove_diacritics 2`` does: ``Café`` is indexed as ``cafe``,
  ``Ø`` as ``ø`` (no diacritic), ``ß`` stays, and so do ``й`` and Greek tonos;
  the few letters FTS5 also folds (final sigma, long s, Greek symbol variants,
  micro sign) are folded too. Text without any character of :data:`.pg_text.UNSTABLE`
  (English with typographic quotes and emoji, Chinese, Japanese, Korean) cannot
  change, and skips this: normalization is the dearest step of indexing;
* ASCII punctuation becomes a space, so that ``config.yaml``,
  ``user@example.com``, ``foo-bar`` and ``snake_case`` are words as on SQLite
  (PostgreSQL's parser would keep them whole as a file, e-mail, compound);
* case is folded by the ``simple`` configuration, with the database's
  ``LC_CTYPE`` (a ``C`` database folds ASCII only, and the letters that lose
  their accents).

The query's words go through the very same ``search_fold`` and parser, in the
same statement, so documents and queries are always folded alike, whatever the
database's locale, the columns' collation (the mirror's are ``"C"``) or a later
version of this module (the function lives in the database with the index it
built; changing it means a migration that indexes everything again).

**Queries.** Each word becomes ``phraseto_tsquery('simple', search_fold(word))``
(so nothing the user types is query syntax: ``a&b|!c:*`` is the phrase
``a <-> b <-> c``), its last lexeme made a prefix (``:*``); every word is
required (``&``). A word without any lexeme (``'``, an emoji) is left out, as
FTS5 leaves out an empty phrase, and a search of nothing but such words finds
nothing. Tickets are ranked by the best ``ts_rank`` of their own document and of
their comments' (``rank`` is its negation: smaller is better, like ``bm25``),
ties by space and number. The snippet is made in Python from the best-ranked
text the way FTS5's ``snippet(..., '[', ']', '…', 12)`` makes it.

**Limits.** A document is indexed from its first :data:`.pg_text.DOCUMENT_CHARS`
characters (a summary :data:`.pg_text.TITLE_CHARS`): a ``tsvector`` holds at most 1 MB
of lexemes and one longer document would fail a whole indexing pass.
PostgreSQL also drops words of 2,047 bytes or more, and positions beyond
16,383, so a multi-lexeme word (``foo-bar``) deep in a very long text is not
found as a phrase. Unlike FTS5, superscripts and fractions (``²``, ``½``)
separate words. The index needs PostgreSQL 13 or later and a UTF-8 database
(``normalize``; ``search_fold``'s own text holds characters beyond Latin-1).
``TRUNCATE`` fires no trigger: what it leaves in the index is never found
(every hit is joined to its ticket) and is replaced when the id is indexed
again. The indexed columns cannot change type while the triggers name them:
a migration that changes them drops and recreates the triggers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Connection, Text, bindparam, text

from assembla_mirror.store.dialect import quote
from assembla_mirror.store.pg_text import (
    DOCUMENT_CHARS,
    FOLD_FUNCTION,
    TITLE_CHARS,
    query_phrases,
    snippet,
    too_long,
)

#: The searchable tables, their index tables and indexed columns (those of
#: :data:`assembla_mirror.store.search.INDEXED`), the title column first.
INDEXES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tickets": ("tickets_fts", ("summary", "description")),
    "ticket_comments": ("ticket_comments_fts", ("comment",)),
}


def _index_table(source: str) -> str:
    try:
        return INDEXES[source][0]
    except KeyError:
        raise ValueError(f"no full-text index for {source!r}") from None


def schema_statements() -> list[str]:
    """DDL creating the search index and what keeps it current (tables, functions,
    triggers), unqualified names, run in order inside the transaction that creates a new
    mirror at the head revision (after the mirror's own tables exist).

    Run them with the mirror's schema as ``search_path`` (the trigger functions keep
    it), after the searched tables and ``search_pending`` exist with their final
    column types. The last statements queue every row already in the searched
    tables, so that the index is complete after the next :func:`index_queued`
    also when the mirror is not empty.
    """
    statements = [FOLD_FUNCTION.strip()]
    for source, (index, columns) in INDEXES.items():
        table, fts = quote(source), quote(index)
        statements += [
            f"CREATE TABLE {fts} (id BIGINT NOT NULL, document tsvector NOT NULL, "
            f"CONSTRAINT {quote('pk_' + index)} PRIMARY KEY (id))",
            f"CREATE INDEX {quote('ix_' + index + '_document')} ON {fts} USING gin (document)",
        ]
        changed = " OR ".join(
            f"OLD.{quote(column)} IS DISTINCT FROM NEW.{quote(column)}" for column in columns
        )
        statements += [
            f"CREATE FUNCTION {quote(index + '_requeue')}() RETURNS trigger "
            "LANGUAGE plpgsql SET search_path FROM CURRENT AS $requeue$\n"
            "BEGIN\n"
            f"    DELETE FROM {fts} WHERE id = OLD.id;\n"
            "    INSERT INTO search_pending (source, id) "
            f"VALUES ('{source}', NEW.id) ON CONFLICT DO NOTHING;\n"
            "    RETURN NULL;\n"
            "END\n$requeue$",
            f"CREATE TRIGGER {quote(index + '_update')} "
            f"AFTER UPDATE OF {', '.join(map(quote, columns))} ON {table} "
            f"FOR EACH ROW WHEN ({changed}) "
            f"EXECUTE FUNCTION {quote(index + '_requeue')}()",
            f"CREATE FUNCTION {quote(index + '_forget')}() RETURNS trigger "
            "LANGUAGE plpgsql SET search_path FROM CURRENT AS $forget$\n"
            "BEGIN\n"
            f"    DELETE FROM {fts} AS f USING gone WHERE f.id = gone.id;\n"
            "    DELETE FROM search_pending AS p USING gone "
            f"WHERE p.source = '{source}' AND p.id = gone.id;\n"
            "    RETURN NULL;\n"
            "END\n$forget$",
            f"CREATE TRIGGER {quote(index + '_delete')} AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
            f"EXECUTE FUNCTION {quote(index + '_forget')}()",
        ]
    statements += [
        f"INSERT INTO search_pending (source, id) SELECT '{source}', id FROM {quote(source)} "
        "ON CONFLICT DO NOTHING"
        for source in INDEXES
    ]
    return statements


def internal_tables() -> set[str]:
    """Tables of the index's own machinery (not for people): hidden from listings."""
    return {index for index, _columns in INDEXES.values()}


def _document(columns: Sequence[str]) -> str:
    """The tsvector of row ``t``'s ``columns``: the first weighted A when there are several."""
    parts = []
    for i, column in enumerate(columns):
        title = i == 0 and len(columns) > 1
        vector = (
            f"to_tsvector('simple', search_fold(left(coalesce(t.{quote(column)}, ''), "
            f"{TITLE_CHARS if title else DOCUMENT_CHARS})))"
        )
        parts.append(f"setweight({vector}, 'A')" if title else vector)
    return " || ".join(parts)


def index_queued(conn: Connection, source: str, columns: Sequence[str]) -> int:
    """Write the rows of ``source`` queued in ``search_pending`` into its index; how many.

    One set-based statement (the caller deletes the queue entries afterwards).
    A queued row that is gone is skipped; one already indexed is indexed anew.
    """
    if not columns:
        raise ValueError("index at least one column")
    statement = text(
        f"INSERT INTO {quote(_index_table(source))} (id, document) "
        f"SELECT t.id, {_document(columns)} "
        f"FROM search_pending AS p JOIN {quote(source)} AS t ON t.id = p.id "
        "WHERE p.source = :source "
        "ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document"
    )
    return int(conn.execute(statement, {"source": source}).rowcount)


_TICKETS_FTS, _ = INDEXES["tickets"]
_COMMENTS_FTS, _ = INDEXES["ticket_comments"]

_MATCHING = f"""
WITH phrases AS (
    SELECT phraseto_tsquery('simple', search_fold(word)) AS phrase
    FROM unnest(:words) AS word
),
query AS (
    SELECT CAST(string_agg('(' || CAST(phrase AS text) || ':*)', ' & ') AS tsquery) AS q
    FROM phrases WHERE numnode(phrase) > 0
),
matches AS (
    SELECT f.id AS ticket_id, ts_rank(f.document, query.q, 1) AS score,
           CAST(NULL AS BIGINT) AS comment_id
    FROM {_TICKETS_FTS} AS f, query
    WHERE f.document @@ query.q
    UNION ALL
    SELECT c.ticket_id, ts_rank(f.document, query.q, 1), c.id
    FROM {_COMMENTS_FTS} AS f JOIN ticket_comments AS c ON c.id = f.id, query
    WHERE f.document @@ query.q
),
best AS (
    SELECT DISTINCT ON (ticket_id) ticket_id, score, comment_id
    FROM matches
    ORDER BY ticket_id, score DESC, comment_id NULLS FIRST
)
SELECT t.id, t.space_id, s.name, t.number, t.summary,
       CASE WHEN b.comment_id IS NULL THEN t.description END,
       c.comment, b.comment_id IS NOT NULL, -b.score
FROM best AS b
JOIN tickets AS t ON t.id = b.ticket_id
LEFT JOIN spaces AS s ON s.id = t.space_id
LEFT JOIN ticket_comments AS c ON c.id = b.comment_id
{{spaces}}
ORDER BY b.score DESC, t.space_id, t.number
LIMIT :limit
"""


def matching_tickets(
    conn: Connection, words: Sequence[str], limit: int, space_ids: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Tickets whose summary, description or comments hold every word, best first.

    Rows are (id, space_id, space name, number, summary, snippet, rank): every
    word must start a word (or, of several lexemes, a phrase) of the ticket's
    own text or of one of its comments, case and Latin accents folded; at most
    ``limit`` tickets (all for a negative one, as on SQLite), in ``space_ids``
    (all when empty); ``rank`` smaller is better; the snippet is from the
    best-ranked text, the words marked ``[...]``.
    """
    words = [word.replace("\x00", " ") for word in words]  # text cannot hold NUL
    phrases = query_phrases(words)
    words = [word for word in words if query_phrases([word])]  # those without are left out
    if not phrases or limit == 0 or any(too_long(phrase) for phrase in phrases):
        # Nothing to look for (FTS5 finds nothing for an empty query either), or a
        # word PostgreSQL does not index, which no document can hold.
        return []
    spaces = "WHERE t.space_id IN :space_ids" if space_ids else ""
    statement = text(_MATCHING.format(spaces=spaces)).bindparams(
        bindparam("words", type_=ARRAY(Text))
    )
    params: dict[str, Any] = {"words": list(words), "limit": limit if limit > 0 else None}
    if space_ids:
        statement = statement.bindparams(bindparam("space_ids", expanding=True))
        params["space_ids"] = list(space_ids)
    rows = conn.execute(statement, params).all()
    hits = []
    for ticket_id, space_id, space, number, summary, body, comment, in_comment, rank in rows:
        texts = [comment] if in_comment else [summary, body]
        hits.append(
            (ticket_id, space_id, space, number, summary, snippet(texts, phrases), float(rank))
        )
    return hits
