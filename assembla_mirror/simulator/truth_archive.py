"""The archive's part of a :class:`~assembla_mirror.simulator.truth.Truth`: tags, which tickets
carry them, documents and ticket associations, as one caller sees them.

Tags and their links come from the caller's spaces with a ticket tool, documents
from those with a files tool (in the documents list's default order: by
``created_at``, then id), associations from either end being a ticket the caller
sees (each once, by id). Records are copies; a document copy still gives its
bytes and their SHA-256 (:meth:`Document.content`, :attr:`Document.sha256`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from assembla_mirror.simulator.entities_archive import Association, Document, Tag
from assembla_mirror.simulator.state import SpaceData, WorldState


@dataclass
class ArchiveTruth:
    """The archive's lists for one caller (see the module docs)."""

    tags: list[Tag] = field(default_factory=list)
    #: ``(ticket_id, tag_id)`` for every tag a visible ticket carries
    ticket_tags: set[tuple[int, int]] = field(default_factory=set)
    documents: list[Document] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)


def build_archive(state: WorldState, mine: list[SpaceData]) -> ArchiveTruth:
    """The archive as the member of ``mine`` sees it (the caller holds the world's lock)."""
    found = ArchiveTruth()
    visible: set[int] = set()
    for data in mine:
        if data.ticket_tool is not None:
            found.tags += [copy.copy(t) for t in sorted(data.tags.values(), key=lambda t: t.id)]
            found.ticket_tags |= {
                (ticket_id, tag_id)
                for ticket_id, carried in data.ticket_tags.items()
                for tag_id in carried
            }
            visible.update(ticket.id for ticket in data.tickets.values())
        if data.files_tool is not None:
            ordered = sorted(data.documents.values(), key=lambda d: (d.created_at, d.id))
            found.documents += [copy.copy(d) for d in ordered]
    seen = {aid for tid in visible for aid in state.ticket_associations.get(tid, ())}
    found.associations = [copy.copy(state.associations[aid]) for aid in sorted(seen)]
    return found
