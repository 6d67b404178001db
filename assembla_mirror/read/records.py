"""Records of the offline object API: read-only views of mirrored rows.

A record exposes its columns as attributes and as keys (``ticket.summary`` and
``ticket["summary"]``, as the original wrapper's 1.x and 2.x did), with native
types: aware UTC datetimes, dates, floats, bools. Navigation methods
(``space.tickets()``, ``ticket.milestone()``) query the mirror on demand.

Each record class names the model it reads (``class Ticket(Record,
model=tables.Ticket)``) and takes everything else from it: its table, and its
:attr:`~Record.fields`, the model's columns with their Python types and
descriptions (listed in the class's docstring too, for ``help()``). The values
are converted by the model's column types as the mirror reads them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from assembla_mirror.model import tables
from assembla_mirror.model.declare import Base, table_of

if TYPE_CHECKING:
    from assembla_mirror.read.history import Change, StatusInterval
    from assembla_mirror.read.mirror import Mirror


@dataclass(frozen=True)
class Field:
    """One field of a record: a column of its model, as the record returns it."""

    name: str
    python_type: type
    nullable: bool
    description: str

    @property
    def annotation(self) -> str:
        """The field's type as written in Python: ``datetime | None``."""
        name = self.python_type.__name__
        return f"{name} | None" if self.nullable else name


def record_fields(model: type[Base]) -> Mapping[str, Field]:
    """The fields of a record of ``model``: each column, its type as read back, its meaning."""
    return MappingProxyType(
        {
            column.name: Field(
                column.name, column.type.python_type, bool(column.nullable), column.doc or ""
            )
            for column in table_of(model).columns
        }
    )


def _fields_doc(model: type[Base], fields: Mapping[str, Field]) -> str:
    lines = [
        f"    {field.name} ({field.annotation}): {field.description}" for field in fields.values()
    ]
    return f"Fields, from the model ``{model.__name__}``:\n\n" + "\n".join(lines)


class Record:
    """A mirrored row. Equal records are the same row of the same table."""

    #: The model of the table the record reads, and that table's name.
    model: ClassVar[type[Base]]
    table: ClassVar[str] = ""
    #: The record's fields by name, derived from the model.
    fields: ClassVar[Mapping[str, Field]] = MappingProxyType({})

    def __init_subclass__(cls, *, model: type[Base] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if model is None:
            return
        cls.model, cls.table, cls.fields = model, model.__tablename__, record_fields(model)
        cls.__doc__ = f"{cls.__doc__ or ''}\n\n{_fields_doc(model, cls.fields)}\n"

    def __init__(self, mirror: Mirror, data: dict[str, Any]) -> None:
        self._mirror = mirror
        self._data = data

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_data"][name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}; fields: {', '.join(self._data)}"
            ) from None

    def __dir__(self) -> list[str]:
        # Offer the fields to tab completion beside the methods.
        return sorted({*super().__dir__(), *self._data})

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def get(self, name: str, default: Any = None) -> Any:
        """A field's value, or ``default`` when the record has no such field."""
        return self._data.get(name, default)

    def keys(self) -> Iterator[str]:
        """The record's field names."""
        return iter(self._data)

    @property
    def data(self) -> dict[str, Any]:
        """The fields as a dict (a copy)."""
        return dict(self._data)

    @property
    def raw(self) -> Any:
        """The payload as Assembla sent it (``raw_json`` parsed)."""
        return json.loads(self._data["raw_json"]) if self._data.get("raw_json") else None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Record)
            and other.table == self.table
            and other._data.get("id") == self._data.get("id")
        )

    def __hash__(self) -> int:
        return hash((self.table, self._data.get("id")))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._label()}>"

    def _label(self) -> str:
        for field in ("name", "title"):
            if self._data.get(field):
                return str(self._data[field])
        return str(self._data.get("id"))


class Space(Record, model=tables.Space):
    """A space: its milestones, tickets, users, tasks and events."""

    def milestones(self, **filters: Any) -> list[Milestone]:
        """The space's milestones matching ``filters``."""
        return self._mirror._select(Milestone, filters, space_id=self.id)

    def milestone(self, title: str | None = None, /, **filters: Any) -> Milestone | None:
        """One milestone by title (positional, as in the original README) or by filters."""
        if title is not None:
            filters["title"] = title
        return self._mirror._one(Milestone, filters, space_id=self.id)

    def tickets(self, **filters: Any) -> list[Ticket]:
        """The space's tickets matching ``filters`` (``status_name`` means ``status``)."""
        return self._mirror._select(Ticket, filters, space_id=self.id)

    def ticket(self, **filters: Any) -> Ticket | None:
        """One ticket, e.g. ``space.ticket(number=301)``."""
        return self._mirror._one(Ticket, filters, space_id=self.id)

    def users(self, **filters: Any) -> list[User]:
        """The space's members matching ``filters``."""
        return self._mirror._members(self, filters)

    def user(self, **filters: Any) -> User | None:
        """One member, e.g. ``space.user(name="John Smith")``."""
        return self._mirror._only(User, self._mirror._members(self, filters), filters)

    def tasks(self, **filters: Any) -> list[Task]:
        """Time entries in the space (``since``/``until`` filter ``begin_at``)."""
        return self._mirror.tasks(space=self, **filters)

    def events(self, **filters: Any) -> list[Event]:
        """Activity events of the space, newest first."""
        return self._mirror.events(space=self, **filters)

    def statuses(self) -> list[Record]:
        """The space's ticket statuses in list order."""
        return self._mirror._select(TicketStatus, {}, space_id=self.id, order="list_order")

    def custom_fields(self) -> list[Record]:
        """The space's ticket custom fields."""
        return self._mirror._select(CustomField, {}, space_id=self.id)


class Milestone(Record, model=tables.Milestone):
    """A milestone: its tickets and the users working on them."""

    def space(self) -> Space | None:
        """The milestone's space."""
        return self._mirror.space(id=self.space_id)

    def tickets(self, **filters: Any) -> list[Ticket]:
        """The milestone's tickets matching ``filters``."""
        return self._mirror._select(Ticket, filters, milestone_id=self.id)

    def ticket(self, **filters: Any) -> Ticket | None:
        """One of the milestone's tickets."""
        return self._mirror._one(Ticket, filters, milestone_id=self.id)

    def users(self, **filters: Any) -> list[User]:
        """Users assigned to the milestone's tickets."""
        return self._mirror._assignees(self, filters)

    def user(self, **filters: Any) -> User | None:
        """One user assigned to a ticket of the milestone."""
        return self._mirror._only(User, self._mirror._assignees(self, filters), filters)


class User(Record, model=tables.User):
    """A user: the tickets assigned to them, their time entries."""

    def __init__(self, mirror: Mirror, data: dict[str, Any], space_id: str | None = None) -> None:
        super().__init__(mirror, data)
        self._space_id = space_id

    def tickets(self, **filters: Any) -> list[Ticket]:
        """Tickets assigned to the user (in the space the user was found in, if any)."""
        scope = {"assigned_to_id": self.id}
        if self._space_id:
            scope["space_id"] = self._space_id
        return self._mirror._select(Ticket, filters, **scope)

    def ticket(self, **filters: Any) -> Ticket | None:
        """One ticket assigned to the user, e.g. ``user.ticket(status_name="Test")``."""
        scope = {"assigned_to_id": self.id}
        if self._space_id:
            scope["space_id"] = self._space_id
        return self._mirror._one(Ticket, filters, **scope)

    def tasks(self, **filters: Any) -> list[Task]:
        """The user's time entries."""
        return self._mirror.tasks(user=self, **filters)


class Ticket(Record, model=tables.Ticket):
    """A ticket, with ``custom_fields`` as a dict and ``status_name`` for ``status``."""

    def _label(self) -> str:
        return f"#{self._data.get('number')} - {self._data.get('summary')}"

    @property
    def status_name(self) -> str | None:
        """The status name (the original wrapper's name for ``status``)."""
        value = self._data.get("status")
        return None if value is None else str(value)

    @property
    def custom_fields(self) -> dict[str, str | None]:
        """Custom field values by title."""
        return self._mirror._custom_fields(self.id)

    def space(self) -> Space | None:
        """The ticket's space."""
        return self._mirror.space(id=self.space_id)

    def milestone(self) -> Milestone | None:
        """The ticket's milestone, if any."""
        if self.milestone_id is None:
            return None
        return self._mirror._get(Milestone, self.milestone_id)

    def assigned_to(self) -> User | None:
        """The assignee, if any."""
        return None if self.assigned_to_id is None else self._mirror.user(id=self.assigned_to_id)

    def reporter(self) -> User | None:
        """The reporter, if the mirror knows them."""
        return None if self.reporter_id is None else self._mirror.user(id=self.reporter_id)

    def comments(self) -> list[Record]:
        """Comments (mirrored with ``--with comments``), oldest first."""
        return self._mirror._select(Comment, {}, ticket_id=self.id, order="created_on")

    def tasks(self, **filters: Any) -> list[Task]:
        """Time entries logged against this ticket."""
        return self._mirror.tasks(ticket=self, **filters)

    def history(self) -> list[Change]:
        """Its recorded changes, oldest first: :class:`~assembla_mirror.read.history.Change`
        records (``changed_at``, ``user_id``, ``field``, ``old_value``, ``new_value``,
        ``source``, ``comment_id``)."""
        return self._mirror._history(self.id)

    def status_intervals(self) -> list[StatusInterval]:
        """Its stays in each status, in order (the last is the current one)."""
        return self._mirror._stays(self.id)


class Task(Record, model=tables.Task):
    """A time entry."""

    def _label(self) -> str:
        return f"{self._data.get('hours')} h {self._data.get('begin_at')}"

    def space(self) -> Space | None:
        """The task's space."""
        return self._mirror.space(id=self.space_id)

    def user(self) -> User | None:
        """Who logged the time."""
        return None if self.user_id is None else self._mirror.user(id=self.user_id)

    def ticket(self) -> Ticket | None:
        """The ticket the time was logged against, if any."""
        return None if self.ticket_id is None else self._mirror._get(Ticket, self.ticket_id)


class Event(Record, model=tables.Event):
    """An activity event. ``author`` and ``space`` are also offered as the small dicts
    (``event.author["id"]``) the original wrapper's stream example reads."""

    @property
    def author(self) -> dict[str, Any]:
        """``{"id": author_id, "name": author_name}``."""
        return {"id": self._data.get("author_id"), "name": self._data.get("author_name")}

    @property
    def space(self) -> dict[str, Any]:
        """``{"id": space_id, "name": space_name}``."""
        return {"id": self._data.get("space_id"), "name": self._data.get("space_name")}

    def _label(self) -> str:
        return f"{self._data.get('date')} {self._data.get('object')} {self._data.get('operation')}"


class TicketStatus(Record, model=tables.TicketStatus):
    """A ticket status of a space."""


class CustomField(Record, model=tables.CustomField):
    """A custom field definition of a space."""


class Comment(Record, model=tables.TicketComment):
    """A ticket comment."""
