"""Deterministic ticket histories: how each generated ticket got where it stands.

A ticket is created in its space's first status (lowest ``list_order``) with
its first values; its history then walks it to its final status over days or
weeks: forward through some open statuses (now and then a step back), into a
closed one (some go straight there, e.g. New -> Invalid), sometimes reopened
and closed again, sometimes moved between closed statuses. Other changes fall
in between: reassignments, milestone moves, priority and estimate changes,
custom field edits (under the field's title), the odd summary or description
edit; some ride along with a status change, several fields in one comment.
Every change is applied to the ticket as it is made, so the ticket's fields are
exactly the end of its history. Histories are stored compactly (see
:mod:`.history`); values are drawn straight from the shared ``random.Random``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from assembla_mirror.simulator import text
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.simulator.state import SpaceData, WorldState
from assembla_mirror.simulator.text import pick

PRIORITIES = (1, 2, 3, 4, 5)
ESTIMATES = (0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0)
#: Mean number of changes other than status moves per ticket.
EDITS = 0.9
#: Mean time from a ticket's creation to its last change, for most tickets.
LIFE = timedelta(days=18).total_seconds()
EDIT_FIELDS = (
    "assigned_to_id", "assigned_to_id", "milestone_id", "milestone_id", "priority",
    "estimate", "custom", "custom", "custom", "summary", "description",
)  # fmt: skip
#: Text and numeric custom field values; some need quoting in YAML, as users type them.
TEXT_VALUES = (
    "Firefox 115", "Safari 17", "Chrome", "Ünïcode ✓", "客户 A", "Edge — beta", "No",
    "yes", "null", "Client's note: urgent", "#42 follow-up", "- see above", "ON",
    " padded ", "1.0", "It's fine", "[beta] build", "Größe: XL 🎉", "~",
)  # fmt: skip
NUMERIC_VALUES = ("1", "2", "3", "5", "8", "13", "2.5", "0.75", "1e3", "007")
SUMMARY_PREFIXES = ("WIP: ", "[UI] ", "- ", "Re: ", "#12 ", "'Quoted' ", "Urgent! ", "")
#: What a comment says along with a change (reopening has its own words).
REMARKS = tuple(remark for remark in text.COMMENTS if not remark.startswith("Reopening"))
REOPEN_TEXTS = ("Reopening: still broken on staging 😬", "Still happens on 2.3.1", "Again.")


class SpaceHistory:
    """Plans and records the histories of one space's tickets (see the module docstring)."""

    def __init__(
        self,
        rng: random.Random,
        state: WorldState,
        data: SpaceData,
        workers: list[str],
        members: list[str],
    ) -> None:
        self.rng, self.state, self.data = rng, state, data
        self.workers, self.members = workers, members
        ordered = sorted(data.statuses, key=lambda s: s.list_order)
        self.first = ordered[0].name
        self.states = {s.name: s.state for s in ordered}
        self.open = [s.name for s in ordered if s.state == 1]
        self.closed = [s.name for s in ordered if s.state == 0] or [self.first]
        self.rank = {name: index for index, name in enumerate(self.open)}
        self.milestones: list[int] = list(data.milestones)
        self.ids = {mid: str(mid) for mid in self.milestones}
        self.fields = [
            (fid, f.type, f.list_options, data.titles[fid]) for fid, f in data.fields.items()
        ]

    # --- values -----------------------------------------------------------------------

    def field_value(self, kind: str, options: list[str], created: datetime) -> str:
        """A custom field value of ``kind`` (``""`` a quarter of the time)."""
        rng = self.rng
        if rng.random() < 0.25:
            return ""
        if kind == "Numeric":
            return pick(rng, NUMERIC_VALUES)
        if kind == "List" and options:
            return pick(rng, options)
        if kind == "Team List":
            return pick(rng, self.members)
        if kind == "Date":
            return (created + timedelta(days=int(rng.random() * 90))).date().isoformat()
        return pick(rng, TEXT_VALUES)

    # --- the path through the statuses ------------------------------------------------------

    def _forward(self, start: str, goal: str) -> list[str]:
        """Open statuses from ``start`` to ``goal``: some of those between, then ``goal``;
        a step back now and then. ``goal`` before ``start`` is one move back."""
        rng, rank = self.rng, self.rank
        low, high = rank.get(start, -1), rank[goal]
        moves = [name for name in self.open[low + 1 : high] if rng.random() < 0.4]
        if moves and rng.random() < 0.1:
            moves.append(self.open[max(0, rank[moves[-1]] - 1)])  # back for rework
        if goal != start or moves:
            moves.append(goal)
        return moves

    def path(self, final: str) -> list[str]:
        """The statuses a ticket moves through after its first one, ending at ``final``."""
        rng, moves, at = self.rng, [], self.first
        cycles = 0 if rng.random() < 0.86 else 1 if rng.random() < 0.8 else 2
        if self.states[final] == 1 and final == self.first and rng.random() < 0.06:
            cycles = max(cycles, 1)
        for _ in range(cycles):  # closed, then reopened
            if rng.random() < 0.7 and len(self.open) > 1:
                moves += self._forward(at, pick(rng, self.open[1:]))
            moves.append(pick(rng, self.closed))
            at = self.open[int(rng.random() ** 2 * min(3, len(self.open)))]
            moves.append(at)
        if self.states[final] == 1:
            if final != at:
                moves += self._forward(at, final)
            return _no_repeats(self.first, moves)
        if rng.random() < 0.75 and len(self.open) > 1:  # else straight there from `at`
            moves += self._forward(at, pick(rng, self.open[1:]))
        if rng.random() < 0.04 and len(self.closed) > 1:
            moves.append(pick(rng, [c for c in self.closed if c != final]))  # closed -> closed
        moves.append(final)
        return _no_repeats(self.first, moves)

    # --- the whole history ------------------------------------------------------------------

    def _times(self, start: int, count: int, now: int) -> list[int]:
        """``count`` distinct instants (epoch seconds) after ``start``, none after ``now``."""
        draw = self.rng.random
        age = now - start
        count = min(count, age)
        life = age if draw() < 0.25 else min(age, max(count, int(self.rng.expovariate(1 / LIFE))))
        offsets = sorted([1 + int(draw() * life) for _ in range(count)])
        for index in range(1, count):
            if offsets[index] <= offsets[index - 1]:
                offsets[index] = offsets[index - 1] + 1
        if count and offsets[-1] > age:
            offsets[-1] = age
            for index in range(count - 2, -1, -1):
                offsets[index] = min(offsets[index], offsets[index + 1] - 1)
        return [start + offset for offset in offsets]

    def ticket(self, ticket: Ticket, final: str, now: datetime, edits: int) -> None:
        """Walk ``ticket`` (in its first status) to ``final`` with ``edits`` other changes."""
        rng = self.rng
        moves = self.path(final)
        kinds = [False] * edits + [True] * len(moves)  # an edit, or the next move
        if edits:
            rng.shuffle(kinds)
        times = self._times(int(ticket.created_on.timestamp()), len(kinds), int(now.timestamp()))
        if len(times) < len(kinds):  # too young for all of it: go straight to the end
            moves = [final] if final != self.first else []
            kinds = [True] * len(moves)
        upcoming, new_id = iter(moves), self.state.new_id
        packed: list[int | str | None] = []
        for is_move, at in zip(kinds, times, strict=False):
            values: list[str | None] = []
            if not is_move:
                for _ in range(1 if rng.random() < 0.75 else 2 if rng.random() < 0.7 else 3):
                    self._edit(ticket, pick(rng, EDIT_FIELDS), values)
                remark = pick(rng, REMARKS) if rng.random() < 0.1 else None
            else:
                remark = self._move(ticket, next(upcoming), at, values)
            if values:  # packed as history.pack does, without making records first
                author = ticket.assigned_to_id if rng.random() < 0.5 else None
                if remark is None and rng.random() < 0.5:
                    remark = ""
                packed += (at, new_id("comment"), author or pick(rng, self.workers), remark)
                packed.append(len(values) // 3)
                packed += values
                last = at
        if packed:
            self.state.history[ticket.id] = tuple(packed)
            ticket.updated_at = datetime.fromtimestamp(last, ticket.created_on.tzinfo)

    def _move(self, ticket: Ticket, status: str, at: int, values: list[str | None]) -> str | None:
        """Move to ``status`` (maybe with other fields); the comment's text, if any."""
        rng, was_open = self.rng, ticket.state == 1
        values += ("status", ticket.status, status)
        ticket.status, ticket.state = status, self.states[status]
        if ticket.state == 0 and was_open:
            ticket.completed_date = datetime.fromtimestamp(at, ticket.created_on.tzinfo)
        elif ticket.state == 1:
            ticket.completed_date = None
        if was_open and ticket.state == 1 and ticket.assigned_to_id is None and rng.random() < 0.6:
            self._edit(ticket, "assigned_to_id", values)  # taken on as it starts
        elif rng.random() < 0.15:
            self._edit(ticket, pick(rng, EDIT_FIELDS), values)  # several fields at once
        if not was_open and ticket.state == 1 and rng.random() < 0.5:
            return pick(rng, REOPEN_TEXTS)
        return pick(rng, REMARKS) if rng.random() < 0.08 else None

    def _edit(self, ticket: Ticket, name: str, values: list[str | None]) -> None:
        """Change one field (``custom``: a custom field) to another value, if it has one."""
        rng = self.rng
        if name == "custom":
            if not self.fields:
                return
            fid, kind, options, title = pick(rng, self.fields)
            old = ticket.custom_values.get(fid, "")
            new = self.field_value(kind, options, ticket.created_on)
            if new != old and title not in values[::3]:
                values += (title, old, new)
                ticket.custom_values[fid] = new
            return
        if name in values[::3]:
            return
        old_text, new_text = self._new_value(ticket, name)
        if new_text != old_text:
            values += (name, old_text, new_text)

    def _new_value(self, ticket: Ticket, name: str) -> tuple[str | None, str | None]:
        """Set a new value of ``name`` on ``ticket``; the old and new values as text."""
        rng = self.rng
        if name == "assigned_to_id":
            old = ticket.assigned_to_id
            new = None if old and rng.random() < 0.1 else pick(rng, self.workers)
            ticket.assigned_to_id = new
            return old, new
        if name == "milestone_id":
            old_id = ticket.milestone_id
            new_id = pick(rng, self.milestones) if self.milestones and rng.random() < 0.85 else None
            ticket.milestone_id = new_id
            return self.ids.get(old_id) if old_id else None, self.ids.get(
                new_id
            ) if new_id else None
        if name == "priority":
            old_priority, ticket.priority = ticket.priority, pick(rng, PRIORITIES)
            return str(old_priority), str(ticket.priority)
        if name == "estimate":
            old_estimate, ticket.estimate = ticket.estimate, pick(rng, ESTIMATES)
            ticket.total_estimate = ticket.estimate
            return str(old_estimate), str(ticket.estimate)
        if name == "summary":
            old_summary = ticket.summary
            ticket.summary = pick(rng, SUMMARY_PREFIXES) + text.summary(rng)
            return old_summary, ticket.summary
        old_text = ticket.description
        ticket.description = text.paragraph(rng, 1 + int(rng.random() * 4))
        return old_text, ticket.description


def _no_repeats(first: str, moves: list[str]) -> list[str]:
    """``moves`` (from ``first``) without a move into the status the ticket is already in."""
    kept = [first]
    for name in moves:
        if kept[-1] != name:
            kept.append(name)
    return kept[1:]
