"""What every table, view and column of the mirror means, for Datasette (and for people).

Tables and their columns are described once, where they are declared: a table
by its model's docstring, a column by its declaration in
:mod:`assembla_mirror.model.tables`. This module reads those, and describes the
views (and their columns), which no model declares. A view column found in the
database without a description fails ``tests/read/test_use_datasette.py``, so a
migration that adds a view or a view column must add a line below. The views of
tickets' history, the named views and the ticket hierarchy are described beside their
definitions (:mod:`assembla_mirror.store.flow`, :mod:`assembla_mirror.store.named_views`,
:mod:`assembla_mirror.store.hierarchy`). Codes
follow Assembla's API.

The custom field views (``ticket_fields_<space>``) are made from a mirror's own
rows, so their descriptions are too: :func:`for_database` adds them to these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from assembla_mirror.model import declare
from assembla_mirror.model.tables import MODELS
from assembla_mirror.store.field_views import field_view_descriptions
from assembla_mirror.store.flow import FLOW_COLUMN_DESCRIPTIONS, FLOW_VIEW_DESCRIPTIONS
from assembla_mirror.store.hierarchy import HIERARCHY_COLUMNS, HIERARCHY_DESCRIPTION
from assembla_mirror.store.named_views import NAMED_COLUMN_DESCRIPTIONS, NAMED_VIEW_DESCRIPTIONS

#: Views the migrations create, and what they answer.
VIEWS = {
    "hours_by_space": "Total hours logged per space (every space, zero included).",
    "hours_by_user_week": "Hours per person, space and week (weeks start on Monday, UTC).",
    "hours_by_ticket": (
        "Hours logged per ticket, with its status and milestone; time without a ticket has "
        "a row per space (summary '(no ticket)'), so the total matches hours_by_space."
    ),
    "hours_by_milestone": (
        "Hours logged on the tickets of each milestone, per space; time without a ticket "
        "or milestone has rows of its own ('(no ticket)', '(no milestone)'), so the total "
        "matches hours_by_space."
    ),
    "open_tickets_by_status": "Open tickets (state 1) per space and status.",
    "open_tickets_by_assignee": "Open tickets (state 1) per space and assignee.",
    "milestone_progress": (
        "Per milestone: tickets open and closed, percent closed, estimates, invested hours "
        "and whether it is overdue."
    ),
    # the views of tickets' history and the hierarchy, described where they are defined
    **FLOW_VIEW_DESCRIPTIONS,
    **NAMED_VIEW_DESCRIPTIONS,
    "ticket_hierarchy": HIERARCHY_DESCRIPTION,
}

#: Tables no model declares.
OTHER_TABLES = {"alembic_version": "The schema revision Alembic stamped on this file."}

#: Descriptions shared by every view with a column of that name.
COMMON = {
    "space_id": "The space it belongs to (spaces.id).",
    "space_name": "The space's name.",
    "hours": "Hours logged (sum of tasks.hours), rounded to 2 decimals.",
    "entries": "Number of time entries (tasks) summed.",
    "tickets": "Number of tickets.",
    "milestone_id": "The milestone (milestones.id); may name one no longer in the mirror.",
    "milestone_title": "The milestone's title.",
    "user_login": "The user's login.",
    "user_name": "The user's full name.",
}

#: Columns of the views, and of the tables no model declares.
UNMODELLED_COLUMNS: dict[str, dict[str, str]] = {
    "alembic_version": {"version_num": "The schema revision of this file."},
    "hours_by_user_week": {
        "user_id": "The person (users.id).",
        "week_start": "Monday of the week (UTC).",
    },
    "hours_by_ticket": {
        "ticket_id": "The ticket (tickets.id); null for time logged without a ticket.",
        "space_id": "The space the time was logged in (spaces.id).",
        "number": "Ticket number in its space.",
        "summary": (
            "Ticket summary; '(no ticket)' for time without one, '(ticket not in mirror)' "
            "for a ticket the mirror does not hold."
        ),
        "status": "Ticket status.",
        "state": "1 open, 0 closed.",
    },
    "hours_by_milestone": {
        "milestone_title": (
            "The milestone's title; '(no ticket)', '(no milestone)', '(ticket not in mirror)' "
            "or '(milestone not in mirror)' for time that counts toward none."
        ),
        "tickets": "Tickets of the milestone with time logged.",
    },
    "open_tickets_by_status": {"status": "Status name.", "tickets": "Open tickets."},
    "open_tickets_by_assignee": {
        "assigned_to_id": "The assignee (users.id); null for unassigned tickets.",
        "assignee_login": "The assignee's login.",
        "assignee_name": "The assignee's name.",
        "tickets": "Open tickets.",
    },
    "milestone_progress": {
        "milestone_id": "The milestone (milestones.id).",
        "title": "The milestone's title.",
        "start_date": "When work starts.",
        "due_date": "When it is due.",
        "is_completed": "The milestone is completed.",
        "completed_date": "When it was completed.",
        "tickets_total": "Tickets in the milestone.",
        "tickets_open": "Open tickets.",
        "tickets_closed": "Closed tickets.",
        "percent_closed": "Closed tickets in percent (null without tickets).",
        "estimate": "Sum of the tickets' total estimates.",
        "invested_hours": "Sum of the tickets' invested hours.",
        "overdue": "Due before today and not completed.",
    },
    **FLOW_COLUMN_DESCRIPTIONS,
    **NAMED_COLUMN_DESCRIPTIONS,
    "ticket_hierarchy": HIERARCHY_COLUMNS,
}


#: Every model's columns, described where they are declared (table order).
MODEL_COLUMNS: dict[str, dict[str, str]] = {
    table: declare.column_descriptions(model) for table, model in MODELS.items()
}

#: What each column of each table and view holds, by table.
COLUMNS: dict[str, dict[str, str]] = {**MODEL_COLUMNS, **UNMODELLED_COLUMNS}


def table_description(table: str) -> str | None:
    """What ``table`` (or view) holds: its model's docstring, or the view's description."""
    if table in MODELS:
        return declare.table_description(MODELS[table]) or None
    return VIEWS.get(table) or OTHER_TABLES.get(table)


def column_description(table: str, column: str) -> str | None:
    """What ``table.column`` holds, or None when nobody wrote it down yet."""
    if table in MODEL_COLUMNS:
        return MODEL_COLUMNS[table].get(column) or None
    return UNMODELLED_COLUMNS.get(table, {}).get(column) or COMMON.get(column)


@dataclass(frozen=True)
class Described:
    """What the tables, views and columns of one database hold: the descriptions above,
    and those of the views made from its rows (``generated``: view -> (description,
    columns))."""

    generated: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)

    def table(self, table: str) -> str | None:
        """What ``table`` (or view) holds."""
        if table in self.generated:
            return self.generated[table][0]
        return table_description(table)

    def column(self, table: str, column: str) -> str | None:
        """What ``table.column`` holds, or None when nobody wrote it down yet."""
        if table in self.generated:
            return self.generated[table][1].get(column)
        return column_description(table, column)


def for_database(conn: Connection) -> Described:
    """The descriptions of the mirror behind ``conn``, its custom field views included."""
    return Described(field_view_descriptions(conn))
