"""What every table, view and column of the mirror means, for Datasette (and for people).

Table descriptions are the models' docstrings, so they cannot drift from the
code; views and columns are described here. A column found in the database
without a description fails ``tests/test_use_datasette.py``, so a migration
that adds a column must add a line below. Codes follow Assembla's API.
"""

from __future__ import annotations

from assembla_mirror.model.tables import Base

#: Views the migrations create, and what they answer.
VIEWS = {
    "hours_by_space": "Total hours logged per space (every space, zero included).",
    "hours_by_user_week": "Hours per person, space and week (weeks start on Monday, UTC).",
    "hours_by_ticket": "Hours logged per ticket, with its status and milestone.",
    "hours_by_milestone": "Hours logged on the tickets of each milestone, per space.",
    "open_tickets_by_status": "Open tickets (state 1) per space and status.",
    "open_tickets_by_assignee": "Open tickets (state 1) per space and assignee.",
    "milestone_progress": (
        "Per milestone: tickets open and closed, percent closed, estimates, invested hours "
        "and whether it is overdue."
    ),
}

#: Tables no model declares.
OTHER_TABLES = {"alembic_version": "The schema revision Alembic stamped on this file."}

#: Descriptions shared by every table or view with a column of that name.
COMMON = {
    "space_id": "The space it belongs to (spaces.id).",
    "space_name": "The space's name.",
    "created_at": "When it was created in Assembla (UTC).",
    "updated_at": "When it was last changed in Assembla (UTC).",
    "space_tool_id": "The space tool (the ticket tool) it belongs to.",
    "raw_json": "The record exactly as the API sent it (JSON), including fields with no column.",
    "hours": "Hours logged (sum of tasks.hours), rounded to 2 decimals.",
    "entries": "Number of time entries (tasks) summed.",
    "tickets": "Number of tickets.",
    "milestone_id": "The milestone (milestones.id); may name one no longer in the mirror.",
    "milestone_title": "The milestone's title.",
    "user_login": "The user's login.",
    "user_name": "The user's full name.",
}

COLUMNS: dict[str, dict[str, str]] = {
    "spaces": {
        "id": "Assembla's id of the space (22 characters).",
        "name": "The space's name.",
        "wiki_name": "The space's short name, as used in its URLs.",
        "description": "The space's description.",
        "status": "0 proposed, 1 active, 2 archived, 4 shared.",
        "public_permissions": "What the public may do: 0 nothing, 1 view.",
        "team_permissions": "What team members may do: 1 view, 2 edit, 3 all.",
        "watcher_permissions": "What watchers may do: 1 view.",
        "is_commercial": "A paid (commercial) space.",
        "is_manager": "The mirrored account manages this space.",
        "parent_id": "The parent space, for a sub-space.",
        "default_showpage": "The tab the space opens on.",
        "has_ticket_tool": "The space has a ticket tool (0: Assembla answered 'Tool not found').",
    },
    "users": {
        "id": "Assembla's id of the user.",
        "login": "The user's login.",
        "name": "The user's full name.",
        "email": "E-mail address, when the user shares it.",
        "organization": "Organization, when given.",
        "phone": "Phone number, when given.",
        "picture": "Avatar URL ('' when none).",
    },
    "user_roles": {
        "id": "Assembla's id of the membership.",
        "user_id": "The member (users.id).",
        "role": "watcher, member or owner.",
        "status": "1 invited, 2 accepted, 3 removed.",
        "title": "The member's title in the space.",
        "invited_by_id": "Who invited the member (users.id).",
        "invited_time": "When the member was invited (UTC).",
        "agreed_time": "When the member accepted (UTC).",
    },
    "milestones": {
        "id": "Assembla's id of the milestone.",
        "title": "The milestone's title.",
        "description": "The milestone's description.",
        "is_completed": "The milestone is completed.",
        "due_date": "When it is due.",
        "start_date": "When work on it starts.",
        "completed_date": "When it was completed.",
        "planner_type": "0 none, 1 backlog, 2 current.",
        "release_level": "1 alpha, 2 beta, 3 stable.",
        "pretty_release_level": "The release level in words.",
        "release_notes": "Release notes.",
        "budget": "Budget (Assembla's number, no unit).",
        "user_id": "Who is responsible (users.id).",
        "created_by": "Who created it (users.id).",
        "updated_by": "Who changed it last (users.id).",
    },
    "ticket_statuses": {
        "id": "Assembla's id of the status.",
        "name": "The status name tickets carry in tickets.status.",
        "state": "1 open, 0 closed: the state of tickets in this status.",
        "list_order": "Position in the space's list of statuses.",
    },
    "custom_fields": {
        "id": "Assembla's id of the custom field.",
        "title": "The field's title; tickets key their values by it.",
        "type": "Text, Numeric, Team List, List or Date.",
        "order": "Position among the space's custom fields.",
        "required": "A value is required.",
        "hide": "Hidden in Assembla's ticket form.",
        "default_value": "Default value.",
        "example_value": "Example value shown in Assembla.",
        "list_options": "For List fields: the allowed values (JSON array).",
    },
    "tickets": {
        "id": "Assembla's global id of the ticket (tasks and comments refer to it).",
        "number": "The ticket number within its space (#12).",
        "summary": "One-line summary.",
        "description": "Full description (Markdown or Textile).",
        "status": "Status name (ticket_statuses.name).",
        "state": "1 open, 0 closed.",
        "priority": "1 highest, 2 high, 3 normal, 4 low, 5 lowest.",
        "importance": "Planner ordering (new tickets get -1).",
        "is_story": "The ticket is a story.",
        "story_importance": "Story size: 0 none, 1 small, 4 medium, 7 large.",
        "hierarchy_type": "0 none, 1 subtask, 2 story, 3 epic.",
        "permission_type": "0 development ticket, 1 private support, 2 public support.",
        "component_id": "Component, where the space uses them.",
        "assigned_to_id": "Assignee (users.id); null when unassigned.",
        "assigned_to_name": "Assignee's name as Assembla sent it.",
        "reporter_id": "Who reported it (users.id).",
        "notification_list": "Users notified of changes (comma-separated users.id).",
        "estimate": "Estimate (hours or points, per the space's setting).",
        "total_estimate": "Estimate including subtasks.",
        "working_hours": "Remaining working hours.",
        "total_working_hours": "Remaining working hours including subtasks.",
        "total_invested_hours": "Hours invested, as Assembla totals them.",
        "is_support": "A support ticket.",
        "picture_url": "Picture of the reporter.",
        "due_date": "When it is due.",
        "completed_date": "When it entered a closed status (UTC).",
        "created_on": "When it was created (UTC).",
    },
    "ticket_custom_fields": {
        "ticket_id": "The ticket (tickets.id).",
        "title": "The custom field's title, as the ticket keys it.",
        "custom_field_id": "The custom field (custom_fields.id); null if none has this title.",
        "value": "The value as text (a user id for Team List fields).",
    },
    "ticket_comments": {
        "id": "Assembla's id of the comment.",
        "ticket_id": "The ticket (tickets.id).",
        "user_id": "The author (users.id).",
        "user_name": "The author's name as Assembla sent it.",
        "comment": "The comment text ('' for change-only entries).",
        "ticket_changes": "The changes made with the comment (YAML text).",
        "created_on": "When it was written (UTC).",
    },
    "tasks": {
        "id": "Assembla's id of the time entry.",
        "user_id": "Who logged the time (users.id).",
        "ticket_id": "The ticket worked on (tickets.id), if any.",
        "ticket_number": "That ticket's number in its space.",
        "hours": "Hours spent.",
        "begin_at": "When the work began (UTC).",
        "end_at": "When the work ended (UTC).",
        "description": "What was done.",
        "url": "A link given with the entry.",
        "billed": "Already billed.",
        "job_agreement_id": "The job agreement it is billed under.",
    },
    "time_logs": {
        "id": "Id of the time log (legacy API).",
        "task_id": "The time entry (tasks.id).",
        "user_id": "Who logged it (users.id).",
        "description": "What was done.",
        "is_timeout": "Closed by Assembla's timer timeout.",
        "created_at": "When it was logged (UTC).",
    },
    "events": {
        "id": "Digest of the event (events carry no id) plus its repeat count.",
        "date": "When it happened (UTC).",
        "object": "What it happened to: Ticket, Ticket Comment, Milestone, User ...",
        "object_id": "The object's id (a number or a 22-character id).",
        "operation": "created, updated, deleted, commented ...",
        "title": "The object's title (a ticket's summary).",
        "url": "Link to the object in Assembla.",
        "author_id": "Who did it (users.id).",
        "author_name": "Their name.",
        "ticket_id": "The ticket, for ticket events (tickets.id).",
        "ticket_number": "That ticket's number in its space.",
        "whatchanged": "Which fields changed.",
        "comment_or_description": (
            "The comment, or the start of the description (Assembla cuts it)."
        ),
    },
    "sync_state": {
        "resource": "What is synced: tickets, tasks, milestones ...",
        "space_id": "The space ('' for account-wide resources).",
        "cursor": "Highest updated_at (UTC) up to which the resource is complete.",
        "dirty": "Activity showed a change not fetched yet.",
        "walk_page": "Next page of a walk in progress.",
        "walk_top": "The cursor that walk will set when it ends.",
        "walk_bottom": "The oldest date the activity read in progress has stored.",
        "synced_at": "When this resource was last synced (UTC).",
        "reconciled_at": "When deletions were last reconciled (UTC).",
    },
    "sync_runs": {
        "id": "Run number.",
        "started_at": "When the run started (UTC).",
        "finished_at": "When it ended (UTC).",
        "outcome": "running, success, failed or interrupted.",
        "mode": "full or incremental.",
        "requests": "API requests made.",
        "rows_json": "Rows inserted, updated and deleted per table (JSON).",
        "options_json": "The options it ran with (JSON; never credentials).",
        "warnings_json": "Warnings (JSON list).",
        "error": "Why it failed.",
    },
    "search_pending": {
        "source": "The table of a row still to be added to the full-text index.",
        "id": "That row's id; the sync indexes every queued row when its walks are done.",
    },
    "mirror_meta": {
        "key": "What the fact is about (caller_login, with_comments ...).",
        "value": "Its value.",
    },
    "alembic_version": {"version_num": "The schema revision of this file."},
    "hours_by_user_week": {
        "user_id": "The person (users.id).",
        "week_start": "Monday of the week (UTC).",
    },
    "hours_by_ticket": {
        "ticket_id": "The ticket (tickets.id).",
        "number": "Ticket number in its space.",
        "summary": "Ticket summary.",
        "status": "Ticket status.",
        "state": "1 open, 0 closed.",
    },
    "hours_by_milestone": {"tickets": "Tickets of the milestone with time logged."},
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
}


def table_description(table: str) -> str | None:
    """The model docstring of ``table`` (one paragraph), or the view's description."""
    if table in VIEWS or table in OTHER_TABLES:
        return VIEWS.get(table) or OTHER_TABLES[table]
    for mapper in Base.registry.mappers:
        if mapper.local_table.name == table and mapper.class_.__doc__:  # type: ignore[attr-defined]
            return " ".join(mapper.class_.__doc__.split())
    return None


def column_description(table: str, column: str) -> str | None:
    """What ``table.column`` holds, or None when nobody wrote it down yet."""
    return COLUMNS.get(table, {}).get(column) or COMMON.get(column)
