"""The mirror's charts in Datasette, as a dashboard of the datasette-dashboards plugin.

``mirror datasette`` writes this configuration into the metadata it generates
(``plugins`` → ``datasette-dashboards``); the plugin, installed with the
``datasette`` extra, draws it at ``/-/dashboards/<name>`` with Vega-Lite, whose
scripts it serves itself (nothing is fetched from the internet). Without the
plugin the entry is simply unused.

Each chart reads a report view or the tasks, so the pictures agree with the views,
``mirror report`` and the canned queries. The filters (a space, a date range) use
the plugin's optional clauses: ``[[ AND ... :space ]]`` applies only when the
filter is set.
"""

from __future__ import annotations

from typing import Any

from assembla_mirror.read.datasette.conventions import X

__all__ = ["DASHBOARD", "dashboards"]

#: The dashboard's name: its address is ``/-/dashboards/<DASHBOARD>``.
DASHBOARD = "assembla"

#: The space filter, on a query whose space is ``s``.
_SPACE = "[[ AND s.name = :space ]]"
#: Day ``v.day`` is a Monday: the day-by-day views are drawn a point a week, which keeps a
#: year of them under Datasette's row limit (a chart over the limit is cut, with a ⚠).
_MONDAY = "strftime('%w', v.day) = '1'"
#: The burndown is drawn day by day over these last days, a point a week before.
DAILY_DAYS = 60
#: How many milestones the burndown draws when none is picked: the open ones due next.
NEXT_MILESTONES = 3
#: The milestones the burndown draws: the one picked, or the open ones due next.
_NEXT_MILESTONES = (
    "SELECT m2.id FROM milestones AS m2 JOIN spaces AS s ON s.id = m2.space_id "
    f"WHERE NOT COALESCE(m2.is_completed, FALSE) {_SPACE} [[ AND m2.title = :milestone ]] "
    f"ORDER BY m2.due_date IS NULL, m2.due_date LIMIT {NEXT_MILESTONES}"
)


def _bar(x: dict[str, Any], y: dict[str, Any], color: dict[str, Any]) -> dict[str, Any]:
    """A stacked bar chart's Vega-Lite display, with tooltips."""
    return {"mark": {"type": "bar", "tooltip": True}, "encoding": {"x": x, "y": y, "color": color}}


def _charts(database: str) -> dict[str, dict[str, Any]]:
    """The dashboard's charts, each reading ``database``."""
    return {
        "total-hours": {
            "title": "Hours logged",
            "db": database,
            "library": "metric",
            "query": f"SELECT {X.hours_or_zero} AS hours FROM tasks AS t "
            "JOIN spaces AS s ON s.id = t.space_id WHERE TRUE "
            f"{_SPACE} [[ AND t.begin_at >= :from ]] [[ AND t.begin_at < date(:to, '+1 day') ]]",
            "display": {"field": "hours", "suffix": " h"},
        },
        "open-tickets": {
            "title": "Open tickets",
            "db": database,
            "library": "metric",
            "query": "SELECT COUNT(*) AS tickets FROM tickets AS k "
            f"JOIN spaces AS s ON s.id = k.space_id WHERE k.state = 1 {_SPACE}",
            "display": {"field": "tickets"},
        },
        "hours-per-week": {
            "title": "Hours per week",
            "db": database,
            "library": "vega-lite",
            "query": f"SELECT {X.week_start} AS week, s.name AS space, {X.hours} AS hours "
            "FROM tasks AS t JOIN spaces AS s ON s.id = t.space_id "
            f"WHERE t.begin_at IS NOT NULL {_SPACE} [[ AND t.begin_at >= :from ]] "
            "[[ AND t.begin_at < date(:to, '+1 day') ]] "
            "GROUP BY week, s.id ORDER BY week",
            "display": _bar(
                # A bar a week wide (weeks start on Monday; Vega-Lite's on Sunday, which
                # holds the Monday).
                {"field": "week", "type": "temporal", "timeUnit": "yearweek", "title": None},
                {"field": "hours", "type": "quantitative", "aggregate": "sum"},
                {"field": "space", "type": "nominal"},
            ),
        },
        "open-by-status": {
            "title": "Open tickets by status",
            "db": database,
            "library": "vega-lite",
            "query": "SELECT v.space_name AS space, v.status, v.tickets "
            f"FROM open_tickets_by_status AS v JOIN spaces AS s ON s.id = v.space_id "
            f"WHERE TRUE {_SPACE} ORDER BY v.tickets DESC",
            "display": _bar(
                {"field": "tickets", "type": "quantitative", "aggregate": "sum"},
                {"field": "status", "type": "nominal", "sort": "-x"},
                {"field": "space", "type": "nominal"},
            ),
        },
        "cumulative-flow": {
            "title": "Cumulative flow (tickets per status, Mondays)",
            "db": database,
            "library": "vega-lite",
            "query": "SELECT v.day, v.status, SUM(v.tickets) AS tickets "
            "FROM cumulative_flow AS v JOIN spaces AS s ON s.id = v.space_id "
            f"WHERE ({_MONDAY} OR v.day = {X.today}) {_SPACE} "
            "[[ AND v.day >= :from ]] [[ AND v.day <= :to ]] "
            "GROUP BY v.day, v.status ORDER BY v.day",
            "display": {
                "mark": {"type": "area", "tooltip": True},
                "encoding": {
                    "x": {"field": "day", "type": "temporal", "title": None},
                    "y": {"field": "tickets", "type": "quantitative", "stack": True},
                    "color": {"field": "status", "type": "nominal"},
                },
            },
        },
        "burndown": {
            "title": "Burndown: open tickets of the milestones due next",
            "db": database,
            "library": "vega-lite",
            "query": "SELECT v.day, s.name || ': ' || m.title AS milestone, v.open_tickets "
            "FROM milestone_burndown AS v "
            "JOIN spaces AS s ON s.id = v.space_id "
            "JOIN milestones AS m ON m.id = v.milestone_id "
            f"WHERE v.milestone_id IN ({_NEXT_MILESTONES}) "
            f"AND (v.day >= date('now', '-{DAILY_DAYS} days') OR {_MONDAY}) "
            "[[ AND v.day >= :from ]] [[ AND v.day <= :to ]] ORDER BY v.day",
            "display": {
                "mark": {"type": "line", "tooltip": True},
                "encoding": {
                    "x": {"field": "day", "type": "temporal", "title": None},
                    "y": {"field": "open_tickets", "type": "quantitative"},
                    "color": {"field": "milestone", "type": "nominal"},
                },
            },
        },
    }


def dashboards(database: str) -> dict[str, Any]:
    """The datasette-dashboards configuration for the mirror served as ``database``."""
    return {
        DASHBOARD: {
            "title": "Assembla: hours and tickets",
            "description": (
                "Time logged and the tickets' flow, from the mirror's views. "
                "Pick a space or a date range above; every chart follows."
            ),
            "layout": [
                ["total-hours", "open-tickets"],
                ["hours-per-week", "hours-per-week"],
                ["open-by-status", "cumulative-flow"],
                ["burndown", "burndown"],
            ],
            "filters": {
                "space": {
                    "name": "Space",
                    "type": "select",
                    "db": database,
                    "query": "SELECT name FROM spaces ORDER BY name",
                },
                "milestone": {
                    "name": "Milestone (burndown)",
                    "type": "select",
                    "db": database,
                    "query": "SELECT DISTINCT title FROM milestones "
                    "WHERE NOT COALESCE(is_completed, FALSE) AND title IS NOT NULL ORDER BY title",
                },
                "from": {"name": "From", "type": "date"},
                "to": {"name": "To", "type": "date"},
            },
            "charts": _charts(database),
        }
    }
