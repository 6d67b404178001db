"""How PostgreSQL's index sees text: the folding of :mod:`.pg_search`, and its snippets.

``search_fold`` (the SQL function the index and the queries fold text with)
and :func:`fold` (its twin in Python, for the snippet) are written from the
same definitions here, so that the words a snippet marks are the words the
server matched. The snippet is FTS5's ``snippet(..., '[', ']', '…', 12)``,
made in Python from the text PostgreSQL ranked best (PostgreSQL's own
``ts_headline`` marks other words and cuts elsewhere).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

#: Characters of a title (the first column of a table with several) that are indexed.
TITLE_CHARS = 20_000
#: Characters of any other column that are indexed. With TITLE_CHARS, this keeps a
#: document under the 1 MB of lexemes a tsvector may hold, whatever the text (at
#: most 4 bytes of lexeme per character: distinct two-character CJK words).
DOCUMENT_CHARS = 200_000

#: Tokens of the snippet (FTS5's ``snippet(..., 12)``) and its marks.
SNIPPET_TOKENS = 12
OPEN, CLOSE, ELLIPSIS = "[", "]", "…"

#: PostgreSQL ignores a word of this many bytes or more (its MAXSTRLEN).
LONGEST_WORD_BYTES = 2047

#: Where the characters are whose text may fold to another one: Latin letters with
#: diacritics, combining marks, letters that normalization or FTS5 replaces (the
#: test derives the list from Unicode's tables). Text with none of them folds to
#: itself apart from punctuation, and skips normalization, the costliest step;
#: English text with typographic quotes, dashes, symbols or emoji is such text, and
#: so are Chinese, Japanese and Korean.
UNSTABLE: tuple[tuple[int, int], ...] = (
    (0x00B5, 0x00B5),  # µ
    (0x00C0, 0x1FFF),  # Latin-1 letters ... Greek Extended: alphabets, abugidas, marks
    (0x20D0, 0x20FF),  # combining marks for symbols
    (0x2126, 0x212B),  # the ohm, kelvin and angstrom signs
    (0x2CEF, 0x2DFF),  # Coptic and Tifinagh marks, combining Cyrillic
    (0x302A, 0x302F),  # ideographic and Hangul tone marks
    (0x3099, 0x309A),  # combining kana voicing marks
    (0xA66F, 0xABFF),  # combining Cyrillic, and marks of southern and south-east Asia
    (0xF900, 0xFE2F),  # CJK compatibility ideographs, Hebrew presentation forms
    (0x10000, 0x1EFFF),  # historic scripts and their marks (not the emoji)
    (0x2F800, 0x2FA1F),  # CJK compatibility ideographs supplement
)
#: Letters FTS5's tokenizer folds that case folding does not (final sigma, long s,
#: Greek symbol variants, micro sign), and what they become.
VARIANTS, VARIANTS_FOLDED = "ςſϐϑϕϖϰϱϵµ", "σsβθφπκρεμ"

# Regular expressions written with the characters themselves, not escapes: a
# backslash in a string literal means something else under
# standard_conforming_strings = off. None holds a quote or a backslash.
_UNSTABLE = "[" + "".join(f"{chr(low)}-{chr(high)}" for low, high in UNSTABLE) + "]"
_MARKS = "[\u0300-\u036f]"  # the combining diacritical marks
_PUNCTUATION = "[!-/:-@[-`{-~]"  # every ASCII punctuation character

FOLD_FUNCTION = f"""
CREATE FUNCTION search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fold$
SELECT regexp_replace(
    CASE WHEN value ~ '{_UNSTABLE}'
         THEN normalize(regexp_replace(
                  translate(normalize(value, NFD), '{VARIANTS}', '{VARIANTS_FOLDED}'),
                  '(?<=[A-Za-z]){_MARKS}+', '', 'g'), NFC)
         ELSE value
    END,
    '{_PUNCTUATION}+', ' ', 'g')
$fold$
"""


# --- the snippet: FTS5's snippet() over the text PostgreSQL matched -------------------------

# A token: letters and digits, and combining marks within them (as the server's
# parser sees the folded text: punctuation, symbols and emoji separate tokens).
_TOKEN = re.compile(r"[^\W_](?:[^\W_]|[\u0300-\u036f])*")
_UNSTABLE_RE = re.compile(_UNSTABLE)
_LATIN_MARKS = re.compile(r"(?<=[A-Za-z])" + _MARKS + "+")
_VARIANTS = str.maketrans(VARIANTS, VARIANTS_FOLDED)


def fold(token: str) -> str:
    """``token`` folded as ``search_fold`` and the ``simple`` configuration fold it
    (Python's ``lower`` may make a final sigma: it is folded after)."""
    if _UNSTABLE_RE.search(token):
        decomposed = unicodedata.normalize("NFD", token).translate(_VARIANTS)
        token = unicodedata.normalize("NFC", _LATIN_MARKS.sub("", decomposed))
    return token.lower().translate(_VARIANTS)


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    folded: str


def _tokens(value: str) -> list[_Token]:
    return [_Token(m.start(), m.end(), fold(m.group())) for m in _TOKEN.finditer(value)]


def query_phrases(words: Sequence[str]) -> list[tuple[str, ...]]:
    """The folded tokens of each word that has any (the phrases the query requires)."""
    phrases = [tuple(token.folded for token in _tokens(word)) for word in words]
    return [phrase for phrase in phrases if phrase]


def too_long(phrase: tuple[str, ...]) -> bool:
    """Whether a word of ``phrase`` is one PostgreSQL does not index (too many bytes)."""
    return any(len(token.encode()) >= LONGEST_WORD_BYTES for token in phrase)


@dataclass(frozen=True)
class _Hit:
    position: int
    phrase: int
    size: int


def _hits(tokens: list[_Token], phrases: Sequence[tuple[str, ...]]) -> list[_Hit]:
    """Where each phrase occurs (its last token as a prefix), in position order."""
    words = [(number, phrase[0]) for number, phrase in enumerate(phrases) if len(phrase) == 1]
    longer: dict[str, list[int]] = {}
    for number, phrase in enumerate(phrases):
        if len(phrase) > 1:
            longer.setdefault(phrase[0], []).append(number)
    prefixed: dict[str, list[int]] = {}  # the one-token phrases a token starts with
    found = []
    for position, token in enumerate(tokens):
        numbers = prefixed.get(token.folded)
        if numbers is None:
            numbers = [n for n, word in words if token.folded.startswith(word)]
            prefixed[token.folded] = numbers
        here = [_Hit(position, number, 1) for number in numbers]
        for number in longer.get(token.folded, ()):
            phrase = phrases[number]
            end = position + len(phrase)
            if (
                end <= len(tokens)
                and all(
                    tokens[position + i].folded == part for i, part in enumerate(phrase[1:-1], 1)
                )
                and tokens[end - 1].folded.startswith(phrase[-1])
            ):
                here.append(_Hit(position, number, len(phrase)))
        found += sorted(here, key=lambda hit: hit.phrase)
    return found


def _score(hits: list[_Hit], positions: list[int], start: int, size: int) -> tuple[int, int]:
    """FTS5's fts5SnippetScore: the score of the window of ``size`` tokens at
    ``start`` (1000 a phrase, 1 a repeat), and where to start it so that its hits
    are centred. ``positions`` are the hits' positions (sorted)."""
    seen: set[int] = set()
    score, first, last = 0, -1, 0
    inside = hits[bisect_left(positions, start) : bisect_left(positions, start + SNIPPET_TOKENS)]
    for hit in inside:
        score += 1 if hit.phrase in seen else 1000
        seen.add(hit.phrase)
        if first < 0:
            first = hit.position
        last = hit.position + hit.size
    adjusted = first - int((SNIPPET_TOKENS - (last - first)) / 2)  # C's division
    adjusted = min(adjusted, size - SNIPPET_TOKENS)
    return score, max(adjusted, 0)


def _sentence_starts(value: str, tokens: list[_Token]) -> list[int]:
    """Tokens that start a sentence (fts5SentenceFinderCb): the first, and any after
    a '.' or ':' and white space."""
    starts = [0] if tokens else []
    for position in range(1, len(tokens)):
        gap = value[tokens[position - 1].end : tokens[position].start]
        stripped = gap.rstrip(" \t\n\r")
        if len(stripped) < len(gap) and stripped.endswith((".", ":")):
            starts.append(position)
    return starts


def snippet(texts: Sequence[str | None], phrases: Sequence[tuple[str, ...]]) -> str:
    """A short excerpt of the best of ``texts`` (columns of one row) with the phrases
    marked, as FTS5's ``snippet(table, -1, '[', ']', '…', 12)`` makes it.

    ``phrases`` are the query's (:func:`query_phrases`). The best excerpt holds the
    most different phrases, then the most hits; one that starts a sentence (or
    the text) is preferred. With no hit at all, the start of the first text.
    """
    columns = [(value or "")[:DOCUMENT_CHARS] for value in texts] or [""]
    best = (0, 0, 0)  # score, column, first token
    analysed = []
    for column, value in enumerate(columns):
        tokens = _tokens(value)
        hits = _hits(tokens, phrases)
        analysed.append((tokens, hits))
        positions = [hit.position for hit in hits]
        size = len(tokens)
        starts = _sentence_starts(value, tokens) if hits and size > SNIPPET_TOKENS else []
        for hit in hits:
            score, start = _score(hits, positions, hit.position, size)
            if score > best[0]:
                best = (score, column, start)
            if starts:
                sentence = starts[bisect_right(starts, hit.position) - 1]
                if sentence < hit.position:
                    score = _score(hits, positions, sentence, size)[0]
                    score += 120 if sentence == 0 else 100
                    if score > best[0]:
                        best = (score, column, sentence)
    _, column, start = best
    tokens, hits = analysed[column]
    return _render(columns[column], tokens, hits, start)


def _spans(hits: list[_Hit]) -> list[tuple[int, int]]:
    """Overlapping hits coalesced: (first token, last token) of each marked span."""
    spans: list[tuple[int, int]] = []
    for hit in hits:
        end = hit.position + hit.size - 1
        if spans and hit.position <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((hit.position, end))
    return spans


def _render(value: str, tokens: list[_Token], hits: list[_Hit], start: int) -> str:
    """The window of tokens from ``start``, its spans marked (fts5HighlightCb's way)."""
    last = start + SNIPPET_TOKENS - 1
    spans = [span for span in _spans(hits) if span[0] >= start]
    out = [ELLIPSIS] if start > 0 else []
    offset = 0
    current = 0
    for position in range(start, min(last, len(tokens) - 1) + 1):
        token = tokens[position]
        if start and position == start:
            offset = token.start
        span = spans[current] if current < len(spans) else None
        if span and position == span[0]:
            out += [value[offset : token.start], OPEN]
            offset = token.start
        if span and position == span[1]:
            out += [value[offset : token.end], CLOSE]
            offset = token.end
            current += 1
        if position == last:
            out.append(value[offset : token.end])
            offset = token.end
            span = spans[current] if current < len(spans) else None
            if span and span[0] <= position < span[1]:
                out.append(CLOSE)
    out.append(value[offset:] if last >= len(tokens) - 1 else ELLIPSIS)
    return "".join(out)
