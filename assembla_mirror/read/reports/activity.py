"""The daily per-space summary of who did what, from the ``events`` table.

This is the summary the original wrapper's README builds by walking the stream
(time, author, operation, title, then what changed or the comment), answered
from the events the mirror has kept, which outlive Assembla's 60-day window.

A day is a calendar day in a time zone (the machine's local zone in the CLI,
like the original, or any IANA zone or UTC); its bounds are converted to UTC
to query the stored UTC ``date``, and each event's time is shown in that zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import tz as dateutil_tz
from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError
from assembla_mirror.model.columns import UTC_FORMAT
from assembla_mirror.read.reports.common import Report, resolve_spaces
from assembla_mirror.store.reports import event_rows

ACTIVITY_COLUMNS = (
    "space",
    "time",
    "author",
    "operation",
    "object",
    "title",
    "details",
    "url",
)


def zone(name: str) -> tzinfo:
    """A time zone by name: ``local`` (the machine's, DST-aware), ``UTC``, or an IANA name."""
    if name.casefold() == "local":
        return dateutil_tz.tzlocal()
    if name.casefold() in ("utc", "z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}; use local, UTC or a name like Europe/Paris"
        ) from None


def today_in(tz: tzinfo) -> date:
    """Today's date in ``tz``."""
    return datetime.now(tz).date()


def day_range(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The first instant of ``day`` in ``tz`` and of the day after (DST days are 23/25 h)."""
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return start, end


def zone_label(tz: tzinfo, moment: datetime) -> str:
    """A readable name for ``tz``: the IANA key when it has one, else its abbreviation."""
    key = getattr(tz, "key", None)
    return str(key) if key else (moment.tzname() or str(tz))


def details(
    obj: str | None, operation: str | None, whatchanged: str | None, text: str | None
) -> str:
    """What an event changed or said.

    As in the original summary: the changed fields when the event names them,
    otherwise the text of a ticket update. Comments are added here, since
    what a comment says is the point of it: a comment that also changed fields
    (Assembla records both in one) shows its text, then the fields.
    """
    changed = f"changed: {whatchanged}" if whatchanged else ""
    if obj and "comment" in obj.casefold():
        said = text or ""
        return f"{said} ({changed})" if said and changed else said or changed
    if changed:
        return changed
    if obj == "Ticket" and operation != "created":
        return text or ""
    return ""


def activity(
    conn: Connection,
    *,
    day: date,
    tz: tzinfo = UTC,
    spaces: Sequence[str] = (),
) -> Report:
    """Events of ``day`` (a calendar day in ``tz``) per space, oldest first.

    ``time`` in each row is an aware datetime in ``tz``; ``spaces`` are names,
    wiki_names or ids (all spaces when empty).
    """
    start, end = day_range(day, tz)
    space_ids = resolve_spaces(conn, spaces)
    rows = event_rows(conn, start=start, end=end, space_ids=space_ids)
    out = []
    for space, stamp, author, operation, obj, title, whatchanged, text, url in rows:
        moment = datetime.strptime(stamp, UTC_FORMAT).replace(tzinfo=UTC).astimezone(tz)
        out.append(
            (
                space,
                moment,
                author,
                operation,
                obj,
                title,
                details(obj, operation, whatchanged, text),
                url,
            )
        )
    title = f"Activity on {day:%a %d %b %Y} ({zone_label(tz, start)})"
    return Report(title=title, columns=ACTIVITY_COLUMNS, rows=out)
