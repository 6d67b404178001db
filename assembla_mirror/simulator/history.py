"""Tickets' histories: every change as compact data, served as Assembla's change comments.

Each ticket's changes are kept oldest first in ``WorldState.history``, packed
into one flat tuple per ticket (:func:`pack`; :func:`changes_of` unpacks them
as :class:`Change` records): 100,000 tickets' histories would cost hundreds of
megabytes as :class:`~assembla_mirror.simulator.entities.Comment` objects, and
still a third more as a list of records each. The comments endpoint and the
truth see them as comments, made when asked (:func:`comments_of`) and kept in a
small cache; ``ticket_changes`` is written by :mod:`.ruby_yaml`, by the older
libyaml for changes made before ``WorldState.yaml_upgrade``, by the newer one
after.

Values are text as Assembla records them: status names, user ids, milestone ids
(``"301"``), priorities (``"3"``), estimates (``"8.0"``), custom field values
under the field's title at the time; None for no value. A ticket's creation
records nothing: its first status is the old value of its first status change.
:func:`change_ticket` is the one way a live change is made (and recorded).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

from assembla_mirror.simulator.entities import Comment, Ticket
from assembla_mirror.simulator.ruby_yaml import dump_changes
from assembla_mirror.simulator.state import SpaceData, WorldState

#: Ticket attributes a change comment records, in the order it lists them (after
#: ``status``, before the custom fields); derived totals and the watcher list are not.
RECORDED = (
    "summary", "description", "priority", "assigned_to_id", "milestone_id", "estimate",
    "component_id", "due_date", "is_story", "importance", "story_importance",
    "hierarchy_type", "permission_type", "is_support", "reporter_id",
)  # fmt: skip


class Change(NamedTuple):
    """One change comment: when (seconds since the epoch, UTC), its comment's id, who,
    the comment's text (None or ``""`` when it only records changes), and the changed
    fields as a flat ``(field, old, new, field, old, new, ...)`` tuple."""

    at: int
    comment_id: int
    user_id: str
    text: str | None
    fields: tuple[str | None, ...]

    @property
    def when(self) -> datetime:
        """The instant of the change (aware UTC)."""
        return datetime.fromtimestamp(self.at, UTC)

    def triples(self) -> Iterator[tuple[str, str | None, str | None]]:
        """The ``(field, old, new)`` triples, in the comment's order."""
        values = self.fields
        for index in range(0, len(values), 3):
            yield str(values[index]), values[index + 1], values[index + 2]

    def names(self) -> list[str]:
        """The changed fields' names (an activity event's ``whatchanged``)."""
        return [str(name) for name in self.fields[::3]]


#: One ticket's changes packed: per change its ``at``, ``comment_id``, ``user_id``,
#: ``text``, the number of changed fields, then their flat triples.
Packed = tuple[int | str | None, ...]
_HEAD = 5


def pack(changes: Iterable[Change]) -> Packed:
    """``changes`` as one flat tuple (see :data:`Packed`)."""
    flat: list[int | str | None] = []
    for change in changes:
        flat += (change.at, change.comment_id, change.user_id, change.text)
        flat.append(len(change.fields) // 3)
        flat += change.fields
    return tuple(flat)


def unpack(packed: Packed) -> list[Change]:
    """The :class:`Change` records of a packed history, oldest first."""
    changes, index, size = [], 0, len(packed)
    while index < size:
        start = index + _HEAD
        end = start + 3 * packed[index + 4]  # type: ignore[operator]
        changes.append(Change._make((*packed[index : start - 1], packed[start:end])))
        index = end
    return changes


def changes_of(state: WorldState, ticket_id: int) -> list[Change]:
    """A ticket's changes, oldest first (an empty list for none)."""
    packed = state.history.get(ticket_id)
    return unpack(packed) if packed else []


def epoch(moment: datetime) -> int:
    """Whole seconds since the epoch of an aware datetime."""
    return int(moment.timestamp())


def value_text(value: Any) -> str | None:
    """A ticket attribute's value as a change comment records it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def comment_of(state: WorldState, ticket: Ticket, change: Change) -> Comment:
    """The comment a change is served as."""
    when = change.when
    return Comment(
        id=change.comment_id,
        ticket_id=ticket.id,
        space_id=ticket.space_id,
        user_id=change.user_id,
        comment=change.text,
        created_on=when,
        updated_at=when,
        ticket_changes=dump_changes(change.triples(), change.at < state.yaml_upgrade),
    )


def comments_of(state: WorldState, ticket: Ticket) -> list[Comment]:
    """A ticket's comments, text and change comments together, oldest first.

    The list is cached until the ticket gets another comment: read it, never change it.
    """
    plain = state.comments.get(ticket.id, [])
    packed = state.history.get(ticket.id)
    if not packed:
        return plain
    key = (ticket.id, len(plain), len(packed))

    def merge() -> list[Comment]:
        made = [comment_of(state, ticket, change) for change in unpack(packed)]
        return sorted(plain + made, key=lambda c: (c.created_on, c.id))

    return state.comment_lists.get(key, merge)


def record(
    state: WorldState,
    ticket: Ticket,
    at: datetime,
    user_id: str,
    fields: tuple[str | None, ...],
    text: str | None = None,
) -> Change:
    """Add a change comment (a new comment id) to the end of ``ticket``'s history."""
    change = Change(epoch(at), state.new_id("comment"), user_id, text, fields)
    state.history[ticket.id] = state.history.get(ticket.id, ()) + pack([change])
    return change


def change_ticket(
    state: WorldState,
    data: SpaceData,
    ticket: Ticket,
    at: datetime,
    user_id: str,
    fields: dict[str, Any],
    custom: dict[int, str] | None = None,
    text: str | None = None,
) -> Change:
    """Change ``ticket`` at ``at`` by ``user_id`` and record it as one change comment.

    ``fields`` are attribute values (``status`` by name, which sets ``state`` and
    ``completed_date``: set when it moves from an open status into a closed one,
    cleared when it moves into an open one); ``custom`` values by field id are
    recorded under the field's current title. Only values that differ are
    recorded; ``updated_at`` becomes ``at``.
    """
    changed: list[str | None] = []
    status = fields.pop("status", None)
    if status is not None:
        state_after = data.status_state(status)
        if status != ticket.status:
            changed += ("status", ticket.status, status)
        if state_after == 0 and ticket.state == 1:
            ticket.completed_date = at
        elif state_after == 1:
            ticket.completed_date = None
        ticket.status, ticket.state = status, state_after
    for name in (*RECORDED, *sorted(set(fields) - set(RECORDED))):
        if name in fields:
            old, new = getattr(ticket, name), fields[name]
            if old != new and name in RECORDED:
                changed += (name, value_text(old), value_text(new))
            setattr(ticket, name, new)
    for fid, value in (custom or {}).items():
        old_value = ticket.custom_values.get(fid)
        if old_value != value and fid in data.titles:
            changed += (data.titles[fid], old_value, value)
        ticket.custom_values[fid] = value
    ticket.updated_at = at
    ticket.cache = None
    data.generation += 1
    return record(state, ticket, at, user_id, tuple(changed), text)
