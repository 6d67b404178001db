"""The plain data a simulated account consists of, with its indexes and lookups.

:class:`WorldState` is filled by the generator and changed by
:class:`~assembla_mirror.simulator.world.World`, which guards it with a lock;
nothing here locks. Integer ids come from per-kind counters so they are never
reused; ticket numbers from a per-space counter, so deleted tickets leave gaps.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from assembla_mirror.simulator.entities import (
    Comment,
    CustomField,
    Event,
    Milestone,
    Space,
    SpaceTool,
    Task,
    Ticket,
    TicketStatus,
    TimeLog,
    User,
    UserRole,
)
from assembla_mirror.simulator.entities_archive import Association, Document, Tag

if TYPE_CHECKING:
    from assembla_mirror.simulator.history import Packed

T = TypeVar("T")

TICKET_TOOL = 13
FILES_TOOL = 18
#: First integer id handed out per kind (so ids of different kinds look different).
ID_BASES = {
    "ticket": 1001,
    "comment": 20001,
    "milestone": 301,
    "status": 241,
    "custom_field": 758801,
    "user_role": 31,
    "task": 2,
    "time_log": 1,
    "event": 1,
    "tag": 17,
    "association": 6,
}


@dataclass(slots=True)
class SpaceData:
    """Everything that belongs to one space."""

    space: Space
    tools: list[SpaceTool] = field(default_factory=list)
    roles: dict[str, UserRole] = field(default_factory=dict)
    milestones: dict[int, Milestone] = field(default_factory=dict)
    statuses: list[TicketStatus] = field(default_factory=list)
    fields: dict[int, CustomField] = field(default_factory=dict)
    titles: dict[int, str] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    next_number: int = 1
    #: bumped on every ticket change so cached ticket orders of this space go stale
    generation: int = 0
    #: bumped when a custom field is renamed or deleted (part of the render cache key)
    field_generation: int = 0
    tags: dict[int, Tag] = field(default_factory=dict)
    #: ticket id -> the ids of the tags it carries
    ticket_tags: dict[int, set[int]] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    #: ticket id -> the ids of the documents attached to it, oldest first
    ticket_documents: dict[int, list[str]] = field(default_factory=dict)
    #: bumped on every tag or document change so cached tag and document lists go stale
    archive_generation: int = 0

    @property
    def ticket_tool(self) -> SpaceTool | None:
        """The space's ticket tool, or None when the space has none."""
        return next((tool for tool in self.tools if tool.tool_id == TICKET_TOOL), None)

    @property
    def files_tool(self) -> SpaceTool | None:
        """The space's files tool (documents and attachments), or None."""
        return next((tool for tool in self.tools if tool.tool_id == FILES_TOOL), None)

    def status_state(self, name: str) -> int:
        """The state (1 open, 0 closed) of the status called ``name``; KeyError if unknown."""
        for status in self.statuses:
            if status.name == name:
                return status.state
        raise KeyError(f"no ticket status {name!r} in space {self.space.wiki_name!r}")


class OrderCache:
    """A small LRU of computed (filtered, sorted) lists keyed by query and data generation."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], list[T]]) -> list[T]:
        """The cached list for ``key``, computing and storing it on a miss."""
        found = self._items.pop(key, None)
        if found is None:
            found = compute()
            if len(self._items) >= self._size:
                del self._items[next(iter(self._items))]
        self._items[key] = found
        return found  # type: ignore[no-any-return]


@dataclass
class WorldState:
    """Indexes over every object of the account."""

    primary_user_id: str = ""
    users: dict[str, User] = field(default_factory=dict)
    spaces: dict[str, SpaceData] = field(default_factory=dict)
    tickets_by_id: dict[int, Ticket] = field(default_factory=dict)
    #: text comments per ticket id (change comments are made from ``history``)
    comments: dict[int, list[Comment]] = field(default_factory=dict)
    #: each ticket's changes, oldest first, packed (see :mod:`.history`)
    history: dict[int, Packed] = field(default_factory=dict)
    #: changes before this instant (epoch seconds) are written by the older libyaml
    yaml_upgrade: int = 0
    tasks: dict[int, Task] = field(default_factory=dict)
    time_logs: dict[int, list[TimeLog]] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    associations: dict[int, Association] = field(default_factory=dict)
    #: ticket id -> the ids of the associations it is one end of, oldest first
    ticket_associations: dict[int, list[int]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=lambda: dict(ID_BASES))
    task_generation: int = 0
    event_generation: int = 0
    orders: OrderCache = field(default_factory=OrderCache)
    #: tickets' comment lists, text and change comments merged (see history.comments_of)
    comment_lists: OrderCache = field(default_factory=lambda: OrderCache(256))

    def new_id(self, kind: str) -> int:
        """The next unused integer id of ``kind``."""
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    # --- lookups ------------------------------------------------------------------

    def space(self, ref: str) -> SpaceData | None:
        """A space by id or wiki_name."""
        found = self.spaces.get(ref)
        if found is not None:
            return found
        return next((data for data in self.spaces.values() if data.space.wiki_name == ref), None)

    def user(self, ref: str) -> User | None:
        """A user by id or login."""
        found = self.users.get(ref)
        if found is not None:
            return found
        return next((user for user in self.users.values() if user.login == ref), None)

    def role(self, user_id: str, space_id: str) -> str | None:
        """The user's role in the space, or None when not a member."""
        data = self.spaces.get(space_id)
        row = data.roles.get(user_id) if data is not None else None
        return row.role if row is not None else None

    def member_spaces(self, user_id: str) -> list[SpaceData]:
        """The spaces ``user_id`` belongs to, in creation order."""
        return [data for data in self.spaces.values() if user_id in data.roles]

    def ticket(self, space_ref: str, number: int) -> Ticket:
        """A ticket by space (id or wiki_name) and number; KeyError if there is none."""
        data = self.space(space_ref)
        if data is None or number not in data.tickets:
            raise KeyError(f"no ticket #{number} in space {space_ref!r}")
        return data.tickets[number]

    def document(self, doc_id: str) -> tuple[SpaceData, Document] | None:
        """A document of any space by id, with its space, or None."""
        for data in self.spaces.values():
            found = data.documents.get(doc_id)
            if found is not None:
                return data, found
        return None

    def require_space(self, ref: str) -> SpaceData:
        """A space by id or wiki_name; KeyError if there is none."""
        data = self.space(ref)
        if data is None:
            raise KeyError(f"no space {ref!r}")
        return data
