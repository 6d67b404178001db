"""The flow views: how tickets moved through their statuses and milestones, from history.

Each view is one ``SELECT`` (a ``WITH`` list, then the answer) that SQLite and
PostgreSQL both read, built from :mod:`.flow_parts`; :func:`flow_view_definitions`
hands them to :mod:`.views`, which creates them with the other report views. No
flow view reads another: each can be dropped and created on its own.

* ``ticket_status_intervals``: one row per stay of a ticket in a status;
* ``time_in_status``: per ticket and status; ``time_in_status_by_space``: per
  space and status, median, 85th percentile and mean;
* ``ticket_flow``: per ticket, when it started and closed, lead and cycle time,
  reopenings;
* ``cumulative_flow`` and ``milestone_burndown``, day by day (:mod:`.flow_days`).

What each view and column means is :data:`FLOW_VIEW_DESCRIPTIONS` and
:data:`FLOW_COLUMN_DESCRIPTIONS` (for Datasette, the README, people).
"""

from __future__ import annotations

from assembla_mirror.store.dialect import Dialect
from assembla_mirror.store.flow_days import cumulative_flow, milestone_burndown
from assembla_mirror.store.flow_parts import hours, hundredths, intervals


def flow_view_definitions(dialect: Dialect) -> dict[str, str]:
    """Every flow view's ``SELECT``, by view name, in ``dialect``."""
    return {
        "ticket_status_intervals": _ticket_status_intervals(dialect),
        "time_in_status": _time_in_status(dialect),
        "time_in_status_by_space": _time_in_status_by_space(dialect),
        "ticket_flow": _ticket_flow(dialect),
        "cumulative_flow": cumulative_flow(dialect),
        "milestone_burndown": milestone_burndown(dialect),
    }


def _seconds(dialect: Dialect) -> str:
    """How long stay ``intervals`` lasted in whole seconds (NULL while it lasts)."""
    return dialect.seconds_between("started_at", "ended_at")


def _ticket_status_intervals(dialect: Dialect) -> str:
    return f"""WITH {intervals()}
    SELECT ticket_id, space_id, number, stay, status, state, started_at, ended_at,
           {hours(dialect, _seconds(dialect))} AS hours, deleted
    FROM intervals"""


def _time_in_status(dialect: Dialect) -> str:
    return f"""WITH {intervals()}
    SELECT ticket_id, space_id, number, status, MAX(state) AS state, COUNT(*) AS stays,
           {hours(dialect, f"SUM({_seconds(dialect)})")} AS hours,
           MAX(CASE WHEN is_last = 1 AND deleted = 0 THEN 1 ELSE 0 END) AS "current"
    FROM intervals
    GROUP BY ticket_id, space_id, number, status"""


def _percentile(dialect: Dialect, percent: int) -> str:
    """The ``percent`` percentile of a group's ``seconds`` ranked ``r`` (0-based) of
    ``n``, interpolated as ``percentile_cont``; in whole integers until the rounding:
    position ``percent * (n - 1) / 100``, so 100 x the value is
    ``100 * low + (high - low) * (percent * (n - 1) mod 100)``."""
    low = f"({percent} * (n - 1)) / 100"
    # The remainder spelled out: '%' would be a parameter marker to psycopg.
    share = f"MAX({percent} * (n - 1) - 100 * ({low}))"
    at_low = f"MAX(CASE WHEN r = {low} THEN seconds END)"
    at_high = f"MAX(CASE WHEN r = {low} + 1 THEN seconds END)"
    units = f"100 * {at_low} + COALESCE(({at_high} - {at_low}) * {share}, 0)"
    return hundredths(dialect, units, "3600.0")


def _time_in_status_by_space(dialect: Dialect) -> str:
    return f"""WITH {intervals()},
    per_ticket AS (
        SELECT space_id, status, ticket_id, MAX(state) AS state, SUM({_seconds(dialect)}) AS seconds
        FROM intervals WHERE ended_at IS NOT NULL AND started_at IS NOT NULL
        GROUP BY space_id, status, ticket_id
    ),
    ranked AS (
        SELECT space_id, status, state, seconds,
               ROW_NUMBER() OVER (PARTITION BY space_id, status ORDER BY seconds) - 1 AS r,
               COUNT(*) OVER (PARTITION BY space_id, status) AS n
        FROM per_ticket
    )
    SELECT g.space_id, sp.name AS space_name, g.status, MAX(g.state) AS state,
           COUNT(*) AS tickets,
           {_percentile(dialect, 50)} AS median_hours,
           {_percentile(dialect, 85)} AS p85_hours,
           {hundredths(dialect, "SUM(seconds)", "36.0 * COUNT(*)")} AS mean_hours
    FROM ranked AS g LEFT JOIN spaces AS sp ON sp.id = g.space_id
    GROUP BY g.space_id, sp.name, g.status"""


def _ticket_flow(dialect: Dialect) -> str:
    # A stay that enters a closed status from an open one, an unknown one or creation.
    entered = "i.state = 0 AND (i.stay = 1 OR p.state IS NULL OR p.state <> 0)"
    return f"""WITH {intervals()},
    per_ticket AS (
        SELECT i.ticket_id, i.space_id, i.number, i.deleted,
               MAX(i.summary) AS summary, MAX(i.created_on) AS created_on,
               MAX(CASE WHEN i.is_last = 1 THEN i.status END) AS status,
               MAX(CASE WHEN i.is_last = 1 THEN i.state END) AS state,
               MAX(CASE WHEN i.stay = 2 THEN i.started_at END) AS started_at,
               -- stays after the first are in time order: the latest entry is the last
               COALESCE(MAX(CASE WHEN i.stay > 1 AND {entered} THEN i.started_at END),
                        MAX(CASE WHEN i.stay = 1 AND {entered} THEN i.started_at END))
                   AS entered_closed,
               SUM(CASE WHEN i.state = 1 AND p.state = 0 THEN 1 ELSE 0 END) AS reopen_count
        FROM intervals AS i
        LEFT JOIN statuses AS p ON p.space_id = i.space_id AND p.name = i.prev_status
        GROUP BY i.ticket_id, i.space_id, i.number, i.deleted
    ),
    closed AS (
        SELECT f.*, CASE WHEN f.state = 0 THEN f.entered_closed END AS closed_at
        FROM per_ticket AS f
    )
    SELECT ticket_id, space_id, number, summary, status, state, created_on, started_at,
           closed_at,
           {hours(dialect, dialect.seconds_between("created_on", "closed_at"))}
               AS lead_time_hours,
           CASE WHEN started_at <= closed_at
                THEN {hours(dialect, dialect.seconds_between("started_at", "closed_at"))}
           END AS cycle_time_hours,
           reopen_count, deleted
    FROM closed"""


#: What each flow view answers (one line each, for Datasette's table descriptions).
FLOW_VIEW_DESCRIPTIONS = {
    "ticket_status_intervals": (
        "One row per stay of a ticket (deleted ones too) in a status, from its history: "
        "when it started and ended, and how many hours it lasted."
    ),
    "time_in_status": "Per ticket and status: its stays there and the hours they lasted.",
    "time_in_status_by_space": (
        "Per space and status: hours tickets spent in it (ended stays), median, 85th "
        "percentile and mean over the tickets."
    ),
    "ticket_flow": (
        "Per ticket: when it was created, first moved on and closed; lead and cycle time in "
        "hours; how often it was reopened."
    ),
    "cumulative_flow": (
        "Tickets per space and status at the end of each day (UTC), from the day the space's "
        "first ticket was created through today, zero included."
    ),
    "milestone_burndown": (
        "Per milestone and day (UTC), from history: its open tickets at the end of the day "
        "and the sum of their estimates then."
    ),
}

_TICKET = {
    "ticket_id": "The ticket (tickets.id, or deleted_tickets.id once deleted).",
    "space_id": "The space it belongs to (spaces.id).",
    "number": "Ticket number in its space.",
}
_DELETED = {"deleted": "1 when the ticket was deleted (it is in deleted_tickets), else 0."}
_STATE = (
    "The status's state: 1 open, 0 closed; for a status the space does not list, the "
    "ticket's own state in its current stay, else null."
)

#: What each column of each flow view means.
FLOW_COLUMN_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "ticket_status_intervals": {
        **_TICKET,
        "stay": "Which stay of the ticket: 1, 2, ... in time order.",
        "status": "The status name then; the current stay's is the ticket's status.",
        "state": _STATE,
        "started_at": "When the stay began (UTC): the first at the ticket's creation.",
        "ended_at": "When it ended (UTC); null for the current stay (a deleted ticket's "
        "last stay ends when it was found deleted).",
        "hours": "How long it lasted, in hours to the hundredth; null while it lasts.",
        **_DELETED,
    },
    "time_in_status": {
        **_TICKET,
        "status": "Status name.",
        "state": _STATE,
        "stays": "How many times the ticket was in this status.",
        "hours": "Hours of its ended stays in it, to the hundredth (null if none ended).",
        "current": "1 when the ticket is in this status now, else 0.",
    },
    "time_in_status_by_space": {
        "space_id": "The space (spaces.id).",
        "space_name": "The space's name.",
        "status": "Status name.",
        "state": _STATE,
        "tickets": "Tickets with at least one ended stay in the status.",
        "median_hours": "Median of the tickets' hours in the status (interpolated).",
        "p85_hours": "85th percentile of those hours (interpolated, as percentile_cont).",
        "mean_hours": "Mean of those hours.",
    },
    "ticket_flow": {
        **_TICKET,
        "summary": "Ticket summary.",
        "status": "Its status now (when last mirrored, for a deleted ticket).",
        "state": "1 open, 0 closed.",
        "created_on": "When it was created (UTC).",
        "started_at": "When it first left its first status (UTC); null if it never did.",
        "closed_at": "When it last moved into a closed status from an open one (or was "
        "created closed), if it is closed now (UTC).",
        "lead_time_hours": "Hours from creation to closed_at.",
        "cycle_time_hours": "Hours from started_at to closed_at (null unless it closed after "
        "it started).",
        "reopen_count": "How many times it moved from a closed status to an open one.",
        **_DELETED,
    },
    "cumulative_flow": {
        "space_id": "The space (spaces.id).",
        "day": "The day (UTC, YYYY-MM-DD).",
        "status": "Status name.",
        "tickets": "Tickets (deleted ones until their deletion) in the status at the end "
        "of the day.",
    },
    "milestone_burndown": {
        "milestone_id": "The milestone (milestones.id).",
        "space_id": "The milestone's space (spaces.id).",
        "day": "The day (UTC, YYYY-MM-DD), from the milestone's start date or first ticket "
        "through its completed date, or today.",
        "open_tickets": "Tickets in the milestone and in an open status at the end of the day.",
        "open_estimate": "Sum of those tickets' estimates then (no estimate counts 0).",
    },
}
