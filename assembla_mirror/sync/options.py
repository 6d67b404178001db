"""What a sync is asked to do: :class:`SyncOptions` (the resource names are the streams')."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path


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
    #: The same for ticket associations (one request per ticket, like comments).
    with_associations: bool | None = None
    #: The same for downloading the attachments' bytes.
    with_files: bool | None = None
    #: Where downloaded files go; None: what the mirror remembers, else a folder beside a
    #: SQLite mirror (a PostgreSQL mirror needs one named once).
    files_dir: Path | None = None
    #: How far before a cursor an incremental walk re-reads (late or same-second updates).
    overlap: timedelta = timedelta(minutes=5)
    #: Refresh config lists (members, statuses, custom fields) at least this often.
    config_max_age: timedelta = timedelta(hours=24)
    #: Reconcile deletions (a full pass) at least this often.
    reconcile_every: timedelta = timedelta(days=7)
    #: Look for the changes no activity event announces (tags, ticket links, files) at
    #: least this often: a page of each space's tickets and of its files.
    poll_every: timedelta = timedelta(hours=1)
    #: Worker processes decoding ticket and task pages; None lets the sync choose
    #: (see :func:`assembla_mirror.sync.engine.decode_processes`), 0 decodes in-process.
    decode_processes: int | None = None

    def switch(self, resource: str) -> bool | None:
        """What this run asks of an optional stream: on, off, or None (as remembered)."""
        return {
            "comments": self.with_comments,
            "associations": self.with_associations,
            "files": self.with_files,
        }.get(resource)

    def wants(self, resource: str) -> bool:
        """Whether ``--only`` lets ``resource`` run."""
        return self.only is None or resource in self.only
