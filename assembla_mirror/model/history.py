"""How tickets moved: every recorded change, and the tickets deleted since they were mirrored.

``ticket_changes`` holds one row per changed field, from three sources:

* ``comment``: read from a change comment's ``ticket_changes`` YAML (with
  ``--with comments``), with who made the change and when;
* ``mirror``: seen by the mirror itself, when a sync finds a ticket's tracked
  field different from the stored row (at the ticket's new ``updated_at``; who
  made it is unknown);
* ``inferred``: a status change closing the gap between the last recorded
  status and the ticket's current one (at its ``updated_at``).

Comments are the authority: once a ticket's comments are mirrored, the changes
they record replace what the mirror saw or inferred up to the newest of them.

These rows are history, not a copy of something Assembla lists: they have no
foreign key, so deleting a ticket (or its comments) keeps them, and
``deleted_tickets`` keeps what the mirror last knew of the ticket itself. Import
the tables from :mod:`.tables`, which holds them all.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Text
from sqlalchemy.orm import Mapped

from assembla_mirror.model.declare import Base, mirror_column

#: The ``source`` of a change: read from a comment, seen by the mirror, inferred.
COMMENT, MIRROR, INFERRED = "comment", "mirror", "inferred"
#: Ticket columns whose changes the mirror records itself (custom fields too, by title).
TRACKED_FIELDS = (
    "status",
    "assigned_to_id",
    "milestone_id",
    "priority",
    "estimate",
    "summary",
)


class TicketChange(Base):
    """One changed field of a ticket: from a change comment, seen by a sync, or inferred."""

    __tablename__ = "ticket_changes"
    __table_args__ = (Index(None, "ticket_id", "field", "changed_at"),)

    id: Mapped[int] = mirror_column(
        "Row number, in the order the mirror recorded changes.", primary_key=True
    )
    ticket_id: Mapped[int] = mirror_column(
        "The ticket (tickets.id, or deleted_tickets.id once it is deleted)."
    )
    space_id: Mapped[str] = mirror_column("The space it belongs to (spaces.id).", index=True)
    changed_at: Mapped[datetime] = mirror_column("When the change was made (UTC).")
    user_id: Mapped[str | None] = mirror_column(
        "Who made it (users.id); null when the mirror saw or inferred it."
    )
    field: Mapped[str] = mirror_column(
        "The field: status, assigned_to_id, milestone_id, priority, estimate, summary, "
        "description, component_id, or a custom field's title at the time."
    )
    old_value: Mapped[str | None] = mirror_column(
        "The value before, as text exactly as recorded (a status name, a user id ...).", Text
    )
    new_value: Mapped[str | None] = mirror_column("The value after, as text.", Text)
    source: Mapped[str] = mirror_column(
        "comment (a change comment), mirror (seen by a sync) or inferred (closes a gap "
        "to the current status)."
    )
    comment_id: Mapped[int | None] = mirror_column(
        "The change comment (ticket_comments.id) it was read from.", BigInteger, index=True
    )


class DeletedTicket(Base):
    """A ticket deleted in Assembla after it was mirrored: what the mirror last knew of it."""

    __tablename__ = "deleted_tickets"

    id: Mapped[int] = mirror_column(
        "Assembla's global id of the ticket.", BigInteger, primary_key=True, autoincrement=False
    )
    space_id: Mapped[str] = mirror_column("The space it belonged to (spaces.id).", index=True)
    number: Mapped[int] = mirror_column("Its number within its space (never reused).")
    summary: Mapped[str | None] = mirror_column("Its summary when last mirrored.")
    status: Mapped[str | None] = mirror_column("Its status when last mirrored.")
    state: Mapped[int | None] = mirror_column("Its state when last mirrored: 1 open, 0 closed.")
    milestone_id: Mapped[int | None] = mirror_column("Its milestone when last mirrored.")
    created_on: Mapped[datetime | None] = mirror_column("When it was created (UTC).")
    updated_at: Mapped[datetime | None] = mirror_column("When it was last changed (UTC).")
    deleted_at: Mapped[datetime] = mirror_column(
        "When the mirror found it deleted (UTC): the deletion happened before."
    )
    last_record_json: Mapped[str] = mirror_column(
        "Its record as Assembla last sent it (JSON), for the archive.", Text
    )
