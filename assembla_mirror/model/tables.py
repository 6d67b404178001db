"""The mirror's schema as SQLAlchemy 2.x typed models: every table and column, once.

Table and column names follow Assembla's JSON field names; they are a public
interface people write SQL against. A table's docstring and each column's
description are what Datasette shows and the object API's records document;
each column also says where its value comes from (see :mod:`.declare`), which
is how a record becomes a row (:mod:`.convert`). The sync's own bookkeeping
tables are in :mod:`.bookkeeping`.

Each entity keeps the payload it was last fetched with in ``raw_json``. Foreign
keys are declared where the API nests one resource under another (a space's
tickets, a ticket's custom field values, a task's time logs) and cascade, so
removing a space or ticket removes what hangs off it. Cross references the API
does not nest (``assigned_to_id``, ``milestone_id``, a task's ``ticket_id``) are
indexed but not constrained: Assembla itself lets them dangle (a departed user,
a deleted milestone).

Deleted upstream means deleted here: rows disappear rather than carrying a
``deleted_at``. History is kept apart: the ``events`` table, and the changes of
tickets with the tickets deleted since they were mirrored (:mod:`.history`). Tags, files
and the links between tickets are in :mod:`.archive`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, MappedColumn

from assembla_mirror.model.archive import Attachment as Attachment
from assembla_mirror.model.archive import AttachmentFile as AttachmentFile
from assembla_mirror.model.archive import Tag as Tag
from assembla_mirror.model.archive import TicketAssociation as TicketAssociation
from assembla_mirror.model.archive import TicketTag as TicketTag

# Re-exported: the bookkeeping tables belong to the same metadata, and callers
# import Base (and with it every table) from here.
from assembla_mirror.model.bookkeeping import MirrorMeta as MirrorMeta
from assembla_mirror.model.bookkeeping import SearchPending as SearchPending
from assembla_mirror.model.bookkeeping import SyncRun as SyncRun
from assembla_mirror.model.bookkeeping import SyncState as SyncState
from assembla_mirror.model.declare import (
    INTEGER,
    declared_models,
    mirror_column,
    nested_in,
    payload_column,
    raw_json_column,
    supplied_column,
)
from assembla_mirror.model.declare import NAMING_CONVENTION as NAMING_CONVENTION
from assembla_mirror.model.declare import Base as Base
from assembla_mirror.model.history import DeletedTicket as DeletedTicket
from assembla_mirror.model.history import TicketChange as TicketChange
from assembla_mirror.model.values import (
    boolean,
    calendar_date,
    ident,
    integer,
    json_text,
    real,
    text,
    utc,
)

# Descriptions shared by the columns of that name in several tables.
SPACE_ID = "The space it belongs to (spaces.id)."
CREATED_AT = "When it was created in Assembla (UTC)."
UPDATED_AT = "When it was last changed in Assembla (UTC)."
SPACE_TOOL_ID = "The space tool (the ticket tool) it belongs to."


def arrival_ordered_id(description: str) -> MappedColumn[Any]:
    """The Assembla id as primary key of a large table, without making it the rowid.

    SQLite stores a table in rowid order, and a column declared exactly
    ``INTEGER PRIMARY KEY`` becomes the rowid. The API lists tickets, comments
    and time entries in another order (by update or begin time), so each ~1 KB
    row would land on a random page, and a page of a hundred dirties a hundred
    pages. Declared ``BIGINT``, the id is kept in its own small index and rows
    are appended in the order they arrive: 2.5x cheaper to write. (Columns
    referring to such an id stay ``INTEGER``: the same thing to SQLite.)
    """
    return payload_column(integer, description, BigInteger, primary_key=True, autoincrement=False)


class Space(Base):
    """A space (project) the caller belongs to."""

    __tablename__ = "spaces"

    id: Mapped[str] = payload_column(
        ident, "Assembla's id of the space (22 characters).", primary_key=True
    )
    name: Mapped[str] = payload_column(text, "The space's name.")
    wiki_name: Mapped[str | None] = payload_column(
        text, "The space's short name, as used in its URLs.", index=True
    )
    description: Mapped[str | None] = payload_column(text, "The space's description.", Text)
    status: Mapped[int | None] = payload_column(
        integer, "0 proposed, 1 active, 2 archived, 4 shared."
    )
    public_permissions: Mapped[int | None] = payload_column(
        integer, "What the public may do: 0 nothing, 1 view."
    )
    team_permissions: Mapped[int | None] = payload_column(
        integer, "What team members may do: 1 view, 2 edit, 3 all."
    )
    watcher_permissions: Mapped[int | None] = payload_column(
        integer, "What watchers may do: 1 view."
    )
    is_commercial: Mapped[bool | None] = payload_column(boolean, "A paid (commercial) space.")
    is_manager: Mapped[bool | None] = payload_column(
        boolean, "The mirrored account manages this space."
    )
    parent_id: Mapped[str | None] = payload_column(ident, "The parent space, for a sub-space.")
    default_showpage: Mapped[str | None] = payload_column(text, "The tab the space opens on.")
    created_at: Mapped[datetime | None] = payload_column(utc, CREATED_AT)
    updated_at: Mapped[datetime | None] = payload_column(utc, UPDATED_AT)
    has_ticket_tool: Mapped[bool | None] = mirror_column(
        "The space has a ticket tool (0: Assembla answered 404 'Tool not found')."
    )
    raw_json: Mapped[str] = raw_json_column()


class User(Base):
    """A user seen as a member of any mirrored space (kept after they leave)."""

    __tablename__ = "users"

    id: Mapped[str] = payload_column(ident, "Assembla's id of the user.", primary_key=True)
    login: Mapped[str | None] = payload_column(text, "The user's login.", index=True)
    name: Mapped[str | None] = payload_column(text, "The user's full name.")
    email: Mapped[str | None] = payload_column(text, "E-mail address, when the user shares it.")
    organization: Mapped[str | None] = payload_column(text, "Organization, when given.")
    phone: Mapped[str | None] = payload_column(text, "Phone number, when given.")
    picture: Mapped[str | None] = payload_column(text, "Avatar URL ('' when none).")
    raw_json: Mapped[str] = raw_json_column()


class UserRole(Base):
    """Membership of a space: role watcher/member/owner; status 1 invited, 2 accepted, 3 removed."""

    __tablename__ = "user_roles"

    id: Mapped[int] = payload_column(
        integer, "Assembla's id of the membership.", primary_key=True, autoincrement=False
    )
    space_id: Mapped[str] = payload_column(ident, SPACE_ID, nested_in("spaces.id"), index=True)
    user_id: Mapped[str] = payload_column(ident, "The member (users.id).", index=True)
    role: Mapped[str | None] = payload_column(text, "watcher, member or owner.")
    status: Mapped[int | None] = payload_column(integer, "1 invited, 2 accepted, 3 removed.")
    title: Mapped[str | None] = payload_column(text, "The member's title in the space.")
    invited_by_id: Mapped[str | None] = payload_column(ident, "Who invited the member (users.id).")
    invited_time: Mapped[datetime | None] = payload_column(
        utc, "When the member was invited (UTC)."
    )
    agreed_time: Mapped[datetime | None] = payload_column(utc, "When the member accepted (UTC).")
    raw_json: Mapped[str] = raw_json_column()


class Milestone(Base):
    """A milestone, completed or not (the mirror reads ``milestones/all``)."""

    __tablename__ = "milestones"
    __table_args__ = (Index(None, "space_id", "title"),)

    id: Mapped[int] = payload_column(
        integer, "Assembla's id of the milestone.", primary_key=True, autoincrement=False
    )
    # Unindexed on its own: the index on (space_id, title) leads with it.
    space_id: Mapped[str] = payload_column(ident, SPACE_ID, nested_in("spaces.id"))
    title: Mapped[str | None] = payload_column(text, "The milestone's title.")
    description: Mapped[str | None] = payload_column(text, "The milestone's description.", Text)
    is_completed: Mapped[bool | None] = payload_column(boolean, "The milestone is completed.")
    due_date: Mapped[date | None] = payload_column(calendar_date, "When it is due.")
    start_date: Mapped[date | None] = payload_column(calendar_date, "When work on it starts.")
    completed_date: Mapped[date | None] = payload_column(calendar_date, "When it was completed.")
    planner_type: Mapped[int | None] = payload_column(integer, "0 none, 1 backlog, 2 current.")
    release_level: Mapped[int | None] = payload_column(integer, "1 alpha, 2 beta, 3 stable.")
    pretty_release_level: Mapped[str | None] = payload_column(text, "The release level in words.")
    release_notes: Mapped[str | None] = payload_column(text, "Release notes.", Text)
    budget: Mapped[float | None] = payload_column(real, "Budget (Assembla's number, no unit).")
    user_id: Mapped[str | None] = payload_column(ident, "Who is responsible (users.id).")
    created_by: Mapped[str | None] = payload_column(ident, "Who created it (users.id).")
    updated_by: Mapped[str | None] = payload_column(ident, "Who changed it last (users.id).")
    created_at: Mapped[datetime | None] = payload_column(utc, CREATED_AT)
    updated_at: Mapped[datetime | None] = payload_column(utc, UPDATED_AT)
    raw_json: Mapped[str] = raw_json_column()


class TicketStatus(Base):
    """A ticket status of a space; ``state`` 1 open / 0 closed. Tickets refer to it by ``name``."""

    __tablename__ = "ticket_statuses"
    __table_args__ = (Index(None, "space_id", "name"),)

    id: Mapped[int] = payload_column(
        integer, "Assembla's id of the status.", primary_key=True, autoincrement=False
    )
    # Supplied: the payload names its space only by the space tool.
    space_id: Mapped[str] = supplied_column(SPACE_ID, nested_in("spaces.id"))
    name: Mapped[str] = payload_column(text, "The status name tickets carry in tickets.status.")
    state: Mapped[int | None] = payload_column(
        integer, "1 open, 0 closed: the state of tickets in this status."
    )
    list_order: Mapped[int | None] = payload_column(
        integer, "Position in the space's list of statuses."
    )
    space_tool_id: Mapped[str | None] = payload_column(ident, SPACE_TOOL_ID)
    created_at: Mapped[datetime | None] = payload_column(utc, CREATED_AT)
    updated_at: Mapped[datetime | None] = payload_column(utc, UPDATED_AT)
    raw_json: Mapped[str] = raw_json_column()


class CustomField(Base):
    """A ticket custom field of a space. Tickets key their values by its ``title``."""

    __tablename__ = "custom_fields"
    __table_args__ = (Index(None, "space_id", "title"),)

    id: Mapped[int] = payload_column(
        integer, "Assembla's id of the custom field.", primary_key=True, autoincrement=False
    )
    # Supplied: the payload names its space only by the space tool.
    space_id: Mapped[str] = supplied_column(SPACE_ID, nested_in("spaces.id"))
    title: Mapped[str] = payload_column(text, "The field's title; tickets key their values by it.")
    type: Mapped[str | None] = payload_column(text, "Text, Numeric, Team List, List or Date.")
    order: Mapped[int | None] = payload_column(integer, "Position among the space's custom fields.")
    required: Mapped[bool | None] = payload_column(boolean, "A value is required.")
    hide: Mapped[bool | None] = payload_column(boolean, "Hidden in Assembla's ticket form.")
    default_value: Mapped[str | None] = payload_column(json_text, "Default value.")
    example_value: Mapped[str | None] = payload_column(
        json_text, "Example value shown in Assembla."
    )
    list_options: Mapped[str | None] = payload_column(
        json_text, "For List fields: the allowed values (JSON array).", Text
    )
    space_tool_id: Mapped[str | None] = payload_column(ident, SPACE_TOOL_ID)
    created_at: Mapped[datetime | None] = payload_column(utc, CREATED_AT)
    updated_at: Mapped[datetime | None] = payload_column(utc, UPDATED_AT)
    raw_json: Mapped[str] = raw_json_column()


class Ticket(Base):
    """A ticket. ``status`` is the status name, ``state`` 1 open / 0 closed."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("space_id", "number"),
        Index(None, "space_id", "state", "status"),
    )

    id: Mapped[int] = arrival_ordered_id(
        "Assembla's global id of the ticket (tasks and comments refer to it)."
    )
    # Unindexed on its own: the unique (space_id, number) leads with it.
    space_id: Mapped[str] = payload_column(ident, SPACE_ID, nested_in("spaces.id"))
    number: Mapped[int] = payload_column(integer, "The ticket number within its space (#12).")
    summary: Mapped[str | None] = payload_column(text, "One-line summary.")
    description: Mapped[str | None] = payload_column(
        text, "Full description (Markdown or Textile).", Text
    )
    status: Mapped[str | None] = payload_column(text, "Status name (ticket_statuses.name).")
    state: Mapped[int | None] = payload_column(integer, "1 open, 0 closed.")
    priority: Mapped[int | None] = payload_column(
        integer, "1 highest, 2 high, 3 normal, 4 low, 5 lowest."
    )
    importance: Mapped[float | None] = payload_column(
        real, "Planner ordering (new tickets get -1)."
    )
    is_story: Mapped[bool | None] = payload_column(boolean, "The ticket is a story.")
    story_importance: Mapped[int | None] = payload_column(
        integer, "Story size: 0 none, 1 small, 4 medium, 7 large."
    )
    hierarchy_type: Mapped[int | None] = payload_column(
        integer, "0 none, 1 subtask, 2 story, 3 epic."
    )
    permission_type: Mapped[int | None] = payload_column(
        integer, "0 development ticket, 1 private support, 2 public support."
    )
    milestone_id: Mapped[int | None] = payload_column(
        integer,
        "The milestone (milestones.id); may name one no longer in the mirror.",
        index=True,
    )
    component_id: Mapped[int | None] = payload_column(
        integer, "Component, where the space uses them."
    )
    assigned_to_id: Mapped[str | None] = payload_column(
        ident, "Assignee (users.id); null when unassigned.", index=True
    )
    assigned_to_name: Mapped[str | None] = payload_column(
        text, "Assignee's name as Assembla sent it."
    )
    reporter_id: Mapped[str | None] = payload_column(
        ident, "Who reported it (users.id).", index=True
    )
    notification_list: Mapped[str | None] = payload_column(
        text, "Users notified of changes (comma-separated users.id).", Text
    )
    estimate: Mapped[float | None] = payload_column(
        real, "Estimate (hours or points, per the space's setting)."
    )
    total_estimate: Mapped[float | None] = payload_column(real, "Estimate including subtasks.")
    working_hours: Mapped[float | None] = payload_column(real, "Remaining working hours.")
    total_working_hours: Mapped[float | None] = payload_column(
        real, "Remaining working hours including subtasks."
    )
    total_invested_hours: Mapped[float | None] = payload_column(
        real, "Hours invested, as Assembla totals them."
    )
    is_support: Mapped[bool | None] = payload_column(boolean, "A support ticket.")
    picture_url: Mapped[str | None] = payload_column(text, "Picture of the reporter.")
    due_date: Mapped[date | None] = payload_column(calendar_date, "When it is due.")
    completed_date: Mapped[datetime | None] = payload_column(
        utc, "When it entered a closed status (UTC)."
    )
    created_on: Mapped[datetime | None] = payload_column(
        utc, "When it was created (UTC).", index=True
    )
    updated_at: Mapped[datetime | None] = payload_column(utc, UPDATED_AT, index=True)
    raw_json: Mapped[str] = raw_json_column()


class TicketCustomField(Base):
    """One custom field value of one ticket (the normalized form of ``custom_fields``)."""

    __tablename__ = "ticket_custom_fields"
    # Clustered on its key: one B-tree to write per value instead of two.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012

    # Every column is supplied: convert.ticket_custom_field_rows builds these
    # rows from a ticket's custom_fields object, in this order.
    ticket_id: Mapped[int] = supplied_column(
        "The ticket (tickets.id).", INTEGER, nested_in("tickets.id"), primary_key=True
    )
    title: Mapped[str] = supplied_column(
        "The custom field's title, as the ticket keys it.", primary_key=True
    )
    custom_field_id: Mapped[int | None] = supplied_column(
        "The custom field (custom_fields.id); null if the mirror knows none of the space's "
        "custom fields by this title.",
        nested_in("custom_fields.id"),
        index=True,
    )
    value: Mapped[str | None] = supplied_column(
        "The value as text (a user id for Team List fields).", Text
    )


class TicketComment(Base):
    """A ticket comment (mirrored with ``--with comments``)."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = arrival_ordered_id("Assembla's id of the comment.")
    ticket_id: Mapped[int] = payload_column(
        integer, "The ticket (tickets.id).", INTEGER, nested_in("tickets.id"), index=True
    )
    # Supplied: the comment's payload does not name its space.
    space_id: Mapped[str | None] = supplied_column(SPACE_ID, index=True)
    user_id: Mapped[str | None] = payload_column(ident, "The author (users.id).", index=True)
    user_name: Mapped[str | None] = payload_column(text, "The author's name as Assembla sent it.")
    comment: Mapped[str | None] = payload_column(
        text, "The comment text ('' for change-only entries).", Text
    )
    ticket_changes: Mapped[str | None] = payload_column(
        text, "The changes made with the comment (YAML text).", Text
    )
    created_on: Mapped[datetime | None] = payload_column(utc, "When it was written (UTC).")
    updated_at: Mapped[datetime | None] = payload_column(utc, UPDATED_AT)
    raw_json: Mapped[str] = raw_json_column()


class Task(Base):
    """A time entry: ``hours`` spent by ``user_id`` in a space, maybe on a ticket (global id)."""

    __tablename__ = "tasks"

    id: Mapped[int] = arrival_ordered_id("Assembla's id of the time entry.")
    space_id: Mapped[str] = payload_column(ident, SPACE_ID, nested_in("spaces.id"), index=True)
    user_id: Mapped[str | None] = payload_column(
        ident, "Who logged the time (users.id).", index=True
    )
    ticket_id: Mapped[int | None] = payload_column(
        integer, "The ticket worked on (tickets.id), if any.", index=True
    )
    ticket_number: Mapped[int | None] = payload_column(
        integer, "That ticket's number in its space."
    )
    hours: Mapped[float | None] = payload_column(real, "Hours spent.")
    begin_at: Mapped[datetime | None] = payload_column(
        utc, "When the work began (UTC).", index=True
    )
    end_at: Mapped[datetime | None] = payload_column(utc, "When the work ended (UTC).")
    description: Mapped[str | None] = payload_column(text, "What was done.", Text)
    url: Mapped[str | None] = payload_column(text, "A link given with the entry.")
    billed: Mapped[bool | None] = payload_column(boolean, "Already billed.")
    job_agreement_id: Mapped[int | None] = payload_column(
        integer, "The job agreement it is billed under."
    )
    created_at: Mapped[datetime | None] = payload_column(utc, CREATED_AT)
    updated_at: Mapped[datetime | None] = payload_column(utc, UPDATED_AT, index=True)
    raw_json: Mapped[str] = raw_json_column()


class TimeLog(Base):
    """A time log of one of the caller's tasks (legacy XML API; ``raw_json`` holds its fields)."""

    __tablename__ = "time_logs"

    id: Mapped[int] = arrival_ordered_id("Id of the time log (legacy API).")
    task_id: Mapped[int] = payload_column(
        integer, "The time entry (tasks.id).", INTEGER, nested_in("tasks.id"), index=True
    )
    space_id: Mapped[str | None] = payload_column(ident, SPACE_ID)
    user_id: Mapped[str | None] = payload_column(ident, "Who logged it (users.id).")
    description: Mapped[str | None] = payload_column(text, "What was done.", Text)
    is_timeout: Mapped[bool | None] = payload_column(boolean, "Closed by Assembla's timer timeout.")
    created_at: Mapped[datetime | None] = payload_column(utc, "When it was logged (UTC).")
    raw_json: Mapped[str] = raw_json_column()


class Event(Base):
    """An activity-stream event. Assembla serves 60 days; the mirror keeps every event it saw."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "object", "object_id"),)

    # Supplied by convert.event_row: a digest of the event plus its occurrence
    # number among identical events, stable across overlapping fetches.
    id: Mapped[str] = supplied_column(
        "Digest of the event (events carry no id) plus its repeat count.", primary_key=True
    )
    date: Mapped[datetime] = payload_column(utc, "When it happened (UTC).", index=True)
    space_id: Mapped[str | None] = payload_column(ident, SPACE_ID, index=True)
    space_name: Mapped[str | None] = payload_column(text, "The space's name.")
    object: Mapped[str | None] = payload_column(
        text, "What it happened to: Ticket, Ticket Comment, Milestone, User ..."
    )
    object_id: Mapped[str | None] = payload_column(
        text, "The object's id (a number or a 22-character id)."
    )
    operation: Mapped[str | None] = payload_column(text, "created, updated, deleted, commented ...")
    title: Mapped[str | None] = payload_column(text, "The object's title (a ticket's summary).")
    url: Mapped[str | None] = payload_column(text, "Link to the object in Assembla.")
    author_id: Mapped[str | None] = payload_column(ident, "Who did it (users.id).", index=True)
    author_name: Mapped[str | None] = payload_column(text, "Their name.")
    # Supplied by convert.event_row from the payload's nested ``ticket`` object.
    ticket_id: Mapped[int | None] = supplied_column("The ticket, for ticket events (tickets.id).")
    ticket_number: Mapped[int | None] = supplied_column("That ticket's number in its space.")
    whatchanged: Mapped[str | None] = payload_column(json_text, "Which fields changed.", Text)
    comment_or_description: Mapped[str | None] = payload_column(
        text, "The comment, or the start of the description (Assembla cuts it).", Text
    )
    raw_json: Mapped[str] = raw_json_column()


#: The account's data: two mirrors of one account hold exactly these rows.
ENTITY_TABLES = (
    "spaces",
    "users",
    "user_roles",
    "milestones",
    "ticket_statuses",
    "custom_fields",
    "tickets",
    "ticket_custom_fields",
    "ticket_comments",
    "tasks",
    "time_logs",
    "tags",
    "ticket_tags",
    "attachments",
    "ticket_associations",
)
#: What the mirror keeps of tickets' pasts (see :mod:`.history`).
HISTORY_TABLES = ("ticket_changes", "deleted_tickets")
#: What ``--with files`` downloaded (the bytes live in the files folder; see :mod:`.archive`).
FILE_TABLES = ("attachment_files",)
#: Every mirrored table: the data, the activity events as far back as ever fetched, the
#: tickets' history, and the files downloaded.
TABLES = (*ENTITY_TABLES, "events", *HISTORY_TABLES, *FILE_TABLES)

#: Every model (the bookkeeping tables' too) by table name, in table order.
MODELS = declared_models()
