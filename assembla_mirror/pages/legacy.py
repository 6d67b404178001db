"""Parsing the legacy XML host's time logs (``GET /user/time_entries/<task_id>/time_logs``).

The answer is a Rails XML array::

    <time-logs type="array">
      <time-log>
        <id type="integer">1</id>
        <description nil="true"/>
        <task-id type="integer">1</task-id>
        ...
      </time-log>
    </time-logs>

Each ``<time-log>`` becomes a dict keyed by tag name with dashes turned into
underscores (``task-id`` -> ``task_id``); values stay the text given (types are
the normalizer's business) and ``nil="true"`` becomes ``None``.

The body comes from the network, so it is parsed defensively: a document with
a DOCTYPE or entity declaration is refused before the parser sees it (no
entity expansion, no external references), as is anything that is not a
``time-logs`` array of ``time-log`` elements.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from assembla_mirror.errors import ResponseFormatError

_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def parse_time_logs(body: bytes | str) -> list[dict[str, str | None]]:
    """The time logs in a legacy XML answer; raises :class:`ResponseFormatError` otherwise."""
    data = body.encode() if isinstance(body, str) else body
    if _DECLARATIONS.search(data):
        raise ResponseFormatError("time logs XML contains a DOCTYPE or entity declaration")
    try:
        # Safe here: declarations were refused above, so there is nothing to expand.
        root = ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise ResponseFormatError(f"time logs are not well-formed XML ({exc})") from None
    if root.tag != "time-logs":
        raise ResponseFormatError(f"expected <time-logs>, got <{root.tag}>")
    logs: list[dict[str, str | None]] = []
    for element in root:
        if element.tag != "time-log":
            raise ResponseFormatError(
                f"expected <time-log> inside <time-logs>, got <{element.tag}>"
            )
        logs.append(
            {
                field.tag.replace("-", "_"): None
                if field.get("nil") == "true"
                else (field.text or "")
                for field in element
            }
        )
    return logs
