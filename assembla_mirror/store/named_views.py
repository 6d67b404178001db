"""Names where the tables hold codes and ids: lookup views and the named faces of tickets
and time entries.

Assembla's records point at each other by id (a ticket's milestone, a time entry's
person) and code some fields as numbers (a ticket's ``priority`` and ``state``). The
tables keep them so, as Assembla sends them; these views put the names beside them,
for people browsing in Datasette, a BI tool or a spreadsheet:

* ``ticket_priorities`` and ``ticket_states``: the lookup tables of the two codes
  (views over constants, so each name is written once, here, and every database
  has them without a migration);
* ``ticket_overview``: a ticket per row, with its space, state, priority, milestone,
  assignee and reporter by name;
* ``time_entries``: a time entry per row, with its space, person, ticket and milestone
  by name, labelled as the hours views label them (``(no ticket)`` ...).

The ids stay in the views (last columns) so a row still joins back to its tables.
"""

from __future__ import annotations

from assembla_mirror.store.dialect import Dialect
from assembla_mirror.store.expressions import expressions

__all__ = [
    "NAMED_COLUMN_DESCRIPTIONS",
    "NAMED_VIEW_DESCRIPTIONS",
    "PRIORITIES",
    "STATES",
    "named_view_definitions",
]

#: Assembla's ticket priorities, by code (1 is the most urgent).
PRIORITIES: dict[int, str] = {1: "Highest", 2: "High", 3: "Normal", 4: "Low", 5: "Lowest"}
#: A ticket's state, by code: whether its status counts as open.
STATES: dict[int, str] = {0: "closed", 1: "open"}


def _constants(names: dict[int, str]) -> str:
    """A ``SELECT`` of ``(id, name)`` rows, one per entry of ``names``, in code order."""
    # Literals only, from this module: nothing here comes from outside.
    return "\n            UNION ALL ".join(
        f"SELECT {code} AS id, '{name}' AS name" for code, name in sorted(names.items())
    )


def named_view_definitions(dialect: Dialect) -> dict[str, str]:
    """The lookup views and the named views, by name, in ``dialect``; a view comes after
    the views it reads (they are created in this order)."""
    x = expressions(dialect)
    return {
        "ticket_priorities": _constants(PRIORITIES),
        "ticket_states": _constants(STATES),
        "ticket_overview": f"""
            SELECT k.id AS ticket_id, s.name AS space, k.number, k.summary, k.status,
                   st.name AS state, p.name AS priority,
                   {x.ticket_milestone} AS milestone,
                   {x.assignee} AS assignee,
                   COALESCE(r.name, r.login, k.reporter_id) AS reporter,
                   k.estimate, k.total_invested_hours AS invested_hours, k.due_date,
                   k.created_on, k.updated_at, k.completed_date,
                   k.space_id, k.milestone_id, k.assigned_to_id, k.reporter_id
            FROM tickets AS k
            JOIN spaces AS s ON s.id = k.space_id
            LEFT JOIN ticket_states AS st ON st.id = k.state
            LEFT JOIN ticket_priorities AS p ON p.id = k.priority
            LEFT JOIN milestones AS m ON m.id = k.milestone_id
            LEFT JOIN users AS u ON u.id = k.assigned_to_id
            LEFT JOIN users AS r ON r.id = k.reporter_id""",
        "time_entries": f"""
            SELECT t.id AS task_id, s.name AS space, {x.person} AS person,
                   t.begin_at, t.end_at, t.hours,
                   COALESCE(k.number, t.ticket_number) AS ticket_number,
                   {x.entry_summary} AS ticket_summary,
                   {x.entry_milestone} AS milestone,
                   t.description, t.billed, {x.week_start} AS week_start,
                   t.space_id, t.user_id, t.ticket_id, k.milestone_id
            FROM tasks AS t
            JOIN spaces AS s ON s.id = t.space_id
            LEFT JOIN users AS u ON u.id = t.user_id
            LEFT JOIN tickets AS k ON k.id = t.ticket_id
            LEFT JOIN milestones AS m ON m.id = k.milestone_id""",
    }


#: What each view above answers.
NAMED_VIEW_DESCRIPTIONS = {
    "ticket_priorities": "Assembla's ticket priorities: tickets.priority by name.",
    "ticket_states": "A ticket's state by name: tickets.state 1 open, 0 closed.",
    "ticket_overview": (
        "Every ticket with names instead of ids and codes: space, state, priority, "
        "milestone, assignee and reporter. Facet and filter here; the ids are at the end."
    ),
    "time_entries": (
        "Every time entry with names instead of ids: space, person, ticket and milestone "
        "('(no ticket)', '(no milestone)' ... as in hours_by_milestone)."
    ),
}

_LOOKUP_COLUMNS = {"id": "The code, as the tickets table holds it.", "name": "Its name."}

#: What each of their columns holds (columns shared with other views, such as
#: ``space_id`` or ``hours``, are described once for all of them by the Datasette
#: descriptions).
NAMED_COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "ticket_priorities": _LOOKUP_COLUMNS,
    "ticket_states": _LOOKUP_COLUMNS,
    "ticket_overview": {
        "ticket_id": "The ticket (tickets.id).",
        "space": "The space's name.",
        "number": "Ticket number in its space (#number in Assembla).",
        "summary": "Ticket summary.",
        "status": "Status name, from the space's workflow.",
        "state": "'open' or 'closed'.",
        "priority": "Highest, High, Normal, Low or Lowest.",
        "milestone": "The milestone's title, '(no milestone)' or '(milestone not in mirror)'.",
        "assignee": "Who it is assigned to, by name; '(unassigned)' for nobody.",
        "reporter": "Who reported it, by name (else login or id).",
        "estimate": "The ticket's own estimate (hours or points, as the space counts).",
        "invested_hours": "Hours invested in it, as Assembla totals them.",
        "due_date": "When it is due.",
        "created_on": "When it was created (UTC).",
        "updated_at": "When it last changed (UTC).",
        "completed_date": "When it was closed (UTC).",
        "assigned_to_id": "The assignee (users.id).",
        "reporter_id": "The reporter (users.id).",
    },
    "time_entries": {
        "task_id": "The time entry (tasks.id).",
        "space": "The space's name.",
        "person": "Who logged it: name, else login, else id.",
        "begin_at": "When the work began (UTC).",
        "end_at": "When it ended (UTC).",
        "hours": "Hours logged.",
        "ticket_number": "The ticket's number in its space; null for time without a ticket.",
        "ticket_summary": ("The ticket's summary, '(no ticket)' or '(ticket not in mirror)'."),
        "milestone": (
            "The milestone's title, or '(no ticket)', '(no milestone)', "
            "'(ticket not in mirror)', '(milestone not in mirror)'."
        ),
        "description": "What was done.",
        "billed": "The entry was billed.",
        "week_start": "Monday of the week the work began (UTC).",
        "user_id": "The person (users.id).",
        "ticket_id": "The ticket (tickets.id); null for time without a ticket.",
    },
}
