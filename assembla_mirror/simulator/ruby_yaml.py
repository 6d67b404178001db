"""A change comment's ``ticket_changes`` written the way Ruby writes YAML.

Assembla (Ruby) stores a ticket's changes as ``[field, old, new]`` triples
dumped by Psych over libyaml (``api-contract.md``, "Ticket history"). This
module imitates that output for the values the simulator produces, so the
mirror meets Ruby's choices rather than Python's:

* the header is ``"--- \\n"`` from the older libyaml and ``"---\\n"`` from the
  newer one, which also dropped the space after an empty entry (a nil value):
  ``"  - \\n"`` then, ``"  -\\n"`` now; no change at all is ``"--- []\\n"``;
* Psych asks for a ``|-`` block for text with a line break inside, double quotes
  for text starting with a character that is not a letter, digit or ``_``
  (``"- x"``, ``"#1"``, ``" padded"``) and for ``y``/``n``, single quotes for text
  YAML would read as something else (``'No'``, ``'1.0'``, ``'2024-01-02'``, ``''``);
* libyaml keeps a plain scalar only where YAML allows one (no ``": "``, no
  ``" #"``, no trailing space, no leading indicator), falls back to single quotes
  (``'It''s'`` doubling the quote) and then to double quotes; it escapes what it
  does not count printable, emoji included (``"\\U0001F680"``);
* lines of plain and quoted scalars fold at a space past column 80; block
  lines and continuation lines are indented by four.

Anything the rules above do not cover still comes out as valid YAML that reads
back to the same text (double quotes and escapes), which is all a test needs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

#: What Ruby writes for a comment that changed nothing.
NO_CHANGES = "--- []\n"
WIDTH = 80  # libyaml's best width
INDENT = 4  # a scalar of the inner sequence: continuation and block lines
FIRST_COLUMN = 4  # where a scalar starts: after "- - " or "  - "

Triple = tuple[str, str | None, str | None]

_KEYWORD = re.compile(r"(?i)(~|null|yes|no|true|false|on|off)")
_TYPED = re.compile(
    r"""[-+]?(
        0b[01_,]+ | 0x[0-9a-fA-F_,]+ | 0o?[0-7_,]+ | [0-9][0-9_,]*    # integers
        | ([0-9][0-9_,]*)?\.[0-9_]*([eE][-+]?[0-9]+)?                   # floats
        | [0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?                        # base 60
        | [0-9.]+[eE][-+]?[0-9]+ | \.(inf|Inf|INF|nan|NaN|NAN)
    )
    | \d{4}-\d\d?-\d\d?([Tt ].*)?                                        # dates, times
    """,
    re.VERBOSE,
)
_INDICATORS = frozenset("#,[]{}&*!|>'\"%@`")
_ESCAPES = {
    "\0": "0", "\a": "a", "\b": "b", "\t": "t", "\n": "n", "\v": "v", "\f": "f", "\r": "r",
    "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L", "\u2029": "P",
}  # fmt: skip
_BREAKS = frozenset("\n\r\x85\u2028\u2029")
#: What only double quotes can carry: anything libyaml does not count printable (see
#: :func:`_printable`), and line breaks other than the line feed.
_SPECIAL = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]")


def dump_changes(triples: Iterable[Triple], old_libyaml: bool = False) -> str:
    """``ticket_changes`` for ``triples``: Ruby's YAML, as the older or the newer libyaml
    wrote it (see the module docstring); ``"--- []\\n"`` when there are none."""
    parts = ["--- \n" if old_libyaml else "---\n"]
    for name, old, new in triples:
        parts += ("- -", scalar(name, old_libyaml), "  -", scalar(old, old_libyaml))
        parts += ("  -", scalar(new, old_libyaml))
    return "".join(parts) if len(parts) > 1 else NO_CHANGES


@functools.lru_cache(maxsize=8192)  # statuses, user ids, numbers: the same values recur
def scalar(value: str | None, old_libyaml: bool = False) -> str:
    """One sequence entry's value as written after its ``-``, line break included."""
    if value is None:
        return " \n" if old_libyaml else "\n"
    style = style_of(value)
    if style == "literal":
        return _literal(value)
    if style == "plain":
        return " " + _folded(value, FIRST_COLUMN, single=False) + "\n"
    if style == "single":
        return " '" + _folded(value, FIRST_COLUMN + 1, single=True) + "'\n"
    return ' "' + _double(value) + '"\n'


def style_of(text: str) -> str:
    """``plain``, ``single``, ``double`` or ``literal``: Psych's request, then libyaml's
    fallback when YAML does not allow that style for ``text``."""
    if _SPECIAL.search(text):
        return "double"  # escapes are the only way to write it
    if _inner_break(text):
        literal = not text.endswith(" ") and " \n" not in text
        return "literal" if literal else "double"
    single = " \n" not in text and "\n " not in text
    if text == "<<":
        return "single"
    if text in ("y", "Y", "n", "N") or (text and not _word(text[0]) and '"' not in text):
        return "double"
    if text == "" or _looks_typed(text) or re.match(r"0[0-7]*[89]", text):
        return "single" if single else "double"
    if _plain_allowed(text):
        return "plain"
    return "single" if single else "double"


def _word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _printable(char: str) -> bool:
    # libyaml's test: printable ASCII, the line feed, and the rest of the BMP minus
    # surrogates, the BOM and U+FFFE/U+FFFF; nothing beyond it (so every emoji).
    code = ord(char)
    if code < 0x80:
        return code == 0x0A or 0x20 <= code <= 0x7E
    return 0xA0 <= code <= 0xD7FF or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)


def _inner_break(text: str) -> bool:
    # Psych's /\n(?!\Z)/: a line feed that is not the last character, nor the one
    # before a final line feed.
    size = len(text)
    for index, char in enumerate(text):
        if char == "\n" and not (index + 1 == size or (index + 2 == size and text[-1] == "\n")):
            return True
    return False


def _looks_typed(text: str) -> bool:
    """Whether Psych would read ``text`` as a number, date, boolean or null."""
    return bool(_KEYWORD.fullmatch(text) or _TYPED.fullmatch(text))


def _plain_allowed(text: str) -> bool:
    """Whether libyaml may write ``text`` plain in a block sequence."""
    if not text or text[0] == " " or text[-1] == " " or any(c in _BREAKS for c in text):
        return False
    if text[:3] in ("---", "...") and (len(text) == 3 or text[3] in " \t"):
        return False
    if text[0] in _INDICATORS:
        return False
    if text[0] in "-?:" and (len(text) == 1 or text[1] in " \t"):
        return False
    for index, char in enumerate(text):
        after = text[index + 1] if index + 1 < len(text) else " "
        if char == ":" and after in " \t":
            return False
        if char == "#" and index and text[index - 1] in " \t":
            return False
    return True


def _break_line() -> str:
    return "\n" + " " * INDENT


def _folded(text: str, column: int, *, single: bool) -> str:
    """Plain or single-quoted text, a space past the width turned into a line break.

    In single quotes a line feed is written as a blank line (a lone break would read
    as a space), and what follows a break is indented."""
    out: list[str] = []
    last = len(text) - 1
    spaces = breaks = False
    for index, char in enumerate(text):
        if char == " ":
            after = text[index + 1] if index < last else " "
            fold = not spaces and column > WIDTH and after != " "
            if single:
                fold = fold and 0 < index < last
            if fold:
                out.append(_break_line())
                column = INDENT
            else:
                out.append(" ")
                column += 1
            spaces = True
            continue
        if char == "\n":
            out.append("\n" if breaks else "\n\n")
            column, breaks = 0, True
            continue
        if breaks:
            out.append(" " * INDENT)
            column = INDENT
        if single and char == "'":
            out.append("''")
            column += 2
        else:
            out.append(char)
            column += 1
        spaces = breaks = False
    if breaks:
        out.append(" " * INDENT)
    return "".join(out)


def _escape(char: str) -> str | None:
    if char in _ESCAPES:
        return "\\" + _ESCAPES[char]
    if _printable(char) and char not in _BREAKS:
        return None
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02X}"
    return f"\\u{code:04X}" if code <= 0xFFFF else f"\\U{code:08X}"


def _double(text: str) -> str:
    """Double-quoted text: escapes for the unprintable, folds at spaces past the width."""
    out: list[str] = []
    column = FIRST_COLUMN + 1
    last = len(text) - 1
    spaces = False
    for index, char in enumerate(text):
        if char == " ":
            if not spaces and column > WIDTH and 0 < index < last:
                out.append(_break_line())
                column = INDENT
                if text[index + 1] == " ":
                    out.append("\\")  # the next space would be read as indentation
                    column += 1
            else:
                out.append(" ")
                column += 1
            spaces = True
            continue
        escaped = _escape(char)
        out.append(char if escaped is None else escaped)
        column += 1 if escaped is None else len(escaped)
        spaces = False
    return "".join(out)


def _literal(text: str) -> str:
    """A ``|`` block: indentation hint for a leading space or break, then chomping."""
    hints = "2" if text[0] in " \n" else ""
    if not text.endswith("\n"):
        hints += "-"
    elif text.endswith("\n\n") or text == "\n":
        hints += "+"
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()  # the final break ends the last line; it opens no new one
    body = "".join((" " * INDENT + line if line else "") + "\n" for line in lines)
    return " |" + hints + "\n" + body
