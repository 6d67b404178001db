"""The objects the simulated Assembla account holds, as typed Python values.

Datetimes are aware UTC ``datetime``s with whole seconds, pure dates are
``datetime.date``, task hours are ``Decimal``. Every record carries a ``cache``
slot where :mod:`~assembla_mirror.simulator.render` keeps its last rendering;
the world clears it whenever the record changes. A ``patch`` slot holds bad
values a test asked the record to be served with (:meth:`World.corrupt`); a
:class:`RawJson` patch value is served verbatim, bypassing the JSON encoder.

Ticket custom field values are stored per custom-field id (``custom_values``)
next to a title map shared by all tickets of a space (``titles``), so renaming a
field is one assignment; :attr:`Ticket.custom_fields` gives the title-keyed view
the API serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

RenderCache = tuple[Any, bytes] | None
#: Fields served in place of the record's own (see World.corrupt); MISSING drops one.
Patch = dict[str, Any] | None


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


#: A patch value meaning "leave this field out of the payload".
MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class RawJson:
    """A patch value spliced into the record's JSON verbatim, as that field's value.

    It serves what the simulator's own encoder could not produce, e.g. an array
    nested 200,000 deep (``"[" * 200000 + "]" * 200000``) or bytes that are not
    UTF-8. Nothing checks that ``text`` is valid JSON; ``str`` goes out as UTF-8,
    ``bytes`` as they are.
    """

    text: str | bytes

    @property
    def data(self) -> bytes:
        """The bytes to serve."""
        return self.text if isinstance(self.text, bytes) else self.text.encode("utf-8")


@dataclass(slots=True, kw_only=True)
class User:
    """An Assembla user; ``time_zone`` is the offset label their datetimes render with."""

    id: str
    login: str
    name: str
    email: str
    picture: str = ""
    organization: str | None = None
    phone: str | None = None
    time_zone: str = "Z"
    api_key: str = field(default="", repr=False)
    api_secret: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class Space:
    """A space; ``time_zone`` None means datetimes follow the caller's setting."""

    id: str
    name: str
    wiki_name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    parent_id: str | None = None
    public_permissions: int = 0
    team_permissions: int = 2
    watcher_permissions: int = 1
    status: int = 1
    is_commercial: bool = True
    default_showpage: str = "Wiki"
    time_zone: str | None = None
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class SpaceTool:
    """A tool installed in a space (tickets, milestones, wiki, git, ...)."""

    id: str
    space_id: str
    tool_id: int
    type: str
    name: str
    menu_name: str
    number: int
    created_at: datetime
    active: bool = True
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class UserRole:
    """Membership of a user in a space: role watcher/member/owner, status 1 invited/2 accepted."""

    id: int
    space_id: str
    user_id: str
    role: str
    status: int
    invited_time: datetime
    agreed_time: datetime | None
    invited_by_id: str | None
    title: str | None = None
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class Milestone:
    """A milestone; completed ones have ``completed_date``."""

    id: int
    space_id: str
    title: str
    description: str | None
    due_date: date | None
    start_date: date | None
    completed_date: date | None
    is_completed: bool
    created_at: datetime
    updated_at: datetime
    created_by: str
    updated_by: str
    user_id: str | None = None
    planner_type: int = 0
    release_level: int | None = None
    release_notes: str | None = None
    budget: float | None = None
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class TicketStatus:
    """A ticket status of a space's ticket tool; ``state`` 1 open, 0 closed."""

    id: int
    space_id: str
    space_tool_id: str
    name: str
    state: int
    list_order: int
    created_at: datetime
    updated_at: datetime
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class CustomField:
    """A ticket custom field definition (Text, Numeric, List, Team List, Date)."""

    id: int
    space_id: str
    space_tool_id: str
    type: str
    title: str
    order: int | None
    created_at: datetime
    updated_at: datetime
    required: bool = False
    hide: bool = False
    default_value: str | None = None
    example_value: str | None = None
    list_options: list[str] = field(default_factory=list)
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class Ticket:
    """A ticket. ``id`` is global, ``number`` per space; ``status`` is the status name."""

    id: int
    space_id: str
    number: int
    summary: str
    description: str | None
    status: str
    state: int
    priority: int
    reporter_id: str
    created_on: datetime
    updated_at: datetime
    assigned_to_id: str | None = None
    milestone_id: int | None = None
    importance: float = -1.0
    is_story: bool = False
    story_importance: int = 0
    hierarchy_type: int = 0
    permission_type: int = 0
    component_id: int | None = None
    notification_list: str = ""
    estimate: float = 0.0
    total_estimate: float = 0.0
    working_hours: float = 0.0
    total_working_hours: float = 0.0
    total_invested_hours: float = 0.0
    is_support: bool = False
    due_date: date | None = None
    completed_date: datetime | None = None
    custom_values: dict[int, str] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict, compare=False, repr=False)
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)

    @property
    def custom_fields(self) -> dict[str, str]:
        """Custom field values keyed by the fields' current titles."""
        titles = self.titles
        return {titles[fid]: value for fid, value in self.custom_values.items() if fid in titles}


@dataclass(slots=True, kw_only=True)
class Comment:
    """A ticket comment; ``ticket_id`` is the ticket's global id."""

    id: int
    ticket_id: int
    space_id: str
    user_id: str
    comment: str | None
    created_on: datetime
    updated_at: datetime
    ticket_changes: str = "--- []\n"
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class Task:
    """A time entry; ``hours`` is rendered as a decimal string."""

    id: int
    space_id: str
    user_id: str
    description: str
    hours: Decimal
    begin_at: datetime
    end_at: datetime
    created_at: datetime
    updated_at: datetime
    url: str | None = None
    billed: bool = False
    ticket_id: int | None = None
    ticket_number: int | None = None
    job_agreement_id: int | None = None
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class TimeLog:
    """A legacy time log attached to a task (served as XML)."""

    id: int
    task_id: int
    space_id: str
    user_id: str
    description: str | None
    created_at: datetime
    is_timeout: bool = False


@dataclass(slots=True, kw_only=True)
class EventTicket:
    """The ticket summary an activity event about a ticket or comment carries."""

    id: int
    number: int
    summary: str
    operation: str


@dataclass(slots=True, kw_only=True)
class Event:
    """An activity stream event; ``seq`` orders events that share a second."""

    seq: int
    date: datetime
    space_id: str
    space_name: str
    object: str
    object_id: str
    operation: str
    title: str
    url: str
    author_id: str
    author_name: str
    whatchanged: str | None = None
    comment_or_description: str | None = None
    ticket: EventTicket | None = None
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)
