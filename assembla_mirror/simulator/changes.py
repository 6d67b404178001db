"""The change API of :class:`~assembla_mirror.simulator.world.World` for tickets, comments,
milestones, custom fields, tasks and time logs.

Every change happens under the world's lock and stamps ``updated_at`` with the
world's clock. Tickets, comments and milestones emit activity events; tasks,
time logs and custom fields never do, and renaming or deleting a custom field
bumps no ticket.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from assembla_mirror.simulator import events, history
from assembla_mirror.simulator.clock import Clock
from assembla_mirror.simulator.entities import (
    Comment,
    Event,
    Milestone,
    Task,
    Ticket,
    TicketStatus,
    TimeLog,
)
from assembla_mirror.simulator.state import SpaceData, WorldState

TICKET_FIELDS = frozenset(
    {
        "summary", "description", "priority", "milestone_id", "assigned_to_id", "reporter_id",
        "importance", "is_story", "story_importance", "hierarchy_type", "permission_type",
        "component_id", "notification_list", "estimate", "total_estimate", "working_hours",
        "total_working_hours", "total_invested_hours", "is_support", "due_date",
    }
)  # fmt: skip
TASK_FIELDS = frozenset(
    {"description", "url", "billed", "begin_at", "end_at", "user_id", "job_agreement_id"}
)
MILESTONE_FIELDS = frozenset(
    {
        "title", "description", "due_date", "start_date", "completed_date", "is_completed",
        "planner_type", "release_level", "release_notes", "budget", "user_id",
    }
)  # fmt: skip


def _check_fields(fields: dict[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"{what} has no settable field(s) {sorted(unknown)}")


class Changes:
    """Mixin of :class:`World` holding its change methods (see the module docstring)."""

    state: WorldState
    clock: Clock
    lock: threading.RLock

    # --- tickets and comments -----------------------------------------------------------

    def _emit(self, event: Event) -> None:
        events.record(self.state, event)

    def _touch_ticket(self, data: SpaceData, ticket: Ticket, now: datetime) -> None:
        ticket.updated_at = now
        ticket.cache = None
        data.generation += 1

    def _custom_values(self, data: SpaceData, custom: dict[str, str]) -> dict[int, str]:
        """Title-keyed values as field-id-keyed ones; KeyError for an unknown title."""
        ids = {title: fid for fid, title in data.titles.items()}
        missing = sorted(set(custom) - set(ids))
        if missing:
            raise KeyError(f"no custom field(s) {missing} in space {data.space.wiki_name!r}")
        return {ids[title]: value for title, value in custom.items()}

    def update_ticket(
        self,
        space: str,
        number: int,
        *,
        user_id: str | None = None,
        comment: str | None = None,
        **fields: Any,
    ) -> Ticket:
        """Change ticket fields (``status`` by name sets ``state``; ``custom_fields`` by title).

        Like Assembla, this adds one change comment by ``user_id`` (default: the
        primary caller) recording the old and new value of every field that
        changed (see :mod:`.history`), carrying ``comment`` as its text if given;
        the ticket's ``updated_at`` is the change's time. The event is ``Ticket
        updated`` (``Ticket Comment created`` with a text), with ``whatchanged``.
        """
        with self.lock:
            data = self.state.require_space(space)
            ticket = self.state.ticket(space, number)
            custom = self._custom_values(data, fields.pop("custom_fields", None) or {})
            if fields.get("status") is not None:
                data.status_state(fields["status"])  # KeyError for an unknown status
            _check_fields(fields, TICKET_FIELDS | {"status"}, "a ticket")
            now = self.clock.now()
            author = user_id or self.state.primary_user_id
            asked = list(fields) + [data.titles[fid] for fid in custom]
            change = history.change_ticket(
                self.state, data, ticket, now, author, dict(fields), custom, comment
            )
            what = ", ".join(change.names() or asked)
            if comment:
                note = history.comment_of(self.state, ticket, change)
                self._emit(events.comment_event(self.state, ticket, note, what))
            else:
                self._emit(events.ticket_event(self.state, ticket, "updated", author, now, what))
            return ticket

    def add_ticket(self, space: str, **fields: Any) -> Ticket:
        """Create a ticket with the next number; unset custom fields are ``""``."""
        with self.lock:
            data = self.state.require_space(space)
            if data.ticket_tool is None:
                raise ValueError(f"space {space!r} has no ticket tool")
            custom = self._custom_values(data, fields.pop("custom_fields", None) or {})
            status = fields.pop("status", "New")
            state = data.status_state(status)
            _check_fields(fields, TICKET_FIELDS, "a ticket")
            now = self.clock.now()
            values: dict[str, Any] = {
                "summary": "New ticket",
                "description": None,
                "priority": 3,
                "reporter_id": self.state.primary_user_id,
                **fields,
            }
            ticket = Ticket(
                id=self.state.new_id("ticket"),
                space_id=data.space.id,
                number=data.next_number,
                status=status,
                state=state,
                created_on=now,
                updated_at=now,
                completed_date=None if state else now,
                titles=data.titles,
                custom_values={**dict.fromkeys(data.titles, ""), **custom},
                **values,
            )
            data.next_number += 1
            data.tickets[ticket.number] = ticket
            data.generation += 1
            self.state.tickets_by_id[ticket.id] = ticket
            self._emit(events.ticket_event(self.state, ticket, "created", ticket.reporter_id, now))
            return ticket

    def delete_ticket(self, space: str, number: int) -> None:
        """Delete a ticket and its comments; its number is never reused."""
        with self.lock:
            data = self.state.require_space(space)
            ticket = self.state.ticket(space, number)
            del data.tickets[number]
            del self.state.tickets_by_id[ticket.id]
            self.state.comments.pop(ticket.id, None)
            self.state.history.pop(ticket.id, None)
            data.generation += 1
            now, author = self.clock.now(), self.state.primary_user_id
            self._emit(events.ticket_event(self.state, ticket, "deleted", author, now))

    def add_comment(
        self, space: str, number: int, text: str, user_id: str | None = None
    ) -> Comment:
        """Comment on a ticket; the ticket's ``updated_at`` becomes the comment's time."""
        with self.lock:
            data = self.state.require_space(space)
            ticket = self.state.ticket(space, number)
            now = self.clock.now()
            comment = Comment(
                id=self.state.new_id("comment"),
                ticket_id=ticket.id,
                space_id=ticket.space_id,
                user_id=user_id or self.state.primary_user_id,
                comment=text,
                created_on=now,
                updated_at=now,
            )
            self.state.comments.setdefault(ticket.id, []).append(comment)
            self._touch_ticket(data, ticket, now)
            self._emit(events.comment_event(self.state, ticket, comment))
            return comment

    # --- tasks and time logs (no events) ---------------------------------------------------

    def add_task(self, **fields: Any) -> Task:
        """Create a task: ``space`` (id or wiki_name) and ``hours`` are required.

        ``user_id`` defaults to the primary caller, ``begin_at`` to now minus the
        hours, ``end_at`` to ``begin_at`` plus the hours; ``ticket_number`` links
        the task to that ticket of the space.
        """
        with self.lock:
            data = self.state.require_space(fields.pop("space"))
            hours = Decimal(str(fields.pop("hours")))
            number = fields.pop("ticket_number", None)
            _check_fields(fields, TASK_FIELDS, "a task")
            now = self.clock.now()
            begin = fields.pop("begin_at", now - timedelta(hours=float(hours)))
            linked = data.tickets[number] if number is not None else None
            values: dict[str, Any] = {
                "user_id": self.state.primary_user_id,
                "description": "Work",
                "end_at": begin + timedelta(hours=float(hours)),
                **fields,
            }
            task = Task(
                id=self.state.new_id("task"),
                space_id=data.space.id,
                hours=hours,
                begin_at=begin,
                created_at=now,
                updated_at=now,
                ticket_id=linked.id if linked else None,
                ticket_number=number,
                **values,
            )
            self.state.tasks[task.id] = task
            self.state.task_generation += 1
            return task

    def update_task(self, task_id: int, **fields: Any) -> Task:
        """Change task fields (``hours`` also moves ``end_at`` unless it is given)."""
        with self.lock:
            task = self.state.tasks[task_id]
            hours = fields.pop("hours", None)
            _check_fields(fields, TASK_FIELDS, "a task")
            for name, value in fields.items():
                setattr(task, name, value)
            if hours is not None:
                task.hours = Decimal(str(hours))
                if "end_at" not in fields:
                    task.end_at = task.begin_at + timedelta(hours=float(task.hours))
            task.updated_at = self.clock.now()
            task.cache = None
            self.state.task_generation += 1
            return task

    def delete_task(self, task_id: int) -> None:
        """Delete a task and its time logs."""
        with self.lock:
            del self.state.tasks[task_id]
            self.state.time_logs.pop(task_id, None)
            self.state.task_generation += 1

    def add_time_log(self, task_id: int, description: str | None = None) -> TimeLog:
        """Attach a time log to a task (the task itself does not change)."""
        with self.lock:
            task = self.state.tasks[task_id]
            log = TimeLog(
                id=self.state.new_id("time_log"),
                task_id=task.id,
                space_id=task.space_id,
                user_id=task.user_id,
                description=description,
                created_at=self.clock.now(),
            )
            self.state.time_logs.setdefault(task_id, []).append(log)
            return log

    def delete_time_log(self, log_id: int) -> None:
        """Delete a time log (no bump, no event)."""
        with self.lock:
            for logs in self.state.time_logs.values():
                for log in logs:
                    if log.id == log_id:
                        logs.remove(log)
                        return
            raise KeyError(f"no time log {log_id}")

    # --- milestones ---------------------------------------------------------------------

    def _milestone(self, milestone_id: int) -> tuple[SpaceData, Milestone]:
        for data in self.state.spaces.values():
            if milestone_id in data.milestones:
                return data, data.milestones[milestone_id]
        raise KeyError(f"no milestone {milestone_id}")

    def add_milestone(self, space: str, **fields: Any) -> Milestone:
        """Create a milestone (open unless ``is_completed`` is given)."""
        with self.lock:
            data = self.state.require_space(space)
            _check_fields(fields, MILESTONE_FIELDS, "a milestone")
            now, author = self.clock.now(), self.state.primary_user_id
            values: dict[str, Any] = {
                "title": "New milestone",
                "description": None,
                "due_date": None,
                "start_date": None,
                "completed_date": None,
                "is_completed": False,
                **fields,
            }
            milestone = Milestone(
                id=self.state.new_id("milestone"),
                space_id=data.space.id,
                created_at=now,
                updated_at=now,
                created_by=author,
                updated_by=author,
                **values,
            )
            data.milestones[milestone.id] = milestone
            self._emit(events.milestone_event(self.state, milestone, "created", author, now))
            return milestone

    def update_milestone(self, milestone_id: int, **fields: Any) -> Milestone:
        """Change milestone fields."""
        with self.lock:
            _, milestone = self._milestone(milestone_id)
            _check_fields(fields, MILESTONE_FIELDS, "a milestone")
            for name, value in fields.items():
                setattr(milestone, name, value)
            now, author = self.clock.now(), self.state.primary_user_id
            milestone.updated_at, milestone.updated_by, milestone.cache = now, author, None
            self._emit(events.milestone_event(self.state, milestone, "updated", author, now))
            return milestone

    def delete_milestone(self, milestone_id: int) -> None:
        """Delete a milestone (tickets keep their ``milestone_id``)."""
        with self.lock:
            data, milestone = self._milestone(milestone_id)
            del data.milestones[milestone_id]
            now, author = self.clock.now(), self.state.primary_user_id
            self._emit(events.milestone_event(self.state, milestone, "deleted", author, now))

    # --- ticket configuration (no ticket bump, no event) ------------------------------------

    def add_ticket_status(self, space: str, name: str, state: int = 1) -> TicketStatus:
        """Add a ticket status (``state`` 1 open, 0 closed) at the end of the list."""
        with self.lock:
            data = self.state.require_space(space)
            tool = data.ticket_tool
            if tool is None:
                raise ValueError(f"space {space!r} has no ticket tool")
            now = self.clock.now()
            status = TicketStatus(
                id=self.state.new_id("status"),
                space_id=data.space.id,
                space_tool_id=tool.id,
                name=name,
                state=state,
                list_order=len(data.statuses) + 1,
                created_at=now,
                updated_at=now,
            )
            data.statuses.append(status)
            return status

    def _field_id(self, data: SpaceData, title: str) -> int:
        for fid, current in data.titles.items():
            if current == title:
                return fid
        raise KeyError(f"no custom field {title!r} in space {data.space.wiki_name!r}")

    def rename_custom_field(self, space: str, old_title: str, new_title: str) -> None:
        """Rename a custom field: every ticket's key changes, no ticket's ``updated_at`` does."""
        with self.lock:
            data = self.state.require_space(space)
            fid = self._field_id(data, old_title)
            data.titles[fid] = new_title
            custom = data.fields[fid]
            custom.title, custom.updated_at, custom.cache = new_title, self.clock.now(), None
            data.field_generation += 1

    def delete_custom_field(self, space: str, title: str) -> None:
        """Delete a custom field and its value from every ticket (nothing is bumped)."""
        with self.lock:
            data = self.state.require_space(space)
            fid = self._field_id(data, title)
            del data.titles[fid]
            del data.fields[fid]
            for ticket in data.tickets.values():
                ticket.custom_values.pop(fid, None)
            data.field_generation += 1
