"""The mirror's charts in Datasette, as a dashboard of the datasette-dashboards plugin.

``mirror datasette`` writes this configuration into the metadata it generates
(``plugins`` → ``datasette-dashboards``); the plugin, installed with the
``datasette`` extra, draws it at ``/-/dashboards/<name>`` with Vega-Lite, whose
scripts it serves itself (nothing is fetched from the internet). Without the
plugin the entry is simply unused.

Each chart reads a report view or the tasks, so the pictures agree with the views,
``mirror report`` and the canned queries; their SQL, and the filters', is the store's
(:mod:`assembla_mirror.store.dashboard_queries`). This module lays the charts out and
says how each is drawn.
"""

from __future__ import annotations

from typing import Any

from assembla_mirror.store.dashboard_queries import CHART_QUERIES, FILTER_QUERIES

__all__ = ["DASHBOARD", "dashboards"]

#: The dashboard's name: its address is ``/-/dashboards/<DASHBOARD>``.
DASHBOARD = "assembla"


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
            "query": CHART_QUERIES["total-hours"],
            "display": {"field": "hours", "suffix": " h"},
        },
        "open-tickets": {
            "title": "Open tickets",
            "db": database,
            "library": "metric",
            "query": CHART_QUERIES["open-tickets"],
            "display": {"field": "tickets"},
        },
        "hours-per-week": {
            "title": "Hours per week",
            "db": database,
            "library": "vega-lite",
            "query": CHART_QUERIES["hours-per-week"],
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
            "query": CHART_QUERIES["open-by-status"],
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
            "query": CHART_QUERIES["cumulative-flow"],
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
            "query": CHART_QUERIES["burndown"],
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
                    "query": FILTER_QUERIES["space"],
                },
                "milestone": {
                    "name": "Milestone (burndown)",
                    "type": "select",
                    "db": database,
                    "query": FILTER_QUERIES["milestone"],
                },
                "from": {"name": "From", "type": "date"},
                "to": {"name": "To", "type": "date"},
            },
            "charts": _charts(database),
        }
    }
