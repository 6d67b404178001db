"""Rendering stored objects as the API's JSON (and the legacy host's XML).

Each object's JSON bytes are cached on the object under a key made of what the
rendering depends on (the time-zone label, plus for tickets the space's custom
field generation and for spaces whether the caller manages them), so a list
page is a join of cached byte strings. The world clears an object's cache when
the object changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable
from typing import Any
from xml.sax.saxutils import escape

from assembla_mirror.simulator.entities import (
    MISSING,
    Comment,
    CustomField,
    Event,
    Milestone,
    RawJson,
    Space,
    SpaceTool,
    Task,
    Ticket,
    TicketStatus,
    TimeLog,
    User,
    UserRole,
)
from assembla_mirror.simulator.state import WorldState
from assembla_mirror.simulator.zones import Zone, day, stamp

RELEASE_LEVELS = {None: "None", 1: "Alpha", 2: "Beta", 3: "Stable"}
TABS_ORDER = "--- \n- stream\n- wiki\n- tickets\n- milestones\n- team\n- admin\n"
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON, unicode unescaped (as Assembla sends it).

    Text UTF-8 cannot carry (a lone surrogate a test planted) goes out as a JSON
    ``\\uXXXX`` escape, as any server written in a language with UTF-16 strings would.
    """
    text = _encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def cached(obj: Any, key: Hashable, build: Callable[[], dict[str, Any]]) -> bytes:
    """``obj``'s JSON for ``key``, rendered with ``build`` on a cache miss.

    A record's ``patch`` (bad values planted by :meth:`World.corrupt`) replaces or,
    with ``MISSING``, removes fields of the payload; a ``RawJson`` value goes in verbatim.
    """
    entry = obj.cache
    if entry is not None and entry[0] == key:
        return entry[1]  # type: ignore[no-any-return]
    payload = build()
    raw = False
    if obj.patch:
        for name, value in obj.patch.items():
            if value is MISSING:
                payload.pop(name, None)
            else:
                payload[name] = value
                raw = raw or isinstance(value, RawJson)
    body = _dumps_spliced(payload) if raw else dumps(payload)
    obj.cache = (key, body)
    return body


def _dumps_spliced(payload: dict[str, Any]) -> bytes:
    """``dumps(payload)``, but ``RawJson`` values are spliced in as their bytes.

    The object is written member by member, in order, so the raw text never
    passes through the encoder (which would recurse on deep nesting) and no
    placeholder could collide with real content.
    """
    members = (
        dumps(name) + b":" + (value.data if isinstance(value, RawJson) else dumps(value))
        for name, value in payload.items()
    )
    return b"{" + b",".join(members) + b"}"


def json_list(items: Iterable[bytes]) -> bytes:
    """A JSON array from already rendered elements."""
    return b"[" + b",".join(items) + b"]"


# --- objects --------------------------------------------------------------------------


def user(obj: User) -> bytes:
    """A user (no datetimes, so one rendering fits every caller)."""
    return cached(
        obj,
        "",
        lambda: {
            "id": obj.id,
            "login": obj.login,
            "name": obj.name,
            "picture": obj.picture,
            "email": obj.email,
            "organization": obj.organization,
            "phone": obj.phone,
            "im": {"type": None, "id": None},
            "im2": {"type": None, "id": None},
        },
    )


def space(obj: Space, where: Zone, is_manager: bool) -> bytes:
    """A space; ``is_manager`` says whether the caller owns it."""
    return cached(
        obj,
        (where.label, is_manager),
        lambda: {
            "id": obj.id,
            "name": obj.name,
            "description": obj.description,
            "wiki_name": obj.wiki_name,
            "public_permissions": obj.public_permissions,
            "team_permissions": obj.team_permissions,
            "watcher_permissions": obj.watcher_permissions,
            "share_permissions": True,
            "team_tab_role": 0,
            "created_at": stamp(obj.created_at, where),
            "updated_at": stamp(obj.updated_at, where),
            "default_showpage": obj.default_showpage,
            "tabs_order": TABS_ORDER,
            "parent_id": obj.parent_id,
            "restricted": False,
            "restricted_date": None,
            "commercial_from": stamp(obj.created_at, where) if obj.is_commercial else None,
            "banner": None,
            "banner_height": None,
            "banner_text": "",
            "banner_link": None,
            "style": "",
            "status": obj.status,
            "approved": False,
            "is_manager": is_manager,
            "is_volunteer": False,
            "is_commercial": obj.is_commercial,
            "can_join": False,
            "can_apply": True,
            "last_payer_changed_at": None,
        },
    )


def space_tool(obj: SpaceTool, where: Zone) -> bytes:
    """A space tool."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "space_id": obj.space_id,
            "active": obj.active,
            "url": None,
            "number": obj.number,
            "tool_id": obj.tool_id,
            "type": obj.type,
            "created_at": stamp(obj.created_at, where),
            "team_permissions": 2,
            "watcher_permissions": 1,
            "public_permissions": 0,
            "parent_id": None,
            "menu_name": obj.menu_name,
            "name": obj.name,
        },
    )


def user_role(obj: UserRole, where: Zone) -> bytes:
    """A membership row."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "user_id": obj.user_id,
            "space_id": obj.space_id,
            "role": obj.role,
            "status": obj.status,
            "invited_time": stamp(obj.invited_time, where),
            "agreed_time": stamp(obj.agreed_time, where),
            "title": obj.title,
            "invited_by_id": obj.invited_by_id,
        },
    )


def milestone(obj: Milestone, where: Zone) -> bytes:
    """A milestone (dates as ``YYYY-MM-DD``)."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "due_date": day(obj.due_date),
            "title": obj.title,
            "user_id": obj.user_id,
            "created_at": stamp(obj.created_at, where),
            "created_by": obj.created_by,
            "space_id": obj.space_id,
            "description": obj.description,
            "is_completed": obj.is_completed,
            "completed_date": day(obj.completed_date),
            "updated_at": stamp(obj.updated_at, where),
            "updated_by": obj.updated_by,
            "release_level": obj.release_level,
            "release_notes": obj.release_notes,
            "planner_type": obj.planner_type,
            "pretty_release_level": RELEASE_LEVELS.get(obj.release_level, "None"),
            "start_date": day(obj.start_date),
            "budget": obj.budget,
        },
    )


def ticket_status(obj: TicketStatus, where: Zone) -> bytes:
    """A ticket status."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "space_tool_id": obj.space_tool_id,
            "name": obj.name,
            "state": obj.state,
            "list_order": obj.list_order,
            "created_at": stamp(obj.created_at, where),
            "updated_at": stamp(obj.updated_at, where),
        },
    )


def custom_field(obj: CustomField, where: Zone) -> bytes:
    """A custom field definition; ``list_options`` is an array of strings."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "space_tool_id": obj.space_tool_id,
            "type": obj.type,
            "title": obj.title,
            "order": obj.order,
            "required": obj.required,
            "hide": obj.hide,
            "default_value": obj.default_value,
            "created_at": stamp(obj.created_at, where),
            "updated_at": stamp(obj.updated_at, where),
            "example_value": obj.example_value,
            "list_options": list(obj.list_options),
        },
    )


def ticket(obj: Ticket, where: Zone, field_generation: int, state: WorldState) -> bytes:
    """A ticket; ``custom_fields`` keyed by the fields' current titles."""

    def build() -> dict[str, Any]:
        assignee = state.users.get(obj.assigned_to_id) if obj.assigned_to_id else None
        return {
            "id": obj.id,
            "number": obj.number,
            "summary": obj.summary,
            "description": obj.description,
            "priority": obj.priority,
            "completed_date": stamp(obj.completed_date, where),
            "component_id": obj.component_id,
            "created_on": stamp(obj.created_on, where),
            "permission_type": obj.permission_type,
            "importance": obj.importance,
            "is_story": obj.is_story,
            "milestone_id": obj.milestone_id,
            "notification_list": obj.notification_list,
            "space_id": obj.space_id,
            "state": obj.state,
            "status": obj.status,
            "story_importance": obj.story_importance,
            "updated_at": stamp(obj.updated_at, where),
            "working_hours": obj.working_hours,
            "estimate": obj.estimate,
            "total_estimate": obj.total_estimate,
            "total_invested_hours": obj.total_invested_hours,
            "total_working_hours": obj.total_working_hours,
            "assigned_to_id": obj.assigned_to_id,
            "reporter_id": obj.reporter_id,
            "custom_fields": obj.custom_fields,
            "hierarchy_type": obj.hierarchy_type,
            "is_support": obj.is_support,
            "due_date": day(obj.due_date),
            "assigned_to_name": assignee.name if assignee else None,
            "picture_url": assignee.picture if assignee and assignee.picture else None,
        }

    return cached(obj, (where.label, field_generation), build)


def comment(obj: Comment, where: Zone, state: WorldState) -> bytes:
    """A ticket comment."""

    def build() -> dict[str, Any]:
        author = state.users.get(obj.user_id)
        return {
            "id": obj.id,
            "comment": obj.comment,
            "ticket_id": obj.ticket_id,
            "user_id": obj.user_id,
            "created_on": stamp(obj.created_on, where),
            "updated_at": stamp(obj.updated_at, where),
            "ticket_changes": obj.ticket_changes,
            "user_name": author.name if author else None,
            "user_avatar_url": author.picture if author else None,
        }

    return cached(obj, where.label, build)


def task(obj: Task, where: Zone) -> bytes:
    """A task (time entry); ``hours`` is a decimal string."""
    return cached(
        obj,
        where.label,
        lambda: {
            "id": obj.id,
            "description": obj.description,
            "url": obj.url,
            "hours": str(obj.hours),
            "begin_at": stamp(obj.begin_at, where),
            "end_at": stamp(obj.end_at, where),
            "billed": obj.billed,
            "space_id": obj.space_id,
            "ticket_number": obj.ticket_number,
            "ticket_id": obj.ticket_id,
            "user_id": obj.user_id,
            "job_agreement_id": obj.job_agreement_id,
            "created_at": stamp(obj.created_at, where),
            "updated_at": stamp(obj.updated_at, where),
        },
    )


def event(obj: Event, where: Zone) -> bytes:
    """An activity event; ticket and comment events carry a ``ticket`` summary."""

    def build() -> dict[str, Any]:
        body: dict[str, Any] = {
            "date": stamp(obj.date, where),
            "operation": obj.operation,
            "object": obj.object,
            "object_id": obj.object_id,
            "url": obj.url,
            "title": obj.title,
            "space_id": obj.space_id,
            "space_name": obj.space_name,
            "author_id": obj.author_id,
            "author_name": obj.author_name,
            "whatchanged": obj.whatchanged,
            "comment_or_description": obj.comment_or_description,
        }
        if obj.ticket is not None:
            body["ticket"] = {
                "id": obj.ticket.id,
                "number": obj.ticket.number,
                "summary": obj.ticket.summary,
                "operation": obj.ticket.operation,
            }
        return body

    return cached(obj, where.label, build)


# --- legacy XML --------------------------------------------------------------------------


def _xml_text(tag: str, value: str | None, attrs: str = "") -> str:
    if value is None:
        return f'    <{tag}{attrs} nil="true"/>'
    return f"    <{tag}{attrs}>{escape(value)}</{tag}>"


def time_logs_xml(logs: list[TimeLog], where: Zone) -> bytes:
    """The legacy ``<time-logs type="array">`` document."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    if not logs:
        lines.append('<time-logs type="array"/>')
    else:
        lines.append('<time-logs type="array">')
        for log in logs:
            lines += [
                "  <time-log>",
                _xml_text("created-at", stamp(log.created_at, where), ' type="datetime"'),
                _xml_text("description", log.description),
                _xml_text("id", str(log.id), ' type="integer"'),
                _xml_text("is-timeout", "true" if log.is_timeout else "false", ' type="boolean"'),
                _xml_text("screenshot", None, ' type="binary" encoding="base64"'),
                _xml_text("space-id", log.space_id),
                _xml_text("task-id", str(log.task_id), ' type="integer"'),
                _xml_text("user-id", log.user_id),
                "  </time-log>",
            ]
        lines.append("</time-logs>")
    return ("\n".join(lines) + "\n").encode("utf-8")
