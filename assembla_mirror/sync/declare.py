"""The vocabulary of stream declarations: what a resource is, for the sync.

A :class:`Stream` says where a resource is listed, under which parent, how, and
into which table. Its *listing kind* decides everything else, once for every
resource of that kind:

* :class:`WholeList`: small lists (members, statuses, milestones) fetched whole
  when due; what the list lacks is deleted at once.
* :class:`NewestFirst`: large lists sorted by ``updated_at``, walked newest first
  down to the cursor, page by page with a checkpoint; resumed where a run
  stopped and topped up afterwards; reconciled by a full walk whose unseen rows
  are verified before they are deleted (:mod:`.walks`).
* :class:`DatedNewestFirst`: the activity stream, bounded by dates rather than
  pages (:mod:`.activity`).
* :class:`PerItem`: one request per parent item (a ticket's comments, a task's
  time logs), for new or changed parents, and all of them on a first fill or a
  reconciliation, checkpointed by the id done through (:mod:`.fills`).
* :class:`LinkWalk`: a link table walked per item of a space's list (for each
  tag, the tickets carrying it), in the spaces whose tickets changed, and in
  every space on a first fill or a reconciliation (:mod:`.links`).
* :class:`Download`: the bytes of each file the mirror lists, downloaded to the
  files folder when new or changed (:mod:`.downloads`).

What differs between two resources of one kind is data here, or a hook: a
function the runner calls at a fixed point, given the run's context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from assembla_mirror.model.convert import Row, TableSpec
from assembla_mirror.pages.rows import Rows

if TYPE_CHECKING:
    from assembla_mirror.sync.context import SyncContext
    from assembla_mirror.sync.pipeline import FetchJob


class Parent(Enum):
    """What a resource hangs off, and so what one listing of it covers."""

    ACCOUNT = "account"
    SPACE = "space"
    TICKET = "ticket"
    TASK = "task"


#: After a whole list of a space was applied: (context, connection, space id, ids listed).
ListHook = Callable[["SyncContext", Connection, str, set[Any]], None]
#: A walk's page written: (context, connection, scope, rows) -> the rows it wrote.
PageWriter = Callable[["SyncContext", Connection, "Scope", Rows], list[Row]]
#: The decode context of a scope's pages (plain data: it may travel to a worker process).
DecodeContext = Callable[["SyncContext", Connection, "Scope"], Any]
#: Extra query parameters of a scope: (context, connection, space ids).
ScopeParams = Callable[["SyncContext", Connection, list[str]], dict[str, Any]]
#: A job confirming rows a reconciliation did not see: (context, conn, space, ids).
Verifier = Callable[["SyncContext", Connection, str, list[Any]], "FetchJob"]
#: The items of a parent's written rows whose children to fetch: (context, parent, rows).
ChildFilter = Callable[["SyncContext", "Stream", list[Row]], list[Any]]
#: After a job's children were written: (context, connection, the rows written).
ChildrenWritten = Callable[["SyncContext", Connection, list[Row]], None]


@dataclass(frozen=True)
class WholeList:
    """Fetched whole when due; upstream's removals are applied at once."""

    path: str  # under /v1/spaces/{space}/
    #: Answered "404 Tool not found" by a space without the ticket tool (an empty list;
    #: any list so answered is empty, and this one also records the tool as missing).
    needs_ticket_tool: bool = False
    #: Rows the list no longer names are kept (users stay after leaving a space).
    keeps_missing: bool = False
    #: Called before the rows the list no longer names are deleted (they are still there).
    prune: ListHook | None = None
    #: Called once the list is applied (renames, ownership).
    after: ListHook | None = None


@dataclass(frozen=True)
class NewestFirst:
    """Walked newest first by ``updated_at`` down to a cursor, checkpointed per page."""

    path: str  # with {space} for a walk per space
    params: Mapping[str, Any]
    #: Walked only when the activity stream marked it (tickets); else every run (tasks).
    hinted_by_activity: bool
    #: Nothing announces its changes (the files of a space): walked whenever the poll is
    #: due (``SyncOptions.poll_every``) rather than every run.
    polled: bool = False
    #: Streams whose changes bump this one's ``updated_at`` with no activity event (a tag
    #: added to a ticket): while one of them is mirrored, the walk is polled too.
    unhinted_for: tuple[str, ...] = ()
    #: One walk may cover several spaces at once (``spaces[]``) once each was walked whole.
    shared_across_spaces: bool = False
    needs_ticket_tool: bool = False
    #: Answered "404 Tool not found" by a space without some other tool (the files tool).
    tool_optional: bool = False
    #: Decode context of a scope's pages (tickets: the space's custom field ids).
    context: DecodeContext | None = None
    #: Query parameters of a scope beyond ``params`` (tasks: ``spaces[]``, ``users[]``).
    scope_params: ScopeParams | None = None
    #: Writes a page; by default the rows of the scope's spaces are upserted.
    write: PageWriter | None = None
    #: Confirms unseen rows before they are deleted; None deletes them within the allowance.
    verify: Verifier | None = None


@dataclass(frozen=True)
class DatedNewestFirst:
    """Walked newest first between dates, checkpointed by the oldest date stored."""

    path: str


@dataclass(frozen=True)
class PerItem:
    """One request per parent item."""

    path: str  # with the parent's fields: {space}, {number}, {id}
    #: The parent table's rows (as the parent walk wrote them) whose children to fetch.
    select: ChildFilter
    legacy: bool = False  # on the legacy XML host
    #: Called with the children a job wrote (new or changed), in its transaction.
    written: ChildrenWritten | None = None
    #: The children's columns naming their parent, when not the parent's usual one (an
    #: association is a child of both its tickets).
    parent_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class LinkWalk:
    """Links walked per item of a space's list: each tag's tickets, one paged walk a tag."""

    path: str  # with {space} and {id}: the item's list
    #: The table of the items walked (their ids are ``{id}``).
    items: str
    #: The parent walk whose changes may change links (tagging bumps a ticket).
    changed_by: str
    #: One parent's links, unpaged, with {space} and {number}: cheaper than walking every
    #: item when only a few parents changed.
    per_parent: str


@dataclass(frozen=True)
class Download:
    """The bytes of each listed file, downloaded when new or changed."""

    path: str  # with {space} and {id}


Listing = WholeList | NewestFirst | DatedNewestFirst | PerItem | LinkWalk | Download


@dataclass(frozen=True)
class Stream:
    """One resource: its name (as ``--only`` and ``sync_state`` say it), its table (whose
    spec also says how an answer becomes rows: :mod:`assembla_mirror.pages.decode`), its
    parent, and how it is listed."""

    name: str
    spec: TableSpec
    parent: Parent
    listing: Listing


@dataclass
class Scope:
    """What one walk covers: the spaces, the checkpoint row it keeps its place in."""

    stream: Stream
    #: The ``sync_state`` space of the checkpoint: a space, or "" for a shared walk.
    state_space: str
    spaces: list[str]
    #: Filled by the walker: the query and the decode context of its pages.
    params: dict[str, Any] = field(default_factory=dict)
    context: Any = None

    @property
    def shared(self) -> bool:
        """Whether one walk covers several spaces (its checkpoint is the account's)."""
        return self.state_space == ""
