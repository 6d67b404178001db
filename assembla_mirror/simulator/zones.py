"""UTC offsets as Assembla renders them, and datetime/date formatting.

Stored datetimes are aware UTC; rendering shifts the wall-clock part by the
offset and appends its label, so ``Z``, ``+00:00``, ``+05:30`` and ``-08:00``
renderings of one datetime denote the same instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

ZONE_PATTERN = re.compile(r"^(Z|[+-](\d\d):(\d\d))$")


@dataclass(frozen=True)
class Zone:
    """A UTC offset as rendered: ``Z``, ``+00:00``, ``+05:30``, ``-08:00`` ..."""

    label: str
    delta: timedelta


@lru_cache(maxsize=64)
def zone(label: str) -> Zone:
    """Parse an offset label; ValueError for anything but ``Z`` or ``±HH:MM``."""
    match = ZONE_PATTERN.match(label)
    if match is None or (match.group(2) and (int(match.group(2)) > 14 or int(match.group(3)) > 59)):
        raise ValueError(f"bad time zone offset {label!r}; use Z or +HH:MM / -HH:MM")
    if label == "Z":
        return Zone(label, timedelta(0))
    sign = -1 if label[0] == "-" else 1
    return Zone(label, sign * timedelta(hours=int(label[1:3]), minutes=int(label[4:6])))


def stamp(moment: datetime | None, where: Zone) -> str | None:
    """An aware UTC datetime as ISO-8601 in ``where``'s offset (same instant)."""
    if moment is None:
        return None
    return (moment + where.delta).isoformat()[:19] + where.label


def day(value: date | None) -> str | None:
    """A date as ``YYYY-MM-DD``."""
    return None if value is None else value.isoformat()
