"""What a sync is asked to do: :class:`SyncOptions` and the resource names it accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from assembla_mirror.errors import ConfigError

#: Resources ``--only`` accepts, in the order a sync fetches them. Spaces are
#: always listed (everything hangs off them) and the caller is always checked.
RESOURCES = (
    "events",
    "users",
    "user_roles",
    "ticket_statuses",
    "custom_fields",
    "milestones",
    "tickets",
    "comments",
    "tasks",
    "time_logs",
)
CONFIG_RESOURCES = ("users", "user_roles", "ticket_statuses", "custom_fields", "milestones")
ALIASES = {
    "members": ("users", "user_roles"),
    "activity": ("events",),
    "statuses": ("ticket_statuses",),
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


@dataclass(frozen=True)
class SyncOptions:
    """Options of one sync run. The defaults are what ``mirror sync`` does."""

    #: The mirror's database: a file path (taken literally) or a ``sqlite:///`` URL.
    db_path: str | Path = Path("assembla.db")
    #: Spaces to sync (name, wiki_name or id); empty means every space of the caller.
    spaces: tuple[str, ...] = ()
    #: Resources to sync; None means all (comments only when enabled).
    only: frozenset[str] | None = None
    #: Refetch everything and reconcile deletions, ignoring cursors.
    full: bool = False
    #: Print the plan without writing anything.
    dry_run: bool = False
    #: Turn comment mirroring on (True) or off (False); None keeps what the database remembers.
    with_comments: bool | None = None
    #: How far before a cursor an incremental walk re-reads (late or same-second updates).
    overlap: timedelta = timedelta(minutes=5)
    #: Refresh config lists (members, statuses, custom fields) at least this often.
    config_max_age: timedelta = timedelta(hours=24)
    #: Reconcile deletions (a full pass) at least this often.
    reconcile_every: timedelta = timedelta(days=7)
    #: Worker processes decoding ticket and task pages; None lets the sync choose
    #: (see :func:`assembla_mirror.sync.engine.decode_processes`), 0 decodes in-process.
    decode_processes: int | None = None

    def wants(self, resource: str) -> bool:
        """Whether ``--only`` lets ``resource`` run."""
        return self.only is None or resource in self.only
