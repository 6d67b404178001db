"""The change API of :class:`~assembla_mirror.simulator.world.World` for tags, documents and
ticket associations (``api-contract.md``, "Tags, attachments, associations").

None of these changes emits an activity event (the contract promises none).
Tagging or untagging a ticket, attaching a file to it and adding or removing an
association bump ``updated_at`` of the ticket (of both tickets for an
association); creating, renaming or deleting a tag, a new version of a file and
deleting a file bump no ticket. Tags are named by id or name, documents by id,
associations by id. Deleting a ticket (:meth:`ArchiveChanges.delete_ticket`)
also drops its tags, its associations and the files attached to it.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from assembla_mirror.simulator import content, text
from assembla_mirror.simulator.changes import Changes, _check_fields
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.simulator.entities_archive import (
    RELATIONSHIPS,
    TAG_STATES,
    Association,
    Document,
    Tag,
    download_url,
)
from assembla_mirror.simulator.state import SpaceData

TAG_FIELDS = frozenset({"name", "state", "color"})
DOCUMENT_FIELDS = frozenset(
    {"name", "filename", "content_type", "filesize", "description", "cached_tag_list"}
)
#: Relationships Assembla stores the other way round: 6 (subtask) as 5 (story), 1 (child)
#: as 0 (parent), with the tickets swapped (assembla-api.md §7, TicketAssociation).
NORMALISED = {6: 5, 1: 0}


class ArchiveChanges(Changes):
    """Mixin of :class:`World` holding the archive's change methods (see the module docs)."""

    _rng: random.Random

    def _ticket_space(self, space: str) -> SpaceData:
        data = self.state.require_space(space)
        if data.ticket_tool is None:
            raise ValueError(f"space {space!r} has no ticket tool")
        return data

    # --- tags -----------------------------------------------------------------------------

    def _tag(self, data: SpaceData, tag: int | str) -> Tag:
        """A tag of the space by id or name; KeyError if there is none."""
        if isinstance(tag, int):
            if tag in data.tags:
                return data.tags[tag]
        else:
            for found in data.tags.values():
                if found.name == tag:
                    return found
        raise KeyError(f"no tag {tag!r} in space {data.space.wiki_name!r}")

    def add_tag(self, space: str, name: str, state: int = 2, color: str | None = None) -> Tag:
        """Create a tag (``state`` 1 proposed, 2 active, 4 hidden); names are unique."""
        with self.lock:
            data = self._ticket_space(space)
            if state not in TAG_STATES.values():
                raise ValueError(f"a tag's state is 1, 2 or 4, not {state!r}")
            if any(tag.name == name for tag in data.tags.values()):
                raise ValueError(f"space {space!r} already has a tag {name!r}")
            now = self.clock.now()
            tag = Tag(
                id=self.state.new_id("tag"),
                space_id=data.space.id,
                name=name,
                state=state,
                created_at=now,
                updated_at=now,
                color=color,
            )
            data.tags[tag.id] = tag
            data.archive_generation += 1
            return tag

    def update_tag(self, space: str, tag: int | str, **fields: Any) -> Tag:
        """Change a tag's ``name``, ``state`` or ``color`` (no ticket is bumped)."""
        with self.lock:
            data = self._ticket_space(space)
            found = self._tag(data, tag)
            _check_fields(fields, TAG_FIELDS, "a tag")
            if fields.get("state", found.state) not in TAG_STATES.values():
                raise ValueError(f"a tag's state is 1, 2 or 4, not {fields['state']!r}")
            for name, value in fields.items():
                setattr(found, name, value)
            found.updated_at, found.cache = self.clock.now(), None
            data.archive_generation += 1
            return found

    def delete_tag(self, space: str, tag: int | str) -> None:
        """Delete a tag; the tickets carrying it lose it without being bumped."""
        with self.lock:
            data = self._ticket_space(space)
            found = self._tag(data, tag)
            del data.tags[found.id]
            for ticket_id, carried in list(data.ticket_tags.items()):
                carried.discard(found.id)
                if not carried:
                    del data.ticket_tags[ticket_id]
            data.archive_generation += 1

    def tag_ticket(self, space: str, number: int, tag: int | str) -> Tag:
        """Tag a ticket (bumps its ``updated_at``; a tag it carries already changes nothing)."""
        with self.lock:
            data = self._ticket_space(space)
            ticket = self.state.ticket(space, number)
            found = self._tag(data, tag)
            carried = data.ticket_tags.setdefault(ticket.id, set())
            if found.id not in carried:
                carried.add(found.id)
                self._touch_ticket(data, ticket, self.clock.now())
                data.archive_generation += 1
            return found

    def untag_ticket(self, space: str, number: int, tag: int | str) -> None:
        """Remove a tag from a ticket (bumps its ``updated_at``); KeyError if it has not it."""
        with self.lock:
            data = self._ticket_space(space)
            ticket = self.state.ticket(space, number)
            found = self._tag(data, tag)
            carried = data.ticket_tags.get(ticket.id, set())
            if found.id not in carried:
                raise KeyError(f"ticket #{number} does not carry the tag {found.name!r}")
            carried.remove(found.id)
            if not carried:
                del data.ticket_tags[ticket.id]
            self._touch_ticket(data, ticket, self.clock.now())
            data.archive_generation += 1

    # --- documents -------------------------------------------------------------------------

    def _files_space(self, space: str) -> SpaceData:
        data = self.state.require_space(space)
        if data.files_tool is None:
            raise ValueError(f"space {space!r} has no files tool")
        return data

    def _document(self, data: SpaceData, doc_id: str) -> Document:
        found = data.documents.get(doc_id)
        if found is None:
            raise KeyError(f"no document {doc_id!r} in space {data.space.wiki_name!r}")
        return found

    def add_document(
        self,
        space: str,
        *,
        ticket_number: int | None = None,
        filename: str = "notes.txt",
        size: int = 1024,
        content_type: str | None = None,
        description: str | None = None,
        name: str | None = None,
        user_id: str | None = None,
    ) -> Document:
        """Add a file to the space, attached to ticket ``ticket_number`` when given (which
        bumps that ticket). ``content_type`` defaults to a guess from the extension; the
        file's ``size`` bytes are derived from its id and version (:mod:`.content`)."""
        if size < 0:
            raise ValueError("a file's size cannot be negative")
        with self.lock:
            data = self._files_space(space)
            ticket = self.state.ticket(space, ticket_number) if ticket_number is not None else None
            now, author = self.clock.now(), user_id or self.state.primary_user_id
            doc_id = text.string_id(self._rng)
            kind = content_type or content.guess_type(filename)
            document = Document(
                id=doc_id,
                space_id=data.space.id,
                name=name or filename,
                filename=filename,
                content_type=kind,
                filesize=size,
                version=1,
                created_by=author,
                updated_by=author,
                created_at=now,
                updated_at=now,
                url=download_url(data.space.id, doc_id),
                description=description,
                has_thumbnail=kind.startswith("image/") and kind != "image/svg+xml",
            )
            if ticket is not None:
                attached = data.ticket_documents.setdefault(ticket.id, [])
                document.position = len(attached)
                document.ticket_id = document.attachable_id = ticket.id
                document.attachable_type = "Ticket"
                attached.append(doc_id)
                self._touch_ticket(data, ticket, now)
            data.documents[doc_id] = document
            data.archive_generation += 1
            return document

    def update_document(
        self, space: str, doc_id: str, *, user_id: str | None = None, **fields: Any
    ) -> Document:
        """Upload a new version: ``version`` + 1, new content, ``updated_at`` now.

        ``fields`` may change ``name``, ``filename``, ``content_type``, ``filesize``,
        ``description`` and ``cached_tag_list``. No ticket is bumped.
        """
        with self.lock:
            data = self._files_space(space)
            document = self._document(data, doc_id)
            _check_fields(fields, DOCUMENT_FIELDS, "a document")
            for name, value in fields.items():
                setattr(document, name, value)
            document.version += 1
            document.updated_at = self.clock.now()
            document.updated_by = user_id or self.state.primary_user_id
            document.cache = None
            data.archive_generation += 1
            return document

    def delete_document(self, space: str, doc_id: str) -> None:
        """Delete a file: it leaves the documents list (no ticket bumped, no event)."""
        with self.lock:
            data = self._files_space(space)
            document = self._document(data, doc_id)
            self._forget_document(data, document)

    def _forget_document(self, data: SpaceData, document: Document) -> None:
        del data.documents[document.id]
        if document.ticket_id is not None:
            attached = data.ticket_documents.get(document.ticket_id, [])
            if document.id in attached:
                attached.remove(document.id)
            if not attached:
                data.ticket_documents.pop(document.ticket_id, None)
        data.archive_generation += 1

    # --- associations ------------------------------------------------------------------------

    def associate(
        self,
        space: str,
        number: int,
        other: int,
        relationship: int,
        *,
        by_id: bool = False,
        normalize: bool = True,
    ) -> Association:
        """Link ticket ``number`` (ticket1) to ``other`` (ticket2: a number of the same
        space, or with ``by_id`` any ticket's global id); both tickets are bumped.

        ``relationship`` says what ticket2 is to ticket1 (0 parent ... 8 block). Like
        Assembla, 6 (subtask) is stored as 5 (story) and 1 (child) as 0 (parent) with
        the tickets swapped, unless ``normalize`` is False (to serve the raw form).
        """
        if relationship not in RELATIONSHIPS:
            raise ValueError(f"relationship must be 0..8, not {relationship!r}")
        with self.lock:
            one = self.state.ticket(space, number)
            two = self.state.tickets_by_id[other] if by_id else self.state.ticket(space, other)
            if one is two:
                raise ValueError("a ticket cannot be associated with itself")
            if normalize and relationship in NORMALISED:
                one, two, relationship = two, one, NORMALISED[relationship]
            triple = (one.id, two.id, relationship)
            for aid in self.state.ticket_associations.get(one.id, ()):
                known = self.state.associations[aid]
                if (known.ticket1_id, known.ticket2_id, known.relationship) == triple:
                    raise ValueError(f"association {aid} links these tickets so already")
            now = self.clock.now()
            association = Association(
                id=self.state.new_id("association"),
                ticket1_id=one.id,
                ticket2_id=two.id,
                relationship=relationship,
                created_at=now,
            )
            self.state.associations[association.id] = association
            for ticket in (one, two):
                self.state.ticket_associations.setdefault(ticket.id, []).append(association.id)
                self._touch_ticket(self.state.spaces[ticket.space_id], ticket, now)
            return association

    def dissociate(self, association_id: int) -> None:
        """Remove an association; both its tickets are bumped."""
        with self.lock:
            if association_id not in self.state.associations:
                raise KeyError(f"no association {association_id}")
            self._drop_association(association_id, self.clock.now())

    def _drop_association(self, association_id: int, now: datetime) -> None:
        """Remove an association, bumping whichever of its tickets still exist."""
        association = self.state.associations.pop(association_id)
        for ticket_id in (association.ticket1_id, association.ticket2_id):
            ids = self.state.ticket_associations.get(ticket_id, [])
            if association_id in ids:
                ids.remove(association_id)
            if not ids:
                self.state.ticket_associations.pop(ticket_id, None)
            ticket: Ticket | None = self.state.tickets_by_id.get(ticket_id)
            if ticket is not None:
                self._touch_ticket(self.state.spaces[ticket.space_id], ticket, now)

    # --- tickets ----------------------------------------------------------------------------

    def delete_ticket(self, space: str, number: int) -> None:
        """Delete a ticket (see :meth:`Changes.delete_ticket`) and what hangs on it.

        Its tags go, its associations go (the other ticket of each is bumped, as when
        an association is removed), and so do the files attached to it: Assembla may
        keep such files in the space, the simulator chooses to delete them, so they
        leave the documents list as :meth:`delete_document` makes them.
        """
        with self.lock:
            data = self.state.require_space(space)
            ticket = self.state.ticket(space, number)
            super().delete_ticket(space, number)
            data.ticket_tags.pop(ticket.id, None)
            for doc_id in list(data.ticket_documents.get(ticket.id, ())):
                self._forget_document(data, data.documents[doc_id])
            now = self.clock.now()
            for association_id in list(self.state.ticket_associations.get(ticket.id, ())):
                self._drop_association(association_id, now)
            data.archive_generation += 1

    def _archive_record(self, kind: str, ref: Any) -> Any | None:
        """The record :meth:`World.corrupt` patches for ``tag`` (``ref`` = (space, tag id or
        name)), ``document`` (``ref`` = its id) and ``association`` (its id); else None."""
        if kind == "tag":
            return self._tag(self.state.require_space(ref[0]), ref[1])
        if kind == "document":
            located = self.state.document(ref)
            if located is None:
                raise KeyError(f"no document {ref!r}")
            return located[1]
        if kind == "association":
            return self.state.associations[ref]
        return None
