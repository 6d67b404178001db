"""A change comment's ``ticket_changes``: the YAML Assembla writes, read as the text typed.

Assembla records each ticket change as a comment whose ``ticket_changes`` is YAML
as Ruby writes it: ``--- []`` when nothing changed, else a block sequence of
``[field, old, new]`` triples (``../shared/reference/api-contract.md``, "Ticket
history"). Ruby quotes a string wherever YAML would read it as something else,
but the mirror keeps values as text exactly as recorded, so the YAML is read
without YAML's implicit types: ``No`` stays ``No`` (not False), ``1.0`` stays
``1.0`` (not a float), ``2024-01-02`` stays text. Only an empty plain entry
(Ruby's ``nil``), and a plain ``~`` or ``null``, are null.

The parser is PyYAML's safe loader: no Ruby objects, no Python objects, no
code. Text that cannot be read (not YAML, not triples, a tag, nesting too deep,
longer than :data:`MAX_CHARS`) never raises: :func:`parse_ticket_changes`
returns the triples it could read and says what was wrong, for the caller to
keep the text, count it and report it. An entry whose values are not scalars
(lists, mappings: never Ruby's way for a field) is skipped and counted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

#: Longest ``ticket_changes`` read (a change of a long description is a few times
#: the description); longer text is kept and reported, not parsed.
MAX_CHARS = 1_000_000
#: Plain scalars that are null when Ruby writes them (it quotes such text).
NULL_WORDS = frozenset({"", "~", "null", "Null", "NULL"})


@dataclass(frozen=True)
class FieldChange:
    """One changed field: its name as recorded, and its old and new values as text."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ParsedChanges:
    """The changes read from one ``ticket_changes`` text, and why (if so) some or all of
    it could not be read."""

    changes: list[FieldChange] = field(default_factory=list)
    problem: str | None = None


class _TextLoader(yaml.SafeLoader):
    """The safe loader with no implicit types: every scalar is the text as typed."""


# Replacing the class attribute (not mutating SafeLoader's) resolves every plain
# scalar to the default string tag, for this loader only.
_TextLoader.yaml_implicit_resolvers = {}


def _text_scalar(loader: _TextLoader, node: yaml.ScalarNode) -> str | None:
    if node.style is None and node.value in NULL_WORDS:
        return None
    return str(node.value)


_TextLoader.add_constructor("tag:yaml.org,2002:str", _text_scalar)


def parse_ticket_changes(text: str | None) -> ParsedChanges:
    """The ``[field, old, new]`` triples of a ``ticket_changes`` text (None or empty: no
    changes). Never raises for bad text: what cannot be read is named in ``problem``."""
    if text is None or not text.strip():
        return ParsedChanges()
    if len(text) > MAX_CHARS:
        return ParsedChanges(problem=f"longer than {MAX_CHARS:,} characters: not read")
    try:
        document = yaml.load(text, Loader=_TextLoader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        return ParsedChanges(problem=f"not YAML: {_first_line(exc)}")
    except RecursionError:
        return ParsedChanges(problem="nested too deeply to read")
    if document is None:
        return ParsedChanges()
    if not isinstance(document, list):
        return ParsedChanges(problem=f"not a list of changes but a {_kind(document)}")
    changes: list[FieldChange] = []
    skipped = 0
    for entry in document:
        change = _triple(entry)
        if change is None:
            skipped += 1
        else:
            changes.append(change)
    problem = None if not skipped else f"{skipped} of {len(document)} entries not [field, old, new]"
    return ParsedChanges(changes, problem)


def _triple(entry: Any) -> FieldChange | None:
    # Values are scalars (text or null); anything else is no change Ruby writes, and
    # turning it into text could expand aliases without bound (a "billion laughs").
    if not isinstance(entry, list) or len(entry) != 3:
        return None
    name, old, new = entry
    if not isinstance(name, str) or not name:
        return None
    if not all(value is None or isinstance(value, str) for value in (old, new)):
        return None
    return FieldChange(name, old, new)


def _kind(document: Any) -> str:
    if isinstance(document, dict):
        return "mapping"
    return "single value" if isinstance(document, str) else type(document).__name__


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
