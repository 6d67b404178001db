"""Parsing the legacy host's time logs XML, defensively."""

from __future__ import annotations

import pytest

from assembla_mirror.errors import ResponseFormatError
from assembla_mirror.pages.legacy import parse_time_logs

SAMPLE = b"""<?xml version="1.0" encoding="UTF-8"?>
<time-logs type="array">
<time-log>
<created-at type="datetime">2009-02-19T16:55:33+00:00</created-at>
<description nil="true"/>
<id type="integer">1</id>
<is-timeout type="boolean">false</is-timeout>
<screenshot type="binary" encoding="base64" nil="true"/>
<space-id>cexKtSdHGr3yvpabNrdR7q</space-id>
<task-id type="integer">7</task-id>
<user-id>bt92DWdHGr3yvpabNrdR7q</user-id>
</time-log>
<time-log>
<id type="integer">2</id>
<description>Caf\xc3\xa9 &amp; code</description>
<task-id type="integer">7</task-id>
</time-log>
</time-logs>
"""


def test_time_logs_become_dicts_with_underscored_keys_and_text_values() -> None:
    logs = parse_time_logs(SAMPLE)
    assert logs[0] == {
        "created_at": "2009-02-19T16:55:33+00:00",
        "description": None,
        "id": "1",
        "is_timeout": "false",
        "screenshot": None,
        "space_id": "cexKtSdHGr3yvpabNrdR7q",
        "task_id": "7",
        "user_id": "bt92DWdHGr3yvpabNrdR7q",
    }
    assert logs[1]["description"] == "Café & code"


def test_an_empty_array_and_str_input() -> None:
    assert parse_time_logs('<time-logs type="array">\n</time-logs>') == []
    assert parse_time_logs('<time-logs type="array"/>') == []


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><time-logs>&a;</time-logs>',
        b"<!doctype html><html><body>Error</body></html>",
        b"<time-logs><time-log><id>1</id></time-log>",  # truncated
        b"",
        b"<html><body>500</body></html>",
        b"<time-logs><task><id>1</id></task></time-logs>",
    ],
)
def test_anything_else_is_a_format_error(body: bytes) -> None:
    with pytest.raises(ResponseFormatError):
        parse_time_logs(body)
