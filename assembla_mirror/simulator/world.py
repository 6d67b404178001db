"""The simulated account: thread-safe state, accessors, membership changes and truth.

Every change stamps ``updated_at`` with :attr:`World.clock` and emits the
activity events the contract lists: tickets (created/updated/deleted), ticket
comments (created), milestones (created/updated/deleted) and memberships
(joined/left); tasks and time logs emit none. Updating a ticket also adds a
change comment to its history (:mod:`~assembla_mirror.simulator.history`). The
change methods for tickets, comments, milestones, custom fields and tasks live in
:mod:`~assembla_mirror.simulator.changes`, those for tags, documents and ticket
associations (which emit no events) in :mod:`~assembla_mirror.simulator.changes_archive`.
Spaces are named by id or wiki_name, tickets by ``(space, number)``. Objects
returned by the accessors are the live records: read them, change them only
through these methods. For hostile-server tests, :meth:`World.corrupt` serves a
record with bad values and :meth:`World.inject_event` adds an activity event
dated anywhere, changing nothing.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime
from typing import Any

from assembla_mirror.simulator import events, generator, text, zones
from assembla_mirror.simulator.changes_archive import ArchiveChanges
from assembla_mirror.simulator.clock import Clock
from assembla_mirror.simulator.entities import (
    Event,
    Space,
    Task,
    Ticket,
    User,
    UserRole,
)
from assembla_mirror.simulator.scale import Scale
from assembla_mirror.simulator.state import WorldState
from assembla_mirror.simulator.truth import Truth, build_truth


class World(ArchiveChanges):
    """A simulated Assembla account, safe to read and change from several threads."""

    def __init__(self, state: WorldState, clock: Clock | None = None, seed: int = 0) -> None:
        self.state = state
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self._rng = random.Random(f"mutations-{seed}")

    @classmethod
    def generate(
        cls, seed: int = 0, scale: Scale | str | None = None, clock: Clock | None = None
    ) -> World:
        """A deterministic world for ``seed`` and ``scale`` (a Scale, preset name or spec)."""
        if scale is None:
            scale = Scale()
        elif isinstance(scale, str):
            scale = Scale.parse(scale)
        clock = clock or Clock()
        return cls(generator.generate(seed, scale, clock.now()), clock, seed)

    # --- reading ----------------------------------------------------------------------

    @property
    def primary_user(self) -> User:
        """The user whose credentials the simulator hands out first."""
        return self.state.users[self.state.primary_user_id]

    def user(self, ref: str) -> User:
        """A user by id or login."""
        found = self.state.user(ref)
        if found is None:
            raise KeyError(f"no user {ref!r}")
        return found

    def space(self, ref: str) -> Space:
        """A space by id or wiki_name."""
        return self.state.require_space(ref).space

    def spaces_of(self, user_id: str | None = None) -> list[Space]:
        """The spaces a user (default: the primary caller) belongs to."""
        with self.lock:
            return [d.space for d in self.state.member_spaces(user_id or self.primary_user.id)]

    def ticket(self, space: str, number: int) -> Ticket:
        """A ticket by space and number."""
        return self.state.ticket(space, number)

    def task(self, task_id: int) -> Task:
        """A task by id."""
        return self.state.tasks[task_id]

    def corrupt(self, kind: str, ref: Any, **fields: Any) -> None:
        """Serve one record with bad or odd values, as a real server might.

        ``kind`` is "space", "user", "ticket" (``ref`` = (space, number)), "task",
        "milestone", "event" (``ref`` = the :class:`Event` itself, as
        :meth:`inject_event` returns it), "tag" (``ref`` = (space, tag id or name)),
        "document" (its id) or "association" (its id); each keyword replaces that payload field with
        any JSON value
        (``hours="abc"``, ``summary="\\x00"``, ``brand_new=[1]``, ``id=2**64 + 5``,
        ``space_id`` of another or no space), and
        :data:`~assembla_mirror.simulator.entities.MISSING` drops it;
        :class:`~assembla_mirror.simulator.entities.RawJson` serves its text verbatim
        (nesting too deep for any encoder). The record's own (typed) values, and so
        :meth:`truth`, stay as they were; lists sort and filter by those too (a
        ticket served with ``updated_at="9999-12-31T23:59:59Z"`` keeps its place
        under ``sort_by=updated_at``). Nothing is bumped: change the record too
        when a sync should notice.
        """
        with self.lock:
            record: Any
            if kind == "ticket":
                record = self.ticket(*ref)
            elif kind == "task":
                record = self.task(ref)
            elif kind == "milestone":
                found = [
                    d.milestones[ref] for d in self.state.spaces.values() if ref in d.milestones
                ]
                if not found:
                    raise KeyError(f"no milestone {ref!r}")
                record = found[0]
            elif kind == "space":
                record = self.space(ref)
            elif kind == "user":
                record = self.user(ref)
            elif kind == "event" and any(event is ref for event in self.state.events):
                record = ref
            elif (found_record := self._archive_record(kind, ref)) is not None:
                record = found_record
            else:
                raise ValueError(f"cannot corrupt a {kind!r}")
            record.patch = {**(record.patch or {}), **fields}
            record.cache = None

    def inject_event(
        self,
        space: str,
        *,
        date: datetime,
        object: str = "Ticket",  # named like the event field it sets
        operation: str | None = None,
        number: int | None = None,
        title: str | None = None,
        user_id: str | None = None,
    ) -> Event:
        """Add an activity event dated ``date`` (past or future) without changing anything.

        The event has the shape a real change emits (see :func:`.events.about`):
        ``object`` is "Ticket", "Ticket Comment", "Milestone" or "User";
        ``operation`` defaults to the usual one ("updated", "created", "updated",
        "joined"); ``number`` names the ticket (or milestone id), ``user_id`` the
        member of a User event; ``title`` replaces the event's title. It is stored
        like any event, so ``/v1/activity`` serves it while its date is inside the
        60-day window (a future date always is). No ticket or milestone changes.
        """
        if date.tzinfo is None:
            raise ValueError("date must be timezone-aware")
        when = date.astimezone(UTC).replace(microsecond=0)  # as the clock stamps changes
        with self.lock:
            data = self.state.require_space(space)
            if object not in events.OBJECTS:
                raise ValueError(f"object must be one of {', '.join(events.OBJECTS)}")
            action = operation or events.OBJECTS[object]
            event = events.about(self.state, data, object, action, when, number, user_id)
            if title is not None:
                event.title = title
            self._emit(event)
            return event

    def truth(self, user_id: str | None = None) -> Truth:
        """A snapshot of what ``user_id`` (default: the primary caller) may see."""
        with self.lock:
            return build_truth(self.state, user_id or self.state.primary_user_id, self.clock.now())

    # --- people ---------------------------------------------------------------------------

    def add_member(self, space: str, user_id: str, role: str = "member") -> UserRole:
        """Add a user to a space (a ``User joined`` event)."""
        if role not in ("watcher", "member", "owner"):
            raise ValueError(f"role must be watcher, member or owner, not {role!r}")
        with self.lock:
            data = self.state.require_space(space)
            user = self.user(user_id)
            if user.id in data.roles:
                raise ValueError(f"{user.login} is already a member of {data.space.wiki_name}")
            now = self.clock.now()
            row = UserRole(
                id=self.state.new_id("user_role"),
                space_id=data.space.id,
                user_id=user.id,
                role=role,
                status=2,
                invited_time=now,
                agreed_time=now,
                invited_by_id=self.state.primary_user_id,
            )
            data.roles[user.id] = row
            self.state.task_generation += 1  # which tasks a caller sees depends on roles
            self._emit(events.member_event(self.state, data.space.id, user.id, "joined", now))
            return row

    def remove_member(self, space: str, user_id: str) -> None:
        """Remove a user from a space: the role row goes, a ``User left`` event appears."""
        with self.lock:
            data = self.state.require_space(space)
            user = self.user(user_id)
            del data.roles[user.id]
            self.state.task_generation += 1  # which tasks a caller sees depends on roles
            now = self.clock.now()
            self._emit(events.member_event(self.state, data.space.id, user.id, "left", now))

    def add_user(self, **fields: Any) -> User:
        """Create a user (not a member of anything); every field has a default."""
        with self.lock:
            index = len(self.state.users)
            login = fields.get("login", f"user{index}")
            values: dict[str, Any] = {
                "id": text.string_id(self._rng),
                "login": login,
                "name": f"User {index}",
                "email": f"{login}@example.com",
                "api_key": text.string_id(self._rng),
                "api_secret": self._rng.randbytes(20).hex(),
                "password": f"pw-{text.string_id(self._rng)}",
                **fields,
            }
            user = User(**values)
            zones.zone(user.time_zone)
            self.state.users[user.id] = user
            return user

    def set_time_zone(self, ref: str, offset: str | None) -> None:
        """Set a user's (id or login) or a space's (id or wiki_name) offset label.

        Datetimes keep their instants; only the rendered offset changes. ``None``
        lets a space follow each caller's own setting.
        """
        if offset is not None:
            zones.zone(offset)
        with self.lock:
            user = self.state.user(ref)
            if user is not None:
                if offset is None:
                    raise ValueError("a user's time zone cannot be None")
                user.time_zone = offset
                return
            self.state.require_space(ref).space.time_zone = offset
