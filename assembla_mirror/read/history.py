"""Records of tickets' history in the offline object API: changes, stays, deleted tickets.

    ticket = Mirror("assembla.db").space(name="Big Project").ticket(number=301)
    for change in ticket.history():
        print(change.changed_at, change.field, change.old_value, "->", change.new_value)
    for stay in ticket.status_intervals():
        print(stay.status, stay.started_at, stay.hours)

A :class:`Change` is a row of ``ticket_changes`` (fields from the model, as
every record's); a :class:`StatusInterval` a row of the
``ticket_status_intervals`` view, typed; a :class:`DeletedTicket` a ticket
deleted upstream after the mirror copied it, whose history is kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assembla_mirror.model.columns import UTC_FORMAT
from assembla_mirror.model.history import DeletedTicket as DeletedTicketModel
from assembla_mirror.model.history import TicketChange
from assembla_mirror.read.records import Comment, Record, Space, Ticket, User


class Change(Record, model=TicketChange):
    """One changed field of a ticket, with who changed it and when.

    Values are text as recorded: status names as they were then, user ids,
    milestone ids (``"123"``), ``None`` for no value. ``source`` says where the
    mirror learnt of it: ``comment`` (a change comment, with its author),
    ``mirror`` (seen by a sync, author unknown) or ``inferred``.
    """

    def _label(self) -> str:
        return f"{self._data.get('changed_at')} {self._data.get('field')}"

    def ticket(self) -> Ticket | None:
        """The ticket changed (None once it is deleted: see ``Mirror.deleted_tickets``)."""
        return self._mirror._get(Ticket, self.ticket_id)

    def user(self) -> User | None:
        """Who made the change, when known."""
        return None if self.user_id is None else self._mirror.user(id=self.user_id)

    def comment(self) -> Record | None:
        """The change comment it was read from (``source`` comment)."""
        return None if self.comment_id is None else self._mirror._get(Comment, self.comment_id)


@dataclass(frozen=True)
class StatusInterval:
    """A stay of a ticket in one status, from ``started_at`` until ``ended_at``.

    ``stay`` counts the ticket's stays from 1; ``state`` is the status's (1 open,
    0 closed); the current stay of a live ticket has ``ended_at`` and ``hours``
    None; a deleted ticket's last stay ends when it was found deleted.
    """

    ticket_id: int
    stay: int
    status: str
    state: int | None
    started_at: datetime
    ended_at: datetime | None
    hours: float | None
    deleted: bool

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> StatusInterval:
        """From a row (ticket_id, stay, status, state, started_at, ended_at, hours, deleted)."""
        ticket_id, stay, status, state, started, ended, hours, deleted = row
        return cls(
            int(ticket_id),
            int(stay),
            str(status),
            None if state is None else int(state),
            _utc(started),
            None if ended is None else _utc(ended),
            None if hours is None else float(hours),
            bool(deleted),
        )


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.strptime(str(value), UTC_FORMAT).replace(tzinfo=UTC)


class DeletedTicket(Record, model=DeletedTicketModel):
    """A ticket deleted in Assembla after the mirror copied it; its history is kept."""

    def _label(self) -> str:
        return f"#{self._data.get('number')} - {self._data.get('summary')} (deleted)"

    @property
    def raw(self) -> Any:
        """The ticket as Assembla last sent it (``last_record_json`` parsed)."""
        text = self._data.get("last_record_json")
        return json.loads(text) if text else None

    def space(self) -> Space | None:
        """The space it belonged to."""
        return self._mirror.space(id=self.space_id)

    def history(self) -> list[Change]:
        """Its recorded changes, oldest first."""
        return self._mirror._history(self.id)

    def status_intervals(self) -> list[StatusInterval]:
        """Its stays in each status, the last ending when it was found deleted."""
        return self._mirror._stays(self.id)
