"""The activity stream of a generated account: the events of the last 60 days.

Every event agrees with what was generated: memberships joined, milestones
created and updated, tickets created, text comments (``Ticket Comment
created``), each change of a ticket's history (``Ticket updated`` with
``whatchanged``; a change comment that also carries text is a ``Ticket Comment
created`` with ``whatchanged``) and the tickets deleted before now.
"""

from __future__ import annotations

from datetime import datetime

from assembla_mirror.simulator import events
from assembla_mirror.simulator.entities import Comment, Event, Ticket
from assembla_mirror.simulator.history import changes_of, epoch
from assembla_mirror.simulator.state import WorldState


def activity(
    state: WorldState, cutoff: datetime, deleted: list[tuple[Ticket, datetime]]
) -> list[Event]:
    """Every event since ``cutoff``, sorted by date and numbered in that order."""
    made: list[Event] = []
    since = epoch(cutoff)
    for data in state.spaces.values():
        for row in data.roles.values():
            if row.agreed_time is not None and row.agreed_time >= cutoff:
                made.append(
                    events.member_event(state, row.space_id, row.user_id, "joined", row.agreed_time)
                )
        for milestone in data.milestones.values():
            if milestone.created_at >= cutoff:
                made.append(
                    events.milestone_event(
                        state, milestone, "created", milestone.created_by, milestone.created_at
                    )
                )
            if milestone.updated_at > milestone.created_at and milestone.updated_at >= cutoff:
                made.append(
                    events.milestone_event(
                        state, milestone, "updated", milestone.updated_by, milestone.updated_at
                    )
                )
        for ticket in data.tickets.values():
            if ticket.updated_at < cutoff:
                continue  # nothing happened to it lately
            if ticket.created_on >= cutoff:
                made.append(
                    events.ticket_event(
                        state, ticket, "created", ticket.reporter_id, ticket.created_on
                    )
                )
            for comment in state.comments.get(ticket.id, ()):
                if comment.created_on >= cutoff:
                    made.append(events.comment_event(state, ticket, comment))
            for change in changes_of(state, ticket.id):
                if change.at < since:
                    continue
                what = ", ".join(change.names())
                if change.text:  # the event needs no ticket_changes: none written
                    comment = Comment(
                        id=change.comment_id,
                        ticket_id=ticket.id,
                        space_id=ticket.space_id,
                        user_id=change.user_id,
                        comment=change.text,
                        created_on=change.when,
                        updated_at=change.when,
                    )
                    made.append(events.comment_event(state, ticket, comment, what))
                else:
                    made.append(
                        events.ticket_event(
                            state, ticket, "updated", change.user_id, change.when, what
                        )
                    )
    for ticket, when in deleted:
        if when >= cutoff:
            made.append(events.ticket_event(state, ticket, "deleted", ticket.reporter_id, when))
    made.sort(key=lambda event: (event.date, event.seq))
    for seq, event in enumerate(made, start=1):
        event.seq = seq
    return made
