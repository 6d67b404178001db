"""One ticket's story: created, then every recorded change, and its stays in each status.

The changes are the ``ticket_changes`` rows of the ticket in the order they
happened; each shows who made it (a person's name) and, beside the values as
recorded, the values as a person reads them: a user id as the user's name, a
milestone id as its title, a priority as its name. A change the mirror saw
itself (``source`` mirror) or inferred has no author. The stays come from the
``ticket_status_intervals`` view. A ticket deleted upstream is found too, in
``deleted_tickets``: its changes stay, and its timeline ends with its deletion.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from assembla_mirror.errors import ConfigError
from assembla_mirror.model.columns import UTC_FORMAT
from assembla_mirror.read.reports.common import Report, resolve_spaces
from assembla_mirror.store.flow_reports import (
    change_rows,
    names_of_users,
    stay_rows,
    ticket_subjects,
    titles_of_milestones,
)
from assembla_mirror.store.named_views import PRIORITIES

__all__ = ["EVENT_COLUMNS", "STAY_COLUMNS", "Timeline", "display_value", "ticket_timeline"]

#: How the timeline names the fields that hold ids.
FIELD_LABELS = {"assigned_to_id": "assignee", "milestone_id": "milestone"}

#: Columns of the timeline's events: the first six as a person reads them, then the
#: change as recorded (user id, values as text, the comment it came from).
EVENT_COLUMNS = (
    "when",
    "who",
    "field",
    "old",
    "new",
    "source",
    "user_id",
    "old_value",
    "new_value",
    "comment_id",
)
STAY_COLUMNS = ("stay", "status", "state", "started_at", "ended_at", "hours")


@dataclass(frozen=True)
class Timeline:
    """A ticket (``ticket``: what the mirror knows of it now), its events (``created``,
    each change, ``deleted`` for a ticket deleted upstream) and its stays per status."""

    title: str
    ticket: dict[str, Any]
    events: Report
    stays: Report

    def as_json(self) -> dict[str, Any]:
        """The whole timeline as plain values (datetimes as ISO text)."""

        def plain(record: dict[str, Any]) -> dict[str, Any]:
            return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}

        return {
            "ticket": plain(self.ticket),
            "changes": [plain(record) for record in self.events.records()],
            "stays": [plain(record) for record in self.stays.records()],
        }


def utc(value: Any) -> datetime | None:
    """A stored UTC datetime (text, or a datetime) as an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.strptime(str(value), UTC_FORMAT).replace(tzinfo=UTC)


def display_value(
    field: str, value: str | None, users: dict[str, str], milestones: dict[int, str]
) -> str:
    """A recorded value as a person reads it: names for ids, ``(none)`` for nothing."""
    if value is None or value == "":
        return "(none)"
    if field == "assigned_to_id":
        return users.get(value, value)
    if field == "milestone_id":
        key = _int(value)
        return milestones.get(key, f"milestone {value}") if key is not None else value
    if field == "priority":
        code = value.split(".")[0]
        return PRIORITIES.get(int(code), value) if code.isdigit() else value
    return value


def _int(value: str) -> int | None:
    try:
        return int(float(value))
    except ValueError:
        return None


def _find(conn: Connection, number: int, spaces: Sequence[str]) -> dict[str, Any]:
    space_ids = resolve_spaces(conn, spaces)
    found = ticket_subjects(conn, number, space_ids)
    if not found.rows:
        where = f" in {', '.join(spaces)}" if spaces else ""
        raise ConfigError(f"no ticket #{number}{where} in the mirror (nor among deleted ones)")
    if len(found.rows) > 1:
        names = ", ".join(str(row[2]) for row in found.rows)
        raise ConfigError(
            f"ticket #{number} is in several spaces ({names}); say which with --space"
        )
    return dict(zip(found.columns, found.rows[0], strict=True))


def ticket_timeline(conn: Connection, number: int, *, spaces: Sequence[str] = ()) -> Timeline:
    """The timeline of ticket ``number`` of the space ``spaces`` names (a name, wiki_name
    or id; may be left out when only one space has a ticket of that number).

    Raises :class:`ConfigError` for an unknown space or ticket, or a number found in
    several spaces.
    """
    row = _find(conn, number, spaces)
    deleted = row["deleted_at"] is not None
    reporter_id = row["reporter_id"]
    if deleted and row["last_record_json"]:
        reporter_id = json.loads(row["last_record_json"]).get("reporter_id")
    changes = change_rows(conn, row["id"])
    records = [dict(zip(changes.columns, values, strict=True)) for values in changes.rows]
    user_ids = {str(reporter_id)} if reporter_id else set()
    milestone_ids = set()
    for change in records:
        for value in (change["old_value"], change["new_value"]):
            if value and change["field"] == "assigned_to_id":
                user_ids.add(value)
            elif value and change["field"] == "milestone_id" and _int(value) is not None:
                milestone_ids.add(_int(value) or 0)
    users = names_of_users(conn, user_ids)
    milestones = titles_of_milestones(conn, milestone_ids)
    stays = stay_rows(conn, [row["id"]])
    stay_records = [
        (stay, status, state, utc(started), utc(ended), None if hours is None else float(hours))
        for _ticket, stay, status, state, started, ended, hours, _deleted in stays.rows
    ]
    first_status = stay_records[0][1] if stay_records else row["status"]
    reporter = users.get(str(reporter_id)) if reporter_id else None
    created_on = utc(row["created_on"])
    # The creation leaves no change: its status is the first stay's (see the view).
    created = (created_on, reporter, "created", None, first_status, None)
    events: list[tuple[Any, ...]] = [(*created, reporter_id, None, first_status, None)]
    for change in records:
        field = change["field"]
        events.append(
            (
                utc(change["changed_at"]),
                change["who"],
                FIELD_LABELS.get(field, field),
                display_value(field, change["old_value"], users, milestones),
                display_value(field, change["new_value"], users, milestones),
                change["source"],
                change["user_id"],
                change["old_value"],
                change["new_value"],
                change["comment_id"],
            )
        )
    if deleted:  # found deleted by a sync: when, and the status it was last seen in
        gone = (utc(row["deleted_at"]), None, "deleted", row["status"], None, "mirror")
        events.append((*gone, None, row["status"], None, None))
    ticket = {
        "space": row["space"],
        "space_id": row["space_id"],
        "number": row["number"],
        "id": row["id"],
        "summary": row["summary"],
        "status": row["status"],
        "state": row["state"],
        "created_on": created_on,
        "reporter": reporter,
        "updated_at": utc(row["updated_at"]),
        "deleted": deleted,
        "deleted_at": utc(row["deleted_at"]),
    }
    title = f"{row['space']} #{row['number']}: {row['summary'] or ''}".rstrip()
    return Timeline(
        title=title,
        ticket=ticket,
        events=Report(f"{title}: changes", EVENT_COLUMNS, events),
        stays=Report(f"{title}: stays in each status", STAY_COLUMNS, stay_records),
    )
