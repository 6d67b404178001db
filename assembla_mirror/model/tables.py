"""The mirror's schema as SQLAlchemy 2.x typed models.

Table and column names follow Assembla's JSON field names; they are a public
interface people write SQL against. Each entity keeps the payload it was last
fetched with in ``raw_json``. Foreign keys are declared where the API nests one
resource under another (a space's tickets, a ticket's custom field values, a
task's time logs) and cascade, so removing a space or ticket removes what hangs
off it. Cross references the API does not nest (``assigned_to_id``,
``milestone_id``, a task's ``ticket_id``) are indexed but not constrained:
Assembla itself lets them dangle (a departed user, a deleted milestone).

Deleted upstream means deleted here: rows disappear rather than carrying a
``deleted_at``; the ``events`` table keeps the history.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from assembla_mirror.model.columns import ISODate, UTCDateTime

# Deterministic constraint names: SQLite batch migrations can only drop or
# alter a constraint Alembic can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        date: ISODate(),
        str: String(),
    }


def space_fk(*, indexed: bool = True) -> Mapped[str]:
    """The nesting foreign key to a space; unindexed where a composite index leads with it."""
    return mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=indexed)


def arrival_ordered_id() -> Mapped[int]:
    """The Assembla id as primary key of a large table, without making it the rowid.

    SQLite stores a table in rowid order, and a column declared exactly
    ``INTEGER PRIMARY KEY`` becomes the rowid. The API lists tickets, comments
    and time entries in another order (by update or begin time), so each ~1 KB
    row would land on a random page, and a page of a hundred dirties a hundred
    pages. Declared ``BIGINT``, the id is kept in its own small index and rows
    are appended in the order they arrive: 2.5x cheaper to write. (Columns
    referring to such an id stay ``INTEGER``: the same thing to SQLite.)
    """
    return mapped_column(BigInteger, primary_key=True, autoincrement=False)


class Space(Base):
    """A space (project) the caller belongs to."""

    __tablename__ = "spaces"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    wiki_name: Mapped[str | None] = mapped_column(index=True)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None]
    public_permissions: Mapped[int | None]
    team_permissions: Mapped[int | None]
    watcher_permissions: Mapped[int | None]
    is_commercial: Mapped[bool | None]
    is_manager: Mapped[bool | None]
    parent_id: Mapped[str | None]
    default_showpage: Mapped[str | None]
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    # False when the space has no ticket tool (Assembla answers 404 "Tool not found").
    has_ticket_tool: Mapped[bool | None]
    raw_json: Mapped[str] = mapped_column(Text)


class User(Base):
    """A user seen as a member of any mirrored space (kept after they leave)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(primary_key=True)
    login: Mapped[str | None] = mapped_column(index=True)
    name: Mapped[str | None]
    email: Mapped[str | None]
    organization: Mapped[str | None]
    phone: Mapped[str | None]
    picture: Mapped[str | None]
    raw_json: Mapped[str] = mapped_column(Text)


class UserRole(Base):
    """Membership of a space: role watcher/member/owner; status 1 invited, 2 accepted, 3 removed."""

    __tablename__ = "user_roles"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    space_id: Mapped[str] = space_fk()
    user_id: Mapped[str] = mapped_column(index=True)
    role: Mapped[str | None]
    status: Mapped[int | None]
    title: Mapped[str | None]
    invited_by_id: Mapped[str | None]
    invited_time: Mapped[datetime | None]
    agreed_time: Mapped[datetime | None]
    raw_json: Mapped[str] = mapped_column(Text)


class Milestone(Base):
    """A milestone, completed or not (the mirror reads ``milestones/all``)."""

    __tablename__ = "milestones"
    __table_args__ = (Index(None, "space_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    space_id: Mapped[str] = space_fk(indexed=False)
    title: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    is_completed: Mapped[bool | None]
    due_date: Mapped[date | None]
    start_date: Mapped[date | None]
    completed_date: Mapped[date | None]
    planner_type: Mapped[int | None]
    release_level: Mapped[int | None]
    pretty_release_level: Mapped[str | None]
    release_notes: Mapped[str | None] = mapped_column(Text)
    budget: Mapped[float | None]
    user_id: Mapped[str | None]
    created_by: Mapped[str | None]
    updated_by: Mapped[str | None]
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    raw_json: Mapped[str] = mapped_column(Text)


class TicketStatus(Base):
    """A ticket status of a space; ``state`` 1 open / 0 closed. Tickets refer to it by ``name``."""

    __tablename__ = "ticket_statuses"
    __table_args__ = (Index(None, "space_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    space_id: Mapped[str] = space_fk(indexed=False)
    name: Mapped[str]
    state: Mapped[int | None]
    list_order: Mapped[int | None]
    space_tool_id: Mapped[str | None]
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    raw_json: Mapped[str] = mapped_column(Text)


class CustomField(Base):
    """A ticket custom field of a space. Tickets key their values by its ``title``."""

    __tablename__ = "custom_fields"
    __table_args__ = (Index(None, "space_id", "title"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    space_id: Mapped[str] = space_fk(indexed=False)
    title: Mapped[str]
    type: Mapped[str | None]
    order: Mapped[int | None]
    required: Mapped[bool | None]
    hide: Mapped[bool | None]
    default_value: Mapped[str | None]
    example_value: Mapped[str | None]
    # JSON array text of the allowed values for "List" fields.
    list_options: Mapped[str | None] = mapped_column(Text)
    space_tool_id: Mapped[str | None]
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    raw_json: Mapped[str] = mapped_column(Text)


class Ticket(Base):
    """A ticket. ``status`` is the status name, ``state`` 1 open / 0 closed."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("space_id", "number"),
        Index(None, "space_id", "state", "status"),
    )

    id: Mapped[int] = arrival_ordered_id()
    space_id: Mapped[str] = space_fk(indexed=False)
    number: Mapped[int]
    summary: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None]
    state: Mapped[int | None]
    priority: Mapped[int | None]
    importance: Mapped[float | None]
    is_story: Mapped[bool | None]
    story_importance: Mapped[int | None]
    hierarchy_type: Mapped[int | None]
    permission_type: Mapped[int | None]
    milestone_id: Mapped[int | None] = mapped_column(index=True)
    component_id: Mapped[int | None]
    assigned_to_id: Mapped[str | None] = mapped_column(index=True)
    assigned_to_name: Mapped[str | None]
    reporter_id: Mapped[str | None] = mapped_column(index=True)
    notification_list: Mapped[str | None] = mapped_column(Text)
    estimate: Mapped[float | None]
    total_estimate: Mapped[float | None]
    working_hours: Mapped[float | None]
    total_working_hours: Mapped[float | None]
    total_invested_hours: Mapped[float | None]
    is_support: Mapped[bool | None]
    picture_url: Mapped[str | None]
    due_date: Mapped[date | None]
    completed_date: Mapped[datetime | None]
    created_on: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime | None] = mapped_column(index=True)
    raw_json: Mapped[str] = mapped_column(Text)


class TicketCustomField(Base):
    """One custom field value of one ticket (the normalized form of ``custom_fields``)."""

    __tablename__ = "ticket_custom_fields"
    # Clustered on its key: one B-tree to write per value instead of two.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012

    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str] = mapped_column(primary_key=True)
    # Null when the title matches no custom field of the space the mirror knows.
    custom_field_id: Mapped[int | None] = mapped_column(
        ForeignKey("custom_fields.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str | None] = mapped_column(Text)


class TicketComment(Base):
    """A ticket comment (mirrored with ``--with comments``)."""

    __tablename__ = "ticket_comments"

    id: Mapped[int] = arrival_ordered_id()
    ticket_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    space_id: Mapped[str | None] = mapped_column(index=True)
    user_id: Mapped[str | None] = mapped_column(index=True)
    user_name: Mapped[str | None]
    comment: Mapped[str | None] = mapped_column(Text)
    ticket_changes: Mapped[str | None] = mapped_column(Text)
    created_on: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    raw_json: Mapped[str] = mapped_column(Text)


class Task(Base):
    """A time entry: ``hours`` spent by ``user_id`` in a space, maybe on a ticket (global id)."""

    __tablename__ = "tasks"

    id: Mapped[int] = arrival_ordered_id()
    space_id: Mapped[str] = space_fk()
    user_id: Mapped[str | None] = mapped_column(index=True)
    ticket_id: Mapped[int | None] = mapped_column(index=True)
    ticket_number: Mapped[int | None]
    hours: Mapped[float | None]
    begin_at: Mapped[datetime | None] = mapped_column(index=True)
    end_at: Mapped[datetime | None]
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None]
    billed: Mapped[bool | None]
    job_agreement_id: Mapped[int | None]
    created_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None] = mapped_column(index=True)
    raw_json: Mapped[str] = mapped_column(Text)


class TimeLog(Base):
    """A time log of one of the caller's tasks (legacy XML API; ``raw_json`` holds its fields)."""

    __tablename__ = "time_logs"

    id: Mapped[int] = arrival_ordered_id()
    task_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("tasks.id", ondelete="CASCADE"), index=True
    )
    space_id: Mapped[str | None]
    user_id: Mapped[str | None]
    description: Mapped[str | None] = mapped_column(Text)
    is_timeout: Mapped[bool | None]
    created_at: Mapped[datetime | None]
    raw_json: Mapped[str] = mapped_column(Text)


class Event(Base):
    """An activity-stream event. Assembla serves 60 days; the mirror keeps every event it saw."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "object", "object_id"),)

    # Events carry no id: this key is a digest of the event plus its occurrence
    # number among identical events, stable across overlapping fetches.
    id: Mapped[str] = mapped_column(primary_key=True)
    date: Mapped[datetime] = mapped_column(index=True)
    space_id: Mapped[str | None] = mapped_column(index=True)
    space_name: Mapped[str | None]
    object: Mapped[str | None]
    object_id: Mapped[str | None]
    operation: Mapped[str | None]
    title: Mapped[str | None]
    url: Mapped[str | None]
    author_id: Mapped[str | None] = mapped_column(index=True)
    author_name: Mapped[str | None]
    ticket_id: Mapped[int | None]
    ticket_number: Mapped[int | None]
    whatchanged: Mapped[str | None] = mapped_column(Text)
    comment_or_description: Mapped[str | None] = mapped_column(Text)
    raw_json: Mapped[str] = mapped_column(Text)


class SyncState(Base):
    """Where each resource of each space stands: cursor, pending work, reconciliation time."""

    __tablename__ = "sync_state"

    resource: Mapped[str] = mapped_column(primary_key=True)
    # '' for account-wide resources (spaces, activity, the task walk).
    space_id: Mapped[str] = mapped_column(primary_key=True)
    # Highest ``updated_at`` (UTC text) up to which the resource is complete.
    cursor: Mapped[str | None]
    # True when activity showed a change the resource has not fetched yet.
    dirty: Mapped[bool] = mapped_column(default=False)
    # A walk in progress: the next page to fetch and the cursor it will set.
    walk_page: Mapped[int | None]
    walk_top: Mapped[str | None]
    # A date-bounded walk in progress (the activity stream): the oldest date it stored.
    walk_bottom: Mapped[str | None]
    synced_at: Mapped[datetime | None]
    reconciled_at: Mapped[datetime | None]


class SyncRun(Base):
    """One ``mirror sync``: when, how it ended, requests made and rows changed per table."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    # running, success, failed, interrupted
    outcome: Mapped[str]
    mode: Mapped[str]
    requests: Mapped[int] = mapped_column(default=0)
    # JSON: {"tickets": {"inserted": n, "updated": n, "deleted": n}, ...}
    rows_json: Mapped[str] = mapped_column(Text, default="{}")
    # JSON: the options the run was started with (never credentials).
    options_json: Mapped[str] = mapped_column(Text, default="{}")
    warnings_json: Mapped[str] = mapped_column(Text, default="[]")
    error: Mapped[str | None] = mapped_column(Text)


class SearchPending(Base):
    """Rows whose full-text entry is still to be written (see :mod:`assembla_mirror.store.search`).

    The sync queues every ticket and comment it inserts here, and triggers every
    one edited, in the writing transaction; the sync indexes the queue in one
    pass at its end, which is many times cheaper than indexing page by page.
    """

    __tablename__ = "search_pending"

    # "tickets" or "ticket_comments"
    source: Mapped[str] = mapped_column(primary_key=True)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class MirrorMeta(Base):
    """Key/value facts about the mirror: whose account, remembered options (e.g. comments)."""

    __tablename__ = "mirror_meta"

    key: Mapped[str] = mapped_column(primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)


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
)
#: Every mirrored table: the data, and the activity events as far back as ever fetched.
TABLES = (*ENTITY_TABLES, "events")
