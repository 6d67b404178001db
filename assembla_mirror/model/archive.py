"""The rest of a space worth keeping: tags, files, and the links between tickets.

* ``tags`` and ``ticket_tags``: a space's tags (one walk of the space's tag
  list) and which ticket carries which (one walk per tag of the tickets
  carrying it, never one request per ticket);
* ``attachments``: the metadata of every file of a space (the paged documents
  list), with the ticket it is attached to; ``attachment_files`` records the
  bytes ``--with files`` downloaded, stored once per content (by SHA-256) in a
  folder beside the database;
* ``ticket_associations``: parent/child, story/subtask, related, duplicate,
  sibling, dependent and blocking links (``--with associations``: one request
  per ticket). Assembla lists an association under both of its tickets; the
  mirror keeps it once, by id.

Import the tables from :mod:`.tables`, which holds them all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Text
from sqlalchemy.orm import Mapped

from assembla_mirror.model.declare import (
    INTEGER,
    Base,
    mirror_column,
    nested_in,
    payload_column,
    raw_json_column,
    supplied_column,
)
from assembla_mirror.model.specs import RELATIONSHIPS as RELATIONSHIPS
from assembla_mirror.model.values import boolean, ident, integer, text, utc

SPACE_ID = "The space it belongs to (spaces.id)."


class Tag(Base):
    """A tag of a space; ``state`` 1 proposed, 2 active, 4 hidden."""

    __tablename__ = "tags"
    __table_args__ = (Index(None, "space_id", "name"),)

    id: Mapped[int] = payload_column(
        integer, "Assembla's id of the tag.", primary_key=True, autoincrement=False
    )
    # Unindexed on its own: the index on (space_id, name) leads with it.
    space_id: Mapped[str] = payload_column(ident, SPACE_ID, nested_in("spaces.id"))
    name: Mapped[str | None] = payload_column(text, "The tag's name.")
    state: Mapped[int | None] = payload_column(integer, "1 proposed, 2 active, 4 hidden.")
    color: Mapped[str | None] = payload_column(text, "The tag's colour, when it has one.")
    created_at: Mapped[datetime | None] = payload_column(utc, "When it was created (UTC).")
    updated_at: Mapped[datetime | None] = payload_column(utc, "When it was last changed (UTC).")
    raw_json: Mapped[str] = raw_json_column()


class TicketTag(Base):
    """Which ticket carries which tag (from each tag's list of tickets)."""

    __tablename__ = "ticket_tags"
    # Clustered on its key: one B-tree to write per link instead of two.
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012

    ticket_id: Mapped[int] = mirror_column(
        "The ticket (tickets.id).", INTEGER, nested_in("tickets.id"), primary_key=True
    )
    tag_id: Mapped[int] = mirror_column(
        "The tag (tags.id).", nested_in("tags.id"), primary_key=True, index=True
    )
    space_id: Mapped[str] = mirror_column(SPACE_ID, index=True)


class Attachment(Base):
    """A file of a space (Assembla's documents), maybe attached to a ticket."""

    __tablename__ = "attachments"

    id: Mapped[str] = payload_column(
        ident, "Assembla's id of the file (22 characters).", primary_key=True
    )
    space_id: Mapped[str] = payload_column(ident, SPACE_ID, nested_in("spaces.id"), index=True)
    ticket_id: Mapped[int | None] = payload_column(
        integer,
        "The ticket it is attached to (tickets.id); null for a file of the space.",
        index=True,
    )
    name: Mapped[str | None] = payload_column(text, "The file's name as shown in Assembla.")
    filename: Mapped[str | None] = payload_column(text, "The file's name when downloaded.")
    content_type: Mapped[str | None] = payload_column(text, "Its media type (image/png ...).")
    filesize: Mapped[int | None] = payload_column(integer, "Its size in bytes.", BigInteger)
    version: Mapped[int | None] = payload_column(integer, "Its version (1 for the first upload).")
    description: Mapped[str | None] = payload_column(text, "Its description.", Text)
    cached_tag_list: Mapped[str | None] = payload_column(text, "Its tags, comma-separated.")
    attachable_type: Mapped[str | None] = payload_column(
        text, "What it is attached to: Ticket, or another kind of Assembla object."
    )
    attachable_id: Mapped[int | None] = payload_column(
        integer, "The id of what it is attached to (a ticket's tickets.id)."
    )
    has_thumbnail: Mapped[bool | None] = payload_column(boolean, "Assembla made a thumbnail.")
    url: Mapped[str | None] = payload_column(text, "Where Assembla serves its bytes.")
    created_by: Mapped[str | None] = payload_column(ident, "Who uploaded it (users.id).")
    updated_by: Mapped[str | None] = payload_column(ident, "Who changed it last (users.id).")
    created_at: Mapped[datetime | None] = payload_column(utc, "When it was uploaded (UTC).")
    updated_at: Mapped[datetime | None] = payload_column(
        utc, "When it was last changed (UTC).", index=True
    )
    raw_json: Mapped[str] = raw_json_column()


class AttachmentFile(Base):
    """The bytes of a file, as ``--with files`` downloaded them: where they are, which version."""

    __tablename__ = "attachment_files"

    attachment_id: Mapped[str] = mirror_column(
        "The file (attachments.id).", nested_in("attachments.id"), primary_key=True
    )
    sha256: Mapped[str] = mirror_column(
        "SHA-256 of the bytes (hex); they are stored as files/<first 2>/<sha256>.", index=True
    )
    size: Mapped[int] = mirror_column("Bytes downloaded.", BigInteger)
    version: Mapped[int | None] = mirror_column("The file's version that was downloaded.")
    updated_at: Mapped[datetime | None] = mirror_column(
        "The file's updated_at when it was downloaded (UTC)."
    )
    downloaded_at: Mapped[datetime] = mirror_column("When the mirror downloaded it (UTC).")


class TicketAssociation(Base):
    """A link between two tickets: ticket2 is ticket1's ``relationship_name``."""

    __tablename__ = "ticket_associations"

    id: Mapped[int] = payload_column(
        integer, "Assembla's id of the association.", primary_key=True, autoincrement=False
    )
    ticket1_id: Mapped[int] = payload_column(
        integer, "One ticket (tickets.id).", BigInteger, index=True
    )
    ticket2_id: Mapped[int] = payload_column(
        integer, "The other ticket (tickets.id).", BigInteger, index=True
    )
    relationship: Mapped[int | None] = payload_column(
        integer,
        "What ticket2 is to ticket1: 0 parent, 1 child, 2 related, 3 duplicate, 4 sibling, "
        "5 story, 6 subtask, 7 dependent (ticket2 depends on ticket1), 8 block (ticket2 "
        "blocks ticket1).",
    )
    created_at: Mapped[datetime | None] = payload_column(utc, "When it was made (UTC).")
    # Supplied: derived from ``relationship`` by pages.rows (see specs.RELATIONSHIPS).
    relationship_name: Mapped[str | None] = supplied_column(
        "The relationship in words: parent, child, related, duplicate, sibling, story, "
        "subtask, dependent or block."
    )
    # Supplied: the payload names no space; that of the ticket it was listed under.
    space_id: Mapped[str | None] = supplied_column(SPACE_ID, index=True)
    raw_json: Mapped[str] = raw_json_column()
