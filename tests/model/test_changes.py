"""Reading a change comment's ``ticket_changes`` YAML as the text each value was typed as.

The samples are written the way Ruby's YAML writes them (api-contract.md, "Ticket
history"): both headers, plain scalars where YAML allows, single and double quotes
where it does not, ``|-`` blocks for multi-line text, an empty entry for nil.
"""

from __future__ import annotations

import pytest

from assembla_mirror.model.changes import (
    MAX_CHARS,
    FieldChange,
    ParsedChanges,
    parse_ticket_changes,
)


def test_the_recorded_sample_is_one_status_change() -> None:
    # Recorded from Assembla in 2013 (assembla-api.md)
    parsed = parse_ticket_changes("--- \n- - status\n  - New\n  - Fixed\n")
    assert parsed == ParsedChanges([FieldChange("status", "New", "Fixed")])


@pytest.mark.parametrize("header", ["--- \n", "---\n"])
def test_both_headers_and_several_fields_in_one_comment(header: str) -> None:
    text = header + (
        "- - status\n  - Test\n  - Done\n"
        "- - assigned_to_id\n  - a1b2c3\n  - d4e5f6\n"
        "- - milestone_id\n  - '7'\n  - '8'\n"
    )
    assert parse_ticket_changes(text).changes == [
        FieldChange("status", "Test", "Done"),
        FieldChange("assigned_to_id", "a1b2c3", "d4e5f6"),
        FieldChange("milestone_id", "7", "8"),
    ]


@pytest.mark.parametrize("text", [None, "", "   \n", "--- []\n", "---\n", "--- \n"])
def test_nothing_changed(text: str | None) -> None:
    assert parse_ticket_changes(text) == ParsedChanges()


@pytest.mark.parametrize(
    ("written", "typed"),
    [
        ("No", "No"),  # YAML 1.1 reads these as booleans
        ("yes", "yes"),
        ("off", "off"),
        ("1.0", "1.0"),  # and these as numbers: the text stays as it was
        ("007", "007"),
        ("1e3", "1e3"),
        ("0x1F", "0x1F"),
        ("2024-01-02", "2024-01-02"),
        (".inf", ".inf"),
        ("'No'", "No"),  # quoted, as Ruby quotes a string YAML would misread
        ("'1.0'", "1.0"),
        ("'null'", "null"),
        ("'~'", "~"),
        ("''", ""),
        ("'It''s done'", "It's done"),
        ('"Say \\"hi\\""', 'Say "hi"'),
        ("'Blocked: waiting on QA'", "Blocked: waiting on QA"),  # ": " inside a name
        ("'- leading dash'", "- leading dash"),
        ("'#hashtag'", "#hashtag"),
        ("Ready for Deploy", "Ready for Deploy"),
        ("Größe ✓ 検索 🎉", "Größe ✓ 検索 🎉"),
        ('"\\u00e9t\\u00e9"', "été"),
    ],
)
def test_values_come_back_as_the_text_typed(written: str, typed: str) -> None:
    text = f"--- \n- - priority\n  - {written}\n  - {written}\n"
    assert parse_ticket_changes(text).changes == [FieldChange("priority", typed, typed)]


@pytest.mark.parametrize("empty", ["", " ~", " null"])
def test_nil_is_null(empty: str) -> None:
    # Ruby writes nil as an empty entry: "  - " then the line break
    text = f"--- \n- - milestone_id\n  -{empty}\n  - '12'\n"
    assert parse_ticket_changes(text).changes == [FieldChange("milestone_id", None, "12")]


def test_multi_line_text_comes_as_a_block() -> None:
    text = (
        "--- \n- - description\n"
        "  - |-\n    First line\n\n    third: line\n      indented\n"
        "  - |-\n    Replaced\n    text\n"
    )
    assert parse_ticket_changes(text).changes == [
        FieldChange("description", "First line\n\nthird: line\n  indented", "Replaced\ntext")
    ]


def test_unknown_and_custom_fields_are_kept_under_their_names() -> None:
    text = "--- \n- - Team Size\n  - '3'\n  - '5'\n- - some_future_field\n  - a\n  - b\n"
    assert parse_ticket_changes(text).changes == [
        FieldChange("Team Size", "3", "5"),
        FieldChange("some_future_field", "a", "b"),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("--- \n- - status\n  - [unclosed\n", "not YAML"),
        ("\t- - status", "not YAML"),
        ("--- !ruby/object:Foo\nbar: 1\n", "not YAML"),  # no Ruby objects
        ("--- !!python/object/apply:os.system ['true']\n", "not YAML"),  # no Python either
        ("--- \nstatus: Fixed\n", "not a list of changes but a mapping"),
        ("just some words", "not a list of changes but a single value"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("x" * (MAX_CHARS + 1), "longer than"),
    ],
)
def test_text_that_cannot_be_read_is_reported_never_raised(text: str, problem: str) -> None:
    parsed = parse_ticket_changes(text)
    assert parsed.changes == []
    assert parsed.problem is not None
    assert problem in parsed.problem


def test_entries_that_are_not_triples_are_counted_and_the_rest_kept() -> None:
    text = (
        "--- \n"
        "- - status\n  - New\n  - Test\n"
        "- - only two\n  - values\n"
        "- just text\n"
        "- - estimate\n  - [1, 2]\n  - '3'\n"  # a list is no value Ruby writes
        "- - \n  - a\n  - b\n"  # no field name
        "- - priority\n  - '1'\n  - '2'\n"
    )
    parsed = parse_ticket_changes(text)
    assert parsed.changes == [
        FieldChange("status", "New", "Test"),
        FieldChange("priority", "1", "2"),
    ]
    assert parsed.problem == "4 of 6 entries not [field, old, new]"


def test_aliases_cannot_expand_without_bound() -> None:
    # A "billion laughs": each level refers to the previous one ten times.
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    text = (
        "--- \n- - status\n  - &s New\n  - *s\n- - laughs\n  - {" + ", ".join(levels) + "}\n  - b\n"
    )
    parsed = parse_ticket_changes(text)
    assert parsed.changes == [FieldChange("status", "New", "New")]  # a scalar alias is fine
    assert parsed.problem == "1 of 2 entries not [field, old, new]"
