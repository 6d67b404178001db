"""Building activity events, shared by the generator (history) and the world (live changes,
and events a test injects with :func:`about`).

Only tickets, ticket comments, milestones and memberships emit events; tasks and
time logs never do. Events are kept sorted by ``(date, seq)``.
"""

from __future__ import annotations

import bisect
import dataclasses
from datetime import datetime

from assembla_mirror.simulator.entities import Comment, Event, EventTicket, Milestone, Ticket
from assembla_mirror.simulator.history import comments_of
from assembla_mirror.simulator.state import SpaceData, WorldState

APP_URL = "https://app.assembla.com"
SNIPPET = 80


def snippet(text: str | None) -> str | None:
    """``comment_or_description``: the text cut to 80 characters."""
    return None if text is None else text[:SNIPPET]


def _event(
    state: WorldState,
    *,
    when: datetime,
    space_id: str,
    kind: str,
    object_id: str,
    operation: str,
    title: str,
    url: str,
    author_id: str,
    whatchanged: str | None = None,
    text: str | None = None,
    ticket: EventTicket | None = None,
) -> Event:
    author = state.users.get(author_id)
    return Event(
        seq=state.new_id("event"),
        date=when,
        space_id=space_id,
        space_name=state.spaces[space_id].space.name,
        object=kind,
        object_id=object_id,
        operation=operation,
        title=title,
        url=url,
        author_id=author_id,
        author_name=author.name if author is not None else "",
        whatchanged=whatchanged,
        comment_or_description=snippet(text),
        ticket=ticket,
    )


def ticket_url(state: WorldState, space_id: str, number: int) -> str:
    """The web URL of a ticket."""
    return f"{APP_URL}/spaces/{state.spaces[space_id].space.wiki_name}/tickets/{number}"


def ticket_event(
    state: WorldState,
    ticket: Ticket,
    operation: str,
    author_id: str,
    when: datetime,
    whatchanged: str | None = None,
) -> Event:
    """A ``Ticket`` created/updated/deleted event."""
    return _event(
        state,
        when=when,
        space_id=ticket.space_id,
        kind="Ticket",
        object_id=str(ticket.id),
        operation=operation,
        title=ticket.summary,
        url=ticket_url(state, ticket.space_id, ticket.number),
        author_id=author_id,
        whatchanged=whatchanged,
        text=ticket.description,
        ticket=EventTicket(
            id=ticket.id, number=ticket.number, summary=ticket.summary, operation=operation
        ),
    )


def comment_event(
    state: WorldState, ticket: Ticket, comment: Comment, whatchanged: str | None = None
) -> Event:
    """A ``Ticket Comment`` created event (``whatchanged``: the fields the comment changed)."""
    return _event(
        state,
        when=comment.created_on,
        space_id=ticket.space_id,
        kind="Ticket Comment",
        object_id=str(comment.id),
        operation="created",
        title=ticket.summary,
        url=f"{ticket_url(state, ticket.space_id, ticket.number)}#comment-{comment.id}",
        author_id=comment.user_id,
        whatchanged=whatchanged,
        text=comment.comment,
        ticket=EventTicket(
            id=ticket.id, number=ticket.number, summary=ticket.summary, operation="commented"
        ),
    )


def milestone_event(
    state: WorldState, milestone: Milestone, operation: str, author_id: str, when: datetime
) -> Event:
    """A ``Milestone`` created/updated/deleted event."""
    wiki = state.spaces[milestone.space_id].space.wiki_name
    return _event(
        state,
        when=when,
        space_id=milestone.space_id,
        kind="Milestone",
        object_id=str(milestone.id),
        operation=operation,
        title=milestone.title,
        url=f"{APP_URL}/spaces/{wiki}/milestones/{milestone.id}",
        author_id=author_id,
        text=milestone.description,
    )


def member_event(
    state: WorldState, space_id: str, user_id: str, operation: str, when: datetime
) -> Event:
    """A ``User`` joined/left event."""
    user = state.users[user_id]
    return _event(
        state,
        when=when,
        space_id=space_id,
        kind="User",
        object_id=user_id,
        operation=operation,
        title=user.name,
        url=f"{APP_URL}/profile/{user.login}",
        author_id=user_id,
    )


#: The objects events are about, with the operation a change of each usually emits.
OBJECTS = {
    "Ticket": "updated",
    "Ticket Comment": "created",
    "Milestone": "updated",
    "User": "joined",
}


def about(
    state: WorldState,
    data: SpaceData,
    kind: str,
    operation: str,
    when: datetime,
    number: int | None = None,
    user_id: str | None = None,
) -> Event:
    """An event shaped like a real change's, about an existing object, changing nothing.

    ``kind`` is one of :data:`OBJECTS`. ``Ticket`` and ``Ticket Comment`` name ticket
    ``number`` (default: the space's lowest-numbered); a comment event uses the
    ticket's newest comment, or a comment id never stored when it has none.
    ``Milestone`` names milestone id ``number`` (default: the space's first);
    ``User`` names ``user_id`` (default: the primary user). The author is the
    primary user, as for the world's own changes.
    """
    author = state.primary_user_id
    if kind in ("Ticket", "Ticket Comment"):
        if not data.tickets:
            raise ValueError(f"space {data.space.wiki_name!r} has no tickets")
        ticket = data.tickets[number if number is not None else min(data.tickets)]
        if kind == "Ticket":
            return ticket_event(state, ticket, operation, author, when)
        stored = comments_of(state, ticket)
        comment = (
            dataclasses.replace(stored[-1], created_on=when)  # a copy: the stored one stays
            if stored
            else Comment(
                id=state.new_id("comment"),
                ticket_id=ticket.id,
                space_id=ticket.space_id,
                user_id=author,
                comment=None,
                created_on=when,
                updated_at=when,
            )
        )
        return dataclasses.replace(comment_event(state, ticket, comment), operation=operation)
    if kind == "Milestone":
        if not data.milestones:
            raise ValueError(f"space {data.space.wiki_name!r} has no milestones")
        milestone = data.milestones[number if number is not None else min(data.milestones)]
        return milestone_event(state, milestone, operation, author, when)
    if kind == "User":
        return member_event(state, data.space.id, user_id or author, operation, when)
    raise ValueError(f"object must be one of {', '.join(OBJECTS)}, not {kind!r}")


def record(state: WorldState, event: Event) -> None:
    """Add ``event`` to the stream, keeping it sorted by ``(date, seq)``."""
    if state.events and (state.events[-1].date, state.events[-1].seq) > (event.date, event.seq):
        bisect.insort(state.events, event, key=lambda e: (e.date, e.seq))
    else:
        state.events.append(event)
    state.event_generation += 1
