"""Every resource the mirror syncs, declared once (see :mod:`.declare` for the vocabulary).

The engine runs each stream through the runner of its listing kind, in this
order within a phase; the dry-run plan asks the same declarations what a run
would cost; ``--only`` takes their names. The account itself (the caller and
its spaces) is the first step of every run (:mod:`.account`), not a stream.

Adding a resource is a declaration here, plus its tests: its listing kind
brings resume, top-up, reconciliation and verification with it.
"""

from __future__ import annotations

from assembla_mirror.errors import ConfigError
from assembla_mirror.model import convert as n
from assembla_mirror.model.convert import Row
from assembla_mirror.store.runs import SWITCH_KEYS
from assembla_mirror.sync import history, lists, tasks, tickets
from assembla_mirror.sync.context import SyncContext
from assembla_mirror.sync.declare import (
    DatedNewestFirst,
    Download,
    LinkWalk,
    NewestFirst,
    Parent,
    PerItem,
    Stream,
    WholeList,
)
from assembla_mirror.sync.fills import Item, items_of


def every_ticket(_ctx: SyncContext, parent: Stream, rows: list[Row]) -> list[Item]:
    """Every ticket written: adding a comment bumps its ticket, so changed ones may have one."""
    return items_of(parent, rows)


STREAMS: dict[str, Stream] = {
    stream.name: stream
    for stream in (
        Stream("events", n.EVENTS, Parent.ACCOUNT, DatedNewestFirst("/v1/activity")),
        Stream("users", n.USERS, Parent.SPACE, WholeList("{space}/users", keeps_missing=True)),
        Stream("user_roles", n.USER_ROLES, Parent.SPACE, WholeList("{space}/user_roles")),
        Stream(
            "ticket_statuses",
            n.TICKET_STATUSES,
            Parent.SPACE,
            WholeList(
                "{space}/tickets/statuses", needs_ticket_tool=True, after=lists.forget_statuses
            ),
        ),
        Stream(
            "custom_fields",
            n.CUSTOM_FIELDS,
            Parent.SPACE,
            WholeList(
                "{space}/tickets/custom_fields",
                needs_ticket_tool=True,
                prune=lists.drop_removed_custom_fields,
                after=lists.relink_custom_fields,
            ),
        ),
        Stream("milestones", n.MILESTONES, Parent.SPACE, WholeList("{space}/milestones/all")),
        Stream("tags", n.TAGS, Parent.SPACE, WholeList("{space}/tags")),
        Stream(
            "tickets",
            n.TICKETS,
            Parent.SPACE,
            NewestFirst(
                "/v1/spaces/{space}/tickets",
                tickets.WALK_PARAMS,
                hinted_by_activity=True,
                # Tagging a ticket or linking it bumps it with no activity event: polled.
                unhinted_for=("ticket_tags", "associations"),
                needs_ticket_tool=True,
                context=tickets.field_ids,
                write=tickets.write_page,
                verify=tickets.verify_job,
            ),
        ),
        Stream(
            "comments",
            n.TICKET_COMMENTS,
            Parent.TICKET,
            PerItem(
                "/v1/spaces/{space}/tickets/{number}/ticket_comments",
                select=every_ticket,
                written=history.record_comments,
            ),
        ),
        Stream(
            "ticket_tags",
            n.TICKET_REFS,
            Parent.SPACE,
            LinkWalk(
                "/v1/spaces/{space}/tags/{id}/tickets",
                items="tags",
                changed_by="tickets",
                per_parent="/v1/spaces/{space}/tickets/{number}/tags",
            ),
        ),
        Stream(
            "associations",
            n.TICKET_ASSOCIATIONS,
            Parent.TICKET,
            PerItem(
                "/v1/spaces/{space}/tickets/{number}/ticket_associations",
                select=every_ticket,
                # Listed under both of its tickets: a child of each.
                parent_columns=("ticket1_id", "ticket2_id"),
            ),
        ),
        Stream(
            "attachments",
            n.ATTACHMENTS,
            Parent.SPACE,
            NewestFirst(
                "/v1/spaces/{space}/documents",
                {"sort_by": "updated_at", "sort_order": "desc"},
                hinted_by_activity=False,
                polled=True,
                tool_optional=True,
            ),
        ),
        Stream(
            "tasks",
            n.TASKS,
            Parent.SPACE,
            NewestFirst(
                "/v1/tasks",
                tasks.WALK_PARAMS,
                hinted_by_activity=False,
                shared_across_spaces=True,
                scope_params=tasks.scope_params,
                verify=tasks.verify_job,
            ),
        ),
        Stream(
            "time_logs",
            n.TIME_LOGS,
            Parent.TASK,
            PerItem("/user/time_entries/{id}/time_logs", select=tasks.callers_tasks, legacy=True),
        ),
        Stream(
            "files",
            n.ATTACHMENTS,
            Parent.SPACE,
            Download("/v1/spaces/{space}/documents/{id}/download"),
        ),
    )
}

#: Streams mirrored only when switched on (``--with NAME``, remembered), by the
#: ``mirror_meta`` key remembering it.
OPTIONAL = SWITCH_KEYS

#: The per-space configuration lists, refreshed before the walks that need them.
LISTS = tuple(name for name, stream in STREAMS.items() if isinstance(stream.listing, WholeList))

#: What ``--only`` accepts: every stream, in the order a sync fetches them. Spaces are
#: always listed (everything hangs off them) and the caller is always checked.
RESOURCES = tuple(STREAMS)
#: Other names ``--only`` understands.
ALIASES = {
    "members": ("users", "user_roles"),
    "activity": ("events",),
    "statuses": ("ticket_statuses",),
    "documents": ("attachments",),
    "links": ("associations",),
}


def parse_only(values: tuple[str, ...] | list[str]) -> frozenset[str] | None:
    """Parse ``--only`` values (comma-separated, repeatable, aliases allowed)."""
    names: set[str] = set()
    for value in values:
        for raw in value.split(","):
            name = raw.strip().lower().replace("-", "_")
            if not name:
                continue
            if name in ALIASES:
                names.update(ALIASES[name])
            elif name in RESOURCES:
                names.add(name)
            else:
                raise ConfigError(
                    f"unknown resource {raw.strip()!r} for --only; choose from "
                    + ", ".join((*RESOURCES, *ALIASES))
                )
    return frozenset(names) or None


def progress_unit(resource: str) -> str:
    """What a stream's progress counts: the parent items of a per-item stream (comments
    count tickets done), files for downloads, else the rows its pages held."""
    stream = STREAMS.get(resource)
    if stream is None:
        return "rows"
    if isinstance(stream.listing, PerItem):
        return "tickets" if stream.parent is Parent.TICKET else "tasks"
    if isinstance(stream.listing, Download):
        return "files"
    return "rows"
