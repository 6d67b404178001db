"""The simulator's imitation of Ruby's YAML for ``ticket_changes``: exact output for the
cases Ruby is known to write, and every text read back by the mirror's own parser (and
by PyYAML's safe loader with every scalar kept as text) as exactly the values written.
"""

from __future__ import annotations

import random

import pytest
import yaml

from assembla_mirror.model.changes import FieldChange, parse_ticket_changes
from assembla_mirror.simulator.ruby_yaml import NO_CHANGES, dump_changes, scalar, style_of


class TextLoader(yaml.SafeLoader):
    """PyYAML's safe loader reading every scalar as text (an empty plain one as None)."""


TextLoader.yaml_implicit_resolvers = {}
TextLoader.add_constructor(
    "tag:yaml.org,2002:str",
    lambda loader, node: None if node.style is None and node.value == "" else node.value,  # type: ignore[attr-defined]
)


def read_back(text: str) -> list[tuple[str, str | None, str | None]]:
    """The triples of ``text`` by both readers, which must agree."""
    parsed = parse_ticket_changes(text)
    assert parsed.problem is None, (text, parsed.problem)
    mine = [(c.field, c.old, c.new) for c in parsed.changes]
    theirs = [tuple(entry) for entry in yaml.load(text, Loader=TextLoader)]  # noqa: S506
    assert theirs == mine, text
    return mine


def test_the_recorded_sample_and_both_headers() -> None:
    triple = [("status", "New", "Fixed")]
    # Recorded from Assembla in 2013 (api-contract.md, "Ticket history").
    assert dump_changes(triple, old_libyaml=True) == "--- \n- - status\n  - New\n  - Fixed\n"
    assert dump_changes(triple) == "---\n- - status\n  - New\n  - Fixed\n"
    assert dump_changes([]) == dump_changes([], old_libyaml=True) == NO_CHANGES == "--- []\n"


def test_nil_is_an_empty_entry_with_or_without_the_space() -> None:
    triple = [("milestone_id", None, "301"), ("assigned_to_id", "u1", None)]
    old = dump_changes(triple, old_libyaml=True)
    new = dump_changes(triple)
    assert "  - \n  - '301'\n" in old
    assert old.endswith("  - u1\n  - \n")
    assert "  -\n  - '301'\n" in new
    assert new.endswith("  - u1\n  -\n")
    assert read_back(old) == read_back(new) == triple


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("New", " New\n"),
        ("Ready for Deploy", " Ready for Deploy\n"),
        ("It's fine", " It's fine\n"),  # a quote inside is plain
        ("It's: done", " 'It''s: done'\n"),  # ": " is not, and quotes double
        ("QA: review", " 'QA: review'\n"),
        ("a #b", " 'a #b'\n"),
        ("a#b", " a#b\n"),
        ("trailing ", " 'trailing '\n"),
        ("ends with:", " 'ends with:'\n"),
        ("No", " 'No'\n"),
        ("yes", " 'yes'\n"),
        ("oFF", " 'oFF'\n"),
        ("TRUE", " 'TRUE'\n"),
        ("NuLL", " 'NuLL'\n"),
        ("~", ' "~"\n'),
        ("y", ' "y"\n'),
        ("N", ' "N"\n'),
        ("1.0", " '1.0'\n"),
        ("301", " '301'\n"),
        ("007", " '007'\n"),
        ("0.75", " '0.75'\n"),
        ("1e3", " '1e3'\n"),
        ("1_000", " '1_000'\n"),
        ("12:30", " '12:30'\n"),
        (".inf", ' ".inf"\n'),
        ("2024-01-02", " '2024-01-02'\n"),
        ("", " ''\n"),
        ("- see above", ' "- see above"\n'),
        ("-5", ' "-5"\n'),
        ("#42 follow-up", ' "#42 follow-up"\n'),
        (" padded ", ' " padded "\n'),
        ("[beta] build", ' "[beta] build"\n'),
        ("'Quoted' text", " \"'Quoted' text\"\n"),
        ('"quoted" text', " '\"quoted\" text'\n"),
        ("<<", " '<<'\n"),
        ("Ünïcode ✓ 客户", " Ünïcode ✓ 客户\n"),
        ("Größe 🎉", ' "Gr\u00f6\u00dfe \\U0001F389"\n'),
        ("tab\there", ' "tab\\there"\n'),
        ("back\\slash", " back\\slash\n"),
        ("line one\nline two", " |-\n    line one\n    line two\n"),
        ("one\n\nthree: x\n  indented", " |-\n    one\n\n    three: x\n      indented\n"),
        ("ends\nwith break\n", " |\n    ends\n    with break\n"),
        (" leading\nspace", " |2-\n     leading\n    space\n"),
        ("space before \nbreak", ' "space before \\nbreak"\n'),
        ("emoji 🎉\nline", ' "emoji \\U0001F389\\nline"\n'),
        # a final break is no block; in single quotes it takes a blank line
        ("one break at the end\n", " 'one break at the end\n\n    '\n"),
    ],
)
def test_scalars_are_written_as_ruby_writes_them(value: str, written: str) -> None:
    assert scalar(value) == written
    text = dump_changes([("summary", value, value)])
    assert read_back(text) == [("summary", value, value)]


@pytest.mark.parametrize("title", ["Notes: internal", "Budget: Q3", "Coût (€)", "客户", "#tag"])
def test_custom_field_titles_are_quoted_where_needed(title: str) -> None:
    text = dump_changes([(title, "", "Firefox 115")], old_libyaml=True)
    assert read_back(text) == [(title, "", "Firefox 115")]
    if ": " in title:
        assert text.startswith(f"--- \n- - '{title}'\n")


def test_long_lines_fold_past_column_80_and_read_back_whole() -> None:
    words = "Steps to reproduce are in the attached log and customer reported this twice"
    for value in (
        f"{words} {words}",  # plain
        f"{words}: {words}",  # single quoted
        f"# {words}  {words} 🎉 {words}",  # double quoted, with a double space to keep
    ):
        text = dump_changes([("description", value, None)])
        lines = text.splitlines()
        assert any(line.startswith("    ") for line in lines), text  # folded
        assert all(len(line) <= 100 for line in lines), text
        assert all(line.startswith(("- - ", "  -", "    ", "---")) for line in lines), text
        assert read_back(text) == [("description", value, None)]


def test_every_style_occurs_and_any_text_reads_back() -> None:
    rng = random.Random(15)
    pieces = [
        "a", "Ab", "no", "Yes", "1", "2.5", "-", "- ", ": ", ":", "#", " #", "'", '"', "\\",
        " ", "  ", "\n", "\n\n", "\t", "é", "客", "🎉", "~", "[", "]", "{", "}", ",", "?",
        "!", "&", "*", "%", "@", "`", "|", ">", "---", "...", "\u2028", "\x85", "\xa0",
        "null", "2024-01-02", "0x1F", "\ufeff",
    ]  # fmt: skip
    styles = set()
    for _ in range(3000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        styles.add(style_of(value))
        triples = [("field", value, None), (value.strip() or "f", None, value)]
        text = dump_changes(triples, old_libyaml=rng.random() < 0.5)
        assert read_back(text) == triples, repr(text)
    assert styles == {"plain", "single", "double", "literal"}


def test_the_mirrors_parser_agrees_on_null_words() -> None:
    # Text that is a YAML null word is quoted, so it comes back as text, not None.
    triples = [("Notes", word, word) for word in ("null", "Null", "NULL", "~", "")]
    assert parse_ticket_changes(dump_changes(triples)).changes == [
        FieldChange("Notes", word, word) for word in ("null", "Null", "NULL", "~", "")
    ]


def test_only_what_libyaml_cannot_print_needs_double_quotes() -> None:
    # libyaml prints the BMP but for surrogates, U+FEFF, U+FFFE/F and C0/C1 controls
    # (the line feed aside); nothing beyond it, so no emoji.
    for code in [*range(0x2400), *range(0xD700, 0x10000), 0x1F389, 0x10FFFF]:
        char = chr(code)
        style = style_of(f"a{char}b")
        breaks = code in (0x85, 0x2028, 0x2029)
        unprintable = code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000
        unprintable = unprintable or code in (0xFEFF, 0xFFFE, 0xFFFF) or code > 0xFFFF
        if char == "\n":
            assert style == "literal"
        else:
            assert style == ("double" if breaks or unprintable else "plain"), hex(code)
