"""Building activity events, shared by the generator (history) and the world (live changes).

Only tickets, ticket comments, milestones and memberships emit events; tasks and
time logs never do. Events are kept sorted by ``(date, seq)``.
"""

from __future__ import annotations

import bisect
from datetime import datetime

from assembla_mirror.simulator.entities import Comment, Event, EventTicket, Milestone, Ticket
from assembla_mirror.simulator.state import WorldState

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


def comment_event(state: WorldState, ticket: Ticket, comment: Comment) -> Event:
    """A ``Ticket Comment`` created event."""
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


def record(state: WorldState, event: Event) -> None:
    """Add ``event`` to the stream, keeping it sorted by ``(date, seq)``."""
    if state.events and (state.events[-1].date, state.events[-1].seq) > (event.date, event.seq):
        bisect.insort(state.events, event, key=lambda e: (e.date, e.seq))
    else:
        state.events.append(event)
    state.event_generation += 1
